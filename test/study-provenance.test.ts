/**
 * Content-keyed resume: a record is reused only while the cards and model files it read are unchanged.
 * A study whose configurations read a device card and a model (the loaders note them) is run, then the
 * card is edited and the model rewritten in place between runs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDeviceCard } from '../src/device/loadDevice';
import { loadNetwork, writeDescription } from '../src/nn/load';
import { RESULTS_FILE, ResultStore } from '../src/study/results';
import { provenanceSection, recordsProvenance, runStudy } from '../src/study/runner';
import { toCsv } from '../src/report/tables';
import type { Study } from '../src/study/types';
import { changedInputs, collectInputs, gitCommit, packageVersion } from '../src/util/inputLog';
import { dense, network } from './sim-fixtures';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-provenance-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeCard(file: string, sigma: string): void {
  const card = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'devices', 'hfo2-1t1r-igvva-8.json'), 'utf8'),
  );
  card.levels[0].sigma = sigma;
  fs.writeFileSync(file, JSON.stringify(card));
}

function writeModel(dir: string, weight: number): void {
  fs.mkdirSync(dir, { recursive: true });
  writeDescription(network('m', [2], [dense('d', Float32Array.of(weight, 1), 2, 1, 'linear')]), dir);
}

/** Two configurations: one reads the card, the other the card and the model; each returns what it read. */
function study(card: string, model: string, runs: string[]): Study {
  const read = async (withModel: boolean) => {
    const level0 = (loadDeviceCard(card) as unknown as { levels: Array<{ sigma: number }> }).levels[0];
    const w = withModel ? (await loadNetwork(model)).layers[0] : null;
    return { sigma: level0.sigma, weight: w && 'weights' in w ? w.weights.data[0] : null };
  };
  return {
    name: 'provenance-test',
    description: 'test',
    defaultTrials: { quick: 1, full: 1 },
    data: { quick: {}, full: {} },
    configurations: () =>
      ['card', 'card+model'].map((key) => ({
        key,
        run: async () => {
          runs.push(key);
          return read(key === 'card+model');
        },
      })),
    report: async () => [],
  };
}

test('edited card and rewritten model: refused without --force, recomputed with it; unchanged inputs resume', async () => {
  const card = path.join(tmp, 'card.json');
  const model = path.join(tmp, 'model');
  const out = path.join(tmp, 'out');
  writeCard(card, '1 uS');
  writeModel(model, 0.5);
  const runs: string[] = [];
  const opts = { mode: 'quick' as const, out, seed: 1, workers: 1, log: () => undefined };
  await runStudy(study(card, model, runs), opts);
  expect(runs).toEqual(['card', 'card+model']);
  const first = new ResultStore(out).get('card+model')!;
  const prov = first.provenance as Record<string, string>;
  expect(prov.xbarsim).toBe(packageVersion());
  const { 'xbarsim commit': commit, ...files } = prov;
  expect(Object.keys(files).sort()).toEqual([card, path.join(model, 'network.json'), 'xbarsim'].sort());
  // Run from a git checkout (as the tests are), the commit is recorded too.
  expect(commit).toBe(gitCommit() ?? undefined);
  if (fs.existsSync(path.join(__dirname, '..', '.git'))) expect(commit).toMatch(/^[0-9a-f]{40}$/);

  // Unchanged inputs: everything resumes.
  await runStudy(study(card, model, runs), opts);
  expect(runs).toHaveLength(2);

  // The model rewritten in place: only the record that read it is stale.
  writeModel(model, 0.75);
  await expect(runStudy(study(card, model, runs), opts)).rejects.toThrow(
    /holds 1 records made from other inputs \(changed since: .*model\/network\.json\); rerun with --force/,
  );
  await runStudy(study(card, model, runs), { ...opts, force: true });
  expect(runs.slice(2)).toEqual(['card+model']);
  const store = new ResultStore(out);
  expect(store.get('card+model')!.weight).toBe(0.75);
  expect(store.get('card')!.sigma).toBe(1e-6);

  // The card edited: both records are stale, and no old number survives.
  writeCard(card, '2 uS');
  await expect(runStudy(study(card, model, runs), opts)).rejects.toThrow(/holds 2 records .*card\.json/);
  await runStudy(study(card, model, runs), { ...opts, force: true });
  const lines = fs.readFileSync(path.join(out, RESULTS_FILE), 'utf8').trim().split('\n');
  expect(lines.map((l) => JSON.parse(l).sigma)).toEqual([2e-6, 2e-6]);
  expect(lines.map((l) => JSON.parse(l).key).sort()).toEqual(['card', 'card+model']);
});

test('records without provenance (older runs) are reused; a missing file is not a change', async () => {
  const out = path.join(tmp, 'out');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, RESULTS_FILE), JSON.stringify({ key: 'card', sigma: 'old' }) + '\n');
  const logs: string[] = [];
  const runs: string[] = [];
  const card = path.join(tmp, 'card.json');
  writeCard(card, '1 uS');
  writeModel(path.join(tmp, 'model'), 1);
  await runStudy(study(card, path.join(tmp, 'model'), runs), {
    mode: 'quick',
    out,
    seed: 1,
    workers: 1,
    log: (m) => logs.push(m),
  });
  expect(runs).toEqual(['card+model']);
  expect(logs.join('\n')).toMatch(/1 records carry no provenance/);
  expect(changedInputs({ [path.join(tmp, 'gone.json')]: 'abc' })).toEqual([]);
  expect(changedInputs({ xbarsim: '0.0.0-other' })).toEqual([
    `xbarsim version (0.0.0-other -> ${packageVersion()})`,
  ]);
  const { inputs } = await collectInputs(async () => loadDeviceCard('hfo2-1t1r-igvva-8'));
  // Project-relative names; the commit is recorded but never counts as a change.
  expect(Object.keys(inputs).filter((k) => k !== 'xbarsim commit')).toEqual([
    'devices/hfo2-1t1r-igvva-8.json',
    'xbarsim',
  ]);
  expect(changedInputs({ 'xbarsim commit': '0'.repeat(40) })).toEqual([]);
});

