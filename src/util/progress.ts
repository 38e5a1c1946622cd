/**
 * Progress of a study: a live bar with ETA on a terminal, sparse plain log lines when the output is
 * redirected (CI logs, nohup), and silence with XBARSIM_QUIET=1.
 */
import { SingleBar } from 'cli-progress';
import { InputError } from './errors';

export interface Progress {
  /** One item finished; `note` names it, e.g. `configuration mlp-4bit`. */
  tick(note?: string): void;
  /** Finish the display; further ticks are ignored. */
  stop(): void;
  /** Write a log line without garbling the display: above the bar on a terminal, as is elsewhere. */
  log(line: string): void;
}

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface ProgressOptions {
  /** Defaults to process.stderr, so progress never mixes with results piped from stdout. */
  stream?: ProgressStream;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
  /** Write log lines when the stream is not a terminal (default true); false: stay quiet there. */
  logWhenPiped?: boolean;
}

/** Log lines go out about every 5 % of the work; each item is logged when there are at most 20. */
const LOG_STEPS = 20;

export function createProgress(total: number, label: string, opts: ProgressOptions = {}): Progress {
  if (!Number.isInteger(total) || total < 0) {
    throw new InputError(`progress total must be a non-negative integer, got ${total}`);
  }
  const stream = opts.stream ?? process.stderr;
  const silent: Progress = { tick() {}, stop() {}, log: (line) => void stream.write(`${line}\n`) };
  if (process.env.XBARSIM_QUIET === '1') return silent;
  if (stream.isTTY) return barProgress(total, label, stream);
  return opts.logWhenPiped === false ? silent : logProgress(total, label, stream, opts.now ?? Date.now);
}

function barProgress(total: number, label: string, stream: ProgressStream): Progress {
  const bar = new SingleBar({
    stream,
    format: `[${label}] [{bar}] {value}/{total} | elapsed {duration_formatted} | eta {eta_formatted} | {note}`,
    hideCursor: true,
    etaBuffer: 20, // configurations vary in cost; a longer window steadies the estimate
    fps: 5,
    forceRedraw: true, // so that the bar comes back at once below a log line
  });
  bar.start(total, 0, { note: '' });
  let stopped = false;
  return {
    tick(note = '') {
      if (!stopped) bar.increment(1, { note });
    },
    stop() {
      if (!stopped) bar.stop();
      stopped = true;
    },
    log(line) {
      if (stopped) {
        stream.write(`${line}\n`);
        return;
      }
      // Clear the bar's line, write the log line in its place, and draw the bar again below it.
      stream.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
  };
}

function logProgress(total: number, label: string, stream: ProgressStream, now: () => number): Progress {
  const start = now();
  const step = Math.max(1, Math.ceil(total / LOG_STEPS));
  let done = 0;
  let stopped = false;
  return {
    tick(note?: string) {
      if (stopped) return;
      done++;
      if (done % step !== 0 && done !== total) return;
      const elapsed = (now() - start) / 1000;
      const eta = done >= total ? 0 : (elapsed / done) * (total - done);
      const what = note ? ` ${note}` : '';
      stream.write(
        `[${label}] ${done}/${total}${what} done (elapsed ${formatSeconds(elapsed)}, eta ${formatSeconds(eta)})\n`,
      );
    },
    stop() {
      stopped = true;
    },
    log(line) {
      stream.write(`${line}\n`);
    },
  };
}

/** Whole seconds up to two minutes, then minutes, then hours and minutes: what a reader wants at a glance. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  const min = Math.round(seconds / 60);
  if (min < 120) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}
