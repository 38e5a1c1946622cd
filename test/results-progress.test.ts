import { createProgress, formatSeconds, ProgressStream } from '../src/util/progress';
import { InputError } from '../src/util/errors';

/** A non-TTY stream that records what is written. */
function fakeStream(): { stream: ProgressStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (s: string) => (chunks.push(s), true) } as unknown as ProgressStream;
  return { stream, text: () => chunks.join('') };
}

/** A hand-driven clock in milliseconds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const savedQuiet = process.env.XBARSIM_QUIET;
beforeEach(() => delete process.env.XBARSIM_QUIET);
afterAll(() => {
  if (savedQuiet === undefined) delete process.env.XBARSIM_QUIET;
  else process.env.XBARSIM_QUIET = savedQuiet;
});

describe('createProgress without a terminal', () => {
  test('few items: one line each, with elapsed time and a linear ETA', () => {
    const out = fakeStream();
    const c = manualClock();
    const p = createProgress(4, 'study', { stream: out.stream, now: c.now });
    for (const note of [
      'configuration mlp-2bit',
      'configuration mlp-4bit',
      undefined,
      'configuration cnn-8bit',
    ]) {
      c.advance(3000);
      p.tick(note);
    }
    p.stop();
    // An item every 3 s: after k items, elapsed 3k s and eta 3 s x (4 - k).
    expect(out.text()).toBe(
      [
        '[study] 1/4 configuration mlp-2bit done (elapsed 3 s, eta 9 s)',
        '[study] 2/4 configuration mlp-4bit done (elapsed 6 s, eta 6 s)',
        '[study] 3/4 done (elapsed 9 s, eta 3 s)',
        '[study] 4/4 configuration cnn-8bit done (elapsed 12 s, eta 0 s)',
        '',
      ].join('\n'),
    );
  });

  test('many items: about every 5 %, and always the last', () => {
    const out = fakeStream();
    const c = manualClock();
    const p = createProgress(95, 'sweep', { stream: out.stream, now: c.now });
    for (let i = 0; i < 95; i++) {
      c.advance(1000);
      p.tick(`c${i}`);
    }
    const lines = out.text().trim().split('\n');
    // Step ceil(95 / 20) = 5: items 5, 10, ..., 95.
    expect(lines).toHaveLength(19);
    expect(lines[0]).toBe('[sweep] 5/95 c4 done (elapsed 5 s, eta 90 s)');
    expect(lines[9]).toBe('[sweep] 50/95 c49 done (elapsed 50 s, eta 45 s)');
    expect(lines[18]).toMatch(/^\[sweep\] 95\/95 c94 done \(elapsed 95 s, eta 0 s\)$/);
  });

  test('the last item is logged even off the 5 % grid', () => {
    const out = fakeStream();
    const p = createProgress(41, 'x', { stream: out.stream, now: manualClock().now });
    for (let i = 0; i < 41; i++) p.tick();
    const lines = out.text().trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^\[x\] 41\/41 done/);
    expect(lines).toHaveLength(14); // step 3: 3, 6, ..., 39, then 41
  });

  test('ticks after stop are ignored', () => {
    const out = fakeStream();
    const p = createProgress(2, 's', { stream: out.stream, now: manualClock().now });
    p.stop();
    p.tick();
    expect(out.text()).toBe('');
  });

  test('logWhenPiped: false keeps it quiet off a terminal (trial progress inside a command)', () => {
    const out = fakeStream();
    const p = createProgress(3, 'trials', {
      stream: out.stream,
      now: manualClock().now,
      logWhenPiped: false,
    });
    p.tick();
    p.tick();
    p.tick();
    p.stop();
    expect(out.text()).toBe('');
  });

  test('XBARSIM_QUIET=1 silences it', () => {
    process.env.XBARSIM_QUIET = '1';
    const out = fakeStream();
    const p = createProgress(2, 's', { stream: out.stream });
    p.tick('a');
    p.tick('b');
    p.stop();
    expect(out.text()).toBe('');
  });

  test('log lines are written as they are, in every mode off a terminal', () => {
    const modes = [{}, { logWhenPiped: false }];
    for (const opts of modes) {
      const out = fakeStream();
      const p = createProgress(2, 's', { stream: out.stream, now: manualClock().now, ...opts });
      p.log('[s] training mlp:8x1');
      expect(out.text()).toBe('[s] training mlp:8x1\n');
    }
    process.env.XBARSIM_QUIET = '1';
    const out = fakeStream();
    createProgress(2, 's', { stream: out.stream }).log('still said');
    expect(out.text()).toBe('still said\n');
  });

  test('a bad total is an InputError', () => {
    expect(() => createProgress(-1, 's')).toThrow(InputError);
    expect(() => createProgress(2.5, 's')).toThrow(InputError);
  });
});

describe('formatSeconds', () => {
  test('seconds, then minutes, then hours and minutes', () => {
    expect(formatSeconds(0.4)).toBe('0 s');
    expect(formatSeconds(119)).toBe('119 s');
    expect(formatSeconds(150)).toBe('3 min');
    expect(formatSeconds(7199)).toBe('2 h 00 min');
    expect(formatSeconds(3 * 3600 + 5 * 60)).toBe('3 h 05 min');
  });
});

describe('createProgress on a terminal', () => {
  test('a log line replaces the bar on its line and the bar is drawn again below it', () => {
    const chunks: string[] = [];
    const stream = {
      isTTY: true,
      columns: 120,
      write: (c: string) => (chunks.push(c), true),
    } as unknown as ProgressStream;
    const p = createProgress(4, 'study', { stream });
    p.tick('first');
    chunks.length = 0;
    p.log('[study] training cnn:c8p2:h16');
    p.stop();
    const text = chunks.join('');
    const at = text.indexOf('\r\x1b[2K[study] training cnn:c8p2:h16\n');
    expect(at).toBe(0);
    expect(text.indexOf('[study] [', at)).toBeGreaterThan(at); // the bar again, after the line
    // After stop, lines go out plainly.
    chunks.length = 0;
    p.log('done');
    expect(chunks.join('')).toBe('done\n');
  });
});