describe('one writer per study directory', () => {
  const holder = (pid: number) =>
    JSON.stringify({ pid, host: os.hostname(), started: '2026-12-06T00:00:00Z' });
  const run = (
    out: string,
    runs: string[],
    shard?: { index: number; count: number },
    logs: string[] = [],
  ) => {
    const card = path.join(tmp, 'card.json');
    if (!fs.existsSync(card)) writeCard(card, '1 uS');
    if (!fs.existsSync(path.join(tmp, 'model'))) writeModel(path.join(tmp, 'model'), 1);
    return runStudy(study(card, path.join(tmp, 'model'), runs), {
      mode: 'quick',
      out,
      seed: 1,
      workers: 1,
      shard,
      log: (m) => logs.push(m),
    });
  };

  test('a live holder refuses a second run; a dead one is taken over; the lock goes with the run', async () => {
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'study.lock'), holder(process.pid)); // this very process: alive
    const runs: string[] = [];
    await expect(run(out, runs)).rejects.toThrow(/is in use by another run \(study\.lock: pid \d+ on /);
    expect(runs).toEqual([]);
    // A whole run's lock also keeps shards out, and a live shard keeps a whole run out.
    await expect(run(out, runs, { index: 1, count: 2 })).rejects.toThrow(/in use by another run/);
    fs.writeFileSync(path.join(out, 'study.lock'), holder(2 ** 22 + 12345)); // no such pid
    const logs: string[] = [];
    await run(out, runs, undefined, logs);
    expect(logs.join('\n')).toMatch(/removing a stale lock study\.lock/);
    expect(runs).toEqual(['card', 'card+model']);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  test('shards hold their own locks and work side by side', async () => {
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'study.shard-1-of-2.lock'), holder(process.pid));
    const runs: string[] = [];
    await run(out, runs, { index: 2, count: 2 });
    expect(runs).toEqual(['card+model']);
    await expect(run(out, runs)).rejects.toThrow(/study\.shard-1-of-2\.lock/);
    await expect(run(out, runs, { index: 1, count: 2 })).rejects.toThrow(/in use/);
  });
});

test("the summary names every record's inputs, by path and hash, and the version", () => {
  const md = provenanceSection([
    { key: 'a', provenance: { 'devices/x.json': 'h1', xbarsim: '0.1.0' } },
    { key: 'b', provenance: { 'devices/x.json': 'h2', xbarsim: '0.1.0' } },
    { key: 'c' },
  ]);
  expect(md).toContain('| `devices/x.json` | `h1`, `h2` |');
  expect(md).toContain('| `xbarsim` | `0.1.0` |');
  expect(md).toContain('1 records carry no provenance');
});

test("the report's CSV and figure files are stamped with the records' inputs", async () => {
  const card = path.join(tmp, 'card.json');
  const model = path.join(tmp, 'model');
  const out = path.join(tmp, 'out');
  writeCard(card, '1 uS');
  writeModel(model, 0.5);
  const s = study(card, model, []);
  s.report = async (records, dir) => {
    fs.writeFileSync(path.join(dir, 'results.csv'), toCsv(records.map((r) => ({ key: r.key }))));
    return [path.join(dir, 'results.csv')];
  };
  await runStudy(s, { mode: 'quick', out, seed: 1, workers: 1, log: () => undefined });
  const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').split('\n');
  const prov = recordsProvenance(new ResultStore(out).all());
  expect(prov[card]).toMatch(/^[0-9a-f]{64}$/);
  for (const [name, hash] of Object.entries(prov)) expect(csv).toContain(`# ${name}: ${hash}`);
  expect(csv.filter((l) => !l.startsWith('#'))).toEqual(['key', 'card', 'card+model', '']);
  expect(
    recordsProvenance([
      { key: 'a', provenance: { x: 'h1' } },
      { key: 'b', provenance: { x: 'h2' } },
      { key: 'c' },
    ]),
  ).toEqual({ x: 'h1, h2', 'records without provenance': '1' });
});

test('the commit is read from a plain checkout, a linked worktree and packed refs, as git itself reports it', () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim();
  const repo = path.join(tmp, 'repo');
  fs.mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'f'), '1');
  git(repo, 'add', 'f');
  git(repo, 'commit', '-qm', 'one');
  expect(gitCommit(repo)).toBe(git(repo, 'rev-parse', 'HEAD'));
  const tree = path.join(tmp, 'tree');
  git(repo, 'worktree', 'add', '-q', '-b', 'side', tree);
  fs.writeFileSync(path.join(tree, 'f'), '2');
  git(tree, 'commit', '-qam', 'two');
  expect(gitCommit(tree)).toBe(git(tree, 'rev-parse', 'HEAD'));
  expect(gitCommit(tree)).not.toBe(gitCommit(repo));
  git(repo, 'pack-refs', '--all');
  expect(fs.existsSync(path.join(repo, '.git', 'refs', 'heads', 'side'))).toBe(false);
  expect(gitCommit(tree)).toBe(git(tree, 'rev-parse', 'HEAD'));
  expect(gitCommit(repo)).toBe(git(repo, 'rev-parse', 'HEAD'));
  expect(gitCommit(tmp)).toBeNull();
});
