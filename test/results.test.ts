import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RESULTS_FILE, ResultStore, recordsFiles } from '../src/study/results';
import { InputError } from '../src/util/errors';

let dir: string;
let warnings: string[];
const open = () => new ResultStore(dir, { warn: (m) => warnings.push(m) });
const file = () => path.join(dir, RESULTS_FILE);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-results-'));
  warnings = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ResultStore', () => {
  test('a new directory starts empty; appends are visible and survive a reopen', () => {
    const store = open();
    expect(store.all()).toEqual([]);
    expect(store.has('a')).toBe(false);
    store.append('a', { accuracy: 0.91, trials: 20 });
    store.append('b', { accuracy: 0.87, tags: ['mlp'] });
    expect(store.has('a')).toBe(true);
    const again = open();
    expect(again.has('a')).toBe(true);
    expect(again.has('b')).toBe(true);
    expect(again.has('c')).toBe(false);
    expect(again.all()).toEqual([
      { key: 'a', accuracy: 0.91, trials: 20 },
      { key: 'b', accuracy: 0.87, tags: ['mlp'] },
    ]);
    expect(warnings).toEqual([]);
  });

  test('one JSON line per record, key first', () => {
    const store = open();
    store.append('cfg-1', { acc: 0.5 });
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"cfg-1","acc":0.5}\n');
  });

  test('what all() returns is what a reopen reads (NaN stored as null)', () => {
    const store = open();
    store.append('a', { p: NaN });
    expect(store.all()).toEqual([{ key: 'a', p: null }]);
    expect(open().all()).toEqual(store.all());
  });

  test('an interrupted last line is dropped, the file truncated and the key recomputable', () => {
    const store = open();
    store.append('a', { acc: 0.9 });
    store.append('b', { acc: 0.8 });
    const good = fs.readFileSync(file(), 'utf8');
    fs.appendFileSync(file(), '{"key":"c","acc":0.7'); // crash mid-write
    const resumed = open();
    expect(resumed.all().map((r) => r.key)).toEqual(['a', 'b']);
    expect(resumed.has('c')).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/line 3/);
    expect(fs.readFileSync(file(), 'utf8')).toBe(good);
    resumed.append('c', { acc: 0.7 });
    expect(
      open()
        .all()
        .map((r) => r.key),
    ).toEqual(['a', 'b', 'c']);
  });

  test('a read-only open skips an incomplete last line but leaves the file alone (a shard may be writing it)', () => {
    const store = open();
    store.append('a', { acc: 0.9 });
    fs.appendFileSync(file(), '{"key":"b","acc":0.8'); // another process's append in flight
    const before = fs.readFileSync(file(), 'utf8');
    const reader = new ResultStore(dir, { readOnly: true, warn: (m) => warnings.push(m) });
    expect(reader.all().map((r) => r.key)).toEqual(['a']);
    expect(fs.readFileSync(file(), 'utf8')).toBe(before);
    expect(warnings).toHaveLength(0);
  });

  test('a corrupt last line with its newline is dropped too (e.g. zero-filled after power loss)', () => {
    fs.writeFileSync(file(), '{"key":"a","v":1}\n\u0000\u0000\u0000\n');
    const store = open();
    expect(store.all()).toEqual([{ key: 'a', v: 1 }]);
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"a","v":1}\n');
    expect(warnings).toHaveLength(1);
  });

  test('a whole last record missing only its newline is kept and the newline restored', () => {
    fs.writeFileSync(file(), '{"key":"a","v":1}\n{"key":"b","v":2}');
    const store = open();
    expect(store.all().map((r) => r.key)).toEqual(['a', 'b']);
    store.append('c', { v: 3 });
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"a","v":1}\n{"key":"b","v":2}\n{"key":"c","v":3}\n');
  });

  test('a corrupt line before the last is an InputError naming its line', () => {
    fs.writeFileSync(file(), '{"key":"a"}\n{"key": broken\n{"key":"c"}\n');
    expect(open).toThrow(InputError);
    expect(open).toThrow(/line 2/);
    // Nothing was repaired behind the user's back.
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"a"}\n{"key": broken\n{"key":"c"}\n');
  });

  test('a line without a string key is corrupt', () => {
    fs.writeFileSync(file(), '{"acc":1}\n{"key":"b"}\n');
    expect(open).toThrow(/line 1/);
  });

  test('duplicate keys: the first is kept, with a warning, and keys are unique after resume', () => {
    fs.writeFileSync(file(), '{"key":"a","v":1}\n{"key":"b","v":2}\n{"key":"a","v":3}\n');
    const store = open();
    expect(store.all()).toEqual([
      { key: 'a', v: 1 },
      { key: 'b', v: 2 },
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/a/);
    const keys = store.all().map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('appending a stored key, or a record with its own key field, is refused', () => {
    const store = open();
    store.append('a', { v: 1 });
    expect(() => store.append('a', { v: 2 })).toThrow(/already stored/);
    expect(() => store.append('b', { key: 'x' })).toThrow(/key/);
    expect(() => store.append('', { v: 1 })).toThrow(InputError);
    expect(open().all()).toEqual([{ key: 'a', v: 1 }]);
  });

  test('blank lines are ignored and unicode survives', () => {
    fs.writeFileSync(file(), '{"key":"σ=0.1 µS","v":1}\n\n');
    expect(open().all()).toEqual([{ key: 'σ=0.1 µS', v: 1 }]);
    expect(warnings).toEqual([]);
  });

  test('one file per writer, read as one store: shards append to their own; duplicates across files keep the first', () => {
    fs.writeFileSync(file(), '{"key":"a","v":1}\n{"key":"b","v":2}\n');
    fs.writeFileSync(path.join(dir, 'results.shard-2-of-2.jsonl'), '{"key":"c","v":3}\n{"key":"a","v":9}\n');
    fs.writeFileSync(path.join(dir, 'results.shard-1-of-2.jsonl'), '{"key":"d","v":4}\n');
    fs.writeFileSync(path.join(dir, 'notes.jsonl'), 'not records\n');
    expect(recordsFiles(dir)).toEqual([
      'results.jsonl',
      'results.shard-1-of-2.jsonl',
      'results.shard-2-of-2.jsonl',
    ]);
    const shard = new ResultStore(dir, { shard: { index: 1, count: 2 }, warn: (m) => warnings.push(m) });
    expect(shard.all().map((r) => [r.key, r.v])).toEqual([
      ['a', 1],
      ['b', 2],
      ['d', 4],
      ['c', 3],
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /key a is in both .*results\.jsonl and .*results\.shard-2-of-2\.jsonl; keeping the first/,
      ),
    ]);
    shard.append('e', { v: 5 });
    expect(fs.readFileSync(path.join(dir, 'results.shard-1-of-2.jsonl'), 'utf8')).toBe(
      '{"key":"d","v":4}\n{"key":"e","v":5}\n',
    );
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"a","v":1}\n{"key":"b","v":2}\n');
    expect(() => shard.append('c', {})).toThrow(/already stored in .*results\.shard-2-of-2\.jsonl/);
    // Removing keys rewrites exactly the files that held them.
    shard.remove(new Set(['b', 'c']));
    expect(fs.readFileSync(file(), 'utf8')).toBe('{"key":"a","v":1}\n');
    // (the ignored duplicate of a goes with the rewrite)
    expect(fs.readFileSync(path.join(dir, 'results.shard-2-of-2.jsonl'), 'utf8')).toBe('');
    expect(
      open()
        .all()
        .map((r) => r.key),
    ).toEqual(['a', 'd', 'e']);
  });

  test("another writer's incomplete last line is skipped, not cut off; the writer's own is repaired", () => {
    const other = path.join(dir, 'results.shard-2-of-2.jsonl');
    fs.writeFileSync(other, '{"key":"x","v":1}\n{"key":"y","v"');
    const whole = open();
    expect(whole.all().map((r) => r.key)).toEqual(['x']);
    expect(fs.readFileSync(other, 'utf8')).toBe('{"key":"x","v":1}\n{"key":"y","v"');
    const own = new ResultStore(dir, { shard: { index: 2, count: 2 }, warn: (m) => warnings.push(m) });
    expect(own.all().map((r) => r.key)).toEqual(['x']);
    expect(fs.readFileSync(other, 'utf8')).toBe('{"key":"x","v":1}\n');
    expect(warnings.some((w) => /incomplete \(interrupted write\)/.test(w))).toBe(true);
  });
});
