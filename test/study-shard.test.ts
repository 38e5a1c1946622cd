/** Shards of a study: disjoint, covering, whole groups, and the same records as one unsharded run. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runStudy, shardOf } from '../src/study/runner';
import type { ResultRecord } from '../src/study/results';
import type { Study, StudyConfig } from '../src/study/types';
import { streamFor } from '../src/util/random';

const noop = async () => ({});

function configs(groups: string[][]): StudyConfig[] {
  return groups.flatMap((keys, g) => keys.map((key) => ({ key, group: `g${g}`, run: noop })));
}

test('shardOf deals whole groups out in turn, in study order', () => {
  const all = configs([['a1', 'a2'], ['b1'], ['c1', 'c2', 'c3'], ['d1']]);
  const keys = (k: number, n: number) => shardOf(all, k, n).map((c) => c.key);
  expect(keys(1, 2)).toEqual(['a1', 'a2', 'c1', 'c2', 'c3']);
  expect(keys(2, 2)).toEqual(['b1', 'd1']);
  expect(keys(1, 3)).toEqual(['a1', 'a2', 'd1']);
  expect(keys(3, 3)).toEqual(['c1', 'c2', 'c3']);
  expect(keys(1, 1)).toEqual(all.map((c) => c.key));
  // Without a group every configuration is its own group.
  const loose = ['x', 'y', 'z'].map((key) => ({ key, run: noop }));
  expect(shardOf(loose, 2, 2).map((c) => c.key)).toEqual(['y']);
});

test('shards cover every configuration exactly once for any shard count', () => {
  const all = configs([['a'], ['b', 'c'], ['d'], ['e', 'f', 'g'], ['h']]);
  for (let n = 1; n <= 6; n++) {
    const seen = Array.from({ length: n }, (_, k) => shardOf(all, k + 1, n).map((c) => c.key)).flat();
    expect(seen.sort()).toEqual(all.map((c) => c.key).sort());
  }
});

test('shards k/2n and (k+n)/2n together run exactly shard k/n, so a shard can be split mid-run', () => {
  const all = configs([['a'], ['b', 'c'], ['d'], ['e', 'f', 'g'], ['h'], ['i', 'j'], ['k']]);
  const keys = (k: number, n: number) => shardOf(all, k, n).map((c) => c.key);
  for (let n = 1; n <= 3; n++)
    for (let k = 1; k <= n; k++)
      expect([...keys(k, 2 * n), ...keys(k + n, 2 * n)].sort()).toEqual(keys(k, n).sort());
});

/** A study whose records are seeded draws, so the test can compare sharded and unsharded runs. */
function fakeStudy(): Study {
  return {
    name: 'fake',
    description: 'test study',
    defaultTrials: { quick: 2, full: 2 },
    data: { quick: {}, full: {} },
    configurations: () =>
      ['p/1', 'p/2', 'q/1', 'r/1', 'r/2'].map((key) => ({
        key,
        group: key.split('/')[0],
        run: async (ctx) => ({ draw: streamFor(ctx.seed, key).uniform() }),
      })),
    report: async () => [],
  };
}

test('two shards on one directory store the records of one unsharded run', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-shard-'));
  try {
    const base = { mode: 'quick' as const, seed: 3, workers: 1, log: () => undefined };
    const whole = await runStudy(fakeStudy(), { ...base, out: path.join(tmp, 'whole') });
    const sharded = path.join(tmp, 'sharded');
    const first = await runStudy(fakeStudy(), { ...base, out: sharded, shard: { index: 2, count: 2 } });
    expect(first.records.map((r) => r.key).sort()).toEqual(['q/1']);
    const second = await runStudy(fakeStudy(), { ...base, out: sharded, shard: { index: 1, count: 2 } });
    const byKey = (rs: ResultRecord[]) => Object.fromEntries(rs.map((r) => [r.key, r.draw]));
    // The last shard to finish sees the other's records too.
    expect(byKey(second.records)).toEqual(byKey(whole.records));
    expect(whole.records).toHaveLength(5);
    // Each shard wrote its own file (one writer per file); a whole run writes results.jsonl.
    expect(
      fs
        .readdirSync(sharded)
        .filter((f) => f.endsWith('.jsonl'))
        .sort(),
    ).toEqual(['results.shard-1-of-2.jsonl', 'results.shard-2-of-2.jsonl']);
    expect(fs.readFileSync(path.join(sharded, 'results.shard-2-of-2.jsonl'), 'utf8')).toMatch(
      /^\{"key":"q\/1"[^\n]*\n$/,
    );
    expect(fs.existsSync(path.join(tmp, 'whole', 'results.jsonl'))).toBe(true);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('--only runs the matching configurations; the rest stay to do; a pattern matching none is refused', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-only-'));
  try {
    const base = { mode: 'quick' as const, seed: 3, workers: 1, log: () => undefined, out: tmp };
    const keys = fakeStudy()
      .configurations({} as never)
      .map((c) => c.key);
    const first = await runStudy(fakeStudy(), { ...base, only: /^[pq]\/1$/ });
    expect(first.records.map((r) => r.key).sort()).toEqual(['p/1', 'q/1']);
    await expect(runStudy(fakeStudy(), { ...base, only: /^nothing/ })).rejects.toThrow(
      /flag --only: \^nothing matches no configuration key/,
    );
    const rest = await runStudy(fakeStudy(), base);
    expect(rest.records.map((r) => r.key).sort()).toEqual([...keys].sort());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
