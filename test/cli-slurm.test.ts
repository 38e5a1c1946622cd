/**
 * Issue 27: `xbarsim study NAME --slurm N [--submit]` writes the array and report scripts (checked
 * here; a fake sbatch on PATH stands in for Slurm, which test/cluster/slurm.sh runs for real), and the
 * flags' errors. Runs the built CLI in-process (npm test builds first).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, cli } from './cli-run';

let tmp: string;
let savedPath: string | undefined;
const SCHEDULER_VARS = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'SLURM_JOB_ID'];
const savedEnv = Object.fromEntries(SCHEDULER_VARS.map((k) => [k, process.env[k]]));
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cli-slurm-'));
  savedPath = process.env.PATH;
  // These tests may themselves run inside a scheduler's task.
  for (const k of SCHEDULER_VARS) delete process.env[k];
});
afterEach(() => {
  process.env.PATH = savedPath;
  for (const k of SCHEDULER_VARS)
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fake sbatch on PATH: logs its arguments, prints the next id (or fails with `error`). */
function fakeSbatch(error?: string): string {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  const calls = path.join(tmp, 'sbatch.calls');
  const body = error
    ? `echo "${error}" >&2; exit 1`
    : `echo "$*" >> ${calls}; n=$(wc -l < ${calls}); echo "$((4710 + n));testcluster"`;
  fs.writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
  return calls;
}

test('--slurm N writes the array script with the study flags and a report job, stamping the directory', async () => {
  const out = path.join(tmp, 'study');
  const args = [
    'study',
    'default',
    '--out',
    out,
    '--trials',
    '2',
    '--slurm',
    '3',
    '--cpus',
    '2',
    '--time',
    '30:00',
  ];
  const r = await cli(args);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/wrote .*study\.sbatch \(3 tasks, 2 configurations\) and .*report\.sbatch/);
  const script = fs.readFileSync(path.join(out, 'slurm', 'study.sbatch'), 'utf8');
  expect(script).toContain('#SBATCH --array=1-3\n');
  expect(script).toContain('#SBATCH --cpus-per-task=2\n');
  expect(script).toContain('#SBATCH --time=30:00\n');
  expect(script).not.toContain('--partition');
  expect(script).toContain(`cd ${process.cwd()}\n`);
  expect(script).toContain(
    `exec ${process.execPath} ${BIN} study default --quick --seed 1 --trials 2 --shard auto/3 --out ${out} --workers 2 --model-cache `,
  );
  expect(script).toMatch(/Written by xbarsim \d+\.\d+\.\d+/);
  expect(fs.readFileSync(path.join(out, 'slurm', 'report.sbatch'), 'utf8')).toContain(`report ${out}\n`);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'study.json'), 'utf8'))).toMatchObject({
    study: 'default',
    trials: 2,
  });
  // Nothing ran: no records, no lock.
  expect(fs.readdirSync(out).sort()).toEqual(['slurm', 'study.json']);

  // The same command again is fine (a resubmission); another task count needs --force.
  expect((await cli(args)).code).toBe(0);
  const other = await cli(['study', 'default', '--out', out, '--trials', '2', '--slurm', '2']);
  expect(other.code).toBe(2);
  expect(other.stderr).toMatch(/study\.sbatch exists and runs something else .*--force/);
  expect(fs.readFileSync(path.join(out, 'slurm', 'study.sbatch'), 'utf8')).toBe(script);
  expect(
    (await cli(['study', 'default', '--out', out, '--trials', '2', '--slurm', '2', '--force'])).code,
  ).toBe(0);
  expect(fs.readFileSync(path.join(out, 'slurm', 'study.sbatch'), 'utf8')).toContain('--array=1-2\n');
});

test('--slurm with --only counts the selected configurations; an --only selecting none writes no script', async () => {
  const out = path.join(tmp, 'study');
  const one = await cli(['study', 'default', '--out', out, '--slurm', '2', '--only', 'adc8-calibrated$']);
  expect(one.code).toBe(0);
  expect(one.stderr).toMatch(/\(2 tasks, 1 configurations\)/);
  expect(fs.readFileSync(path.join(out, 'slurm', 'study.sbatch'), 'utf8')).toContain(
    "--only 'adc8-calibrated$'",
  );
  const none = path.join(tmp, 'none');
  const r = await cli(['study', 'default', '--out', none, '--slurm', '2', '--only', 'nothing']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/flag --only: nothing matches no configuration key of default/);
  expect(fs.existsSync(path.join(none, 'slurm'))).toBe(false);
});

test('--submit hands the array to sbatch, then the report job after it, and prints the array job id', async () => {
  const calls = fakeSbatch();
  const out = path.join(tmp, 'study');
  const r = await cli([
    'study',
    'default',
    '--out',
    out,
    '--slurm',
    '2',
    '--submit',
    '--model-cache',
    path.join(tmp, 'm'),
  ]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('4711\n');
  expect(r.stderr).toMatch(/submitted array job 4711 .*report job 4712 after it/);
  const dir = path.join(out, 'slurm');
  expect(fs.readFileSync(calls, 'utf8')).toBe(
    `--parsable ${dir}/study.sbatch\n--parsable --dependency=afterok:4711 ${dir}/report.sbatch\n`,
  );
  expect(fs.readFileSync(path.join(dir, 'study.sbatch'), 'utf8')).toContain(
    `--model-cache ${path.join(tmp, 'm')}\n`,
  );
});

test('--submit: a failing or missing sbatch is bad input naming it', async () => {
  fakeSbatch('sbatch: error: invalid partition specified: gpu');
  const failed = await cli([
    'study',
    'default',
    '--out',
    path.join(tmp, 'a'),
    '--slurm',
    '2',
    '--submit',
    '--partition',
    'gpu',
  ]);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(
    /--submit: sbatch .* failed: sbatch: error: invalid partition specified: gpu/,
  );
  process.env.PATH = path.join(tmp, 'empty');
  const missing = await cli(['study', 'default', '--out', path.join(tmp, 'b'), '--slurm', '2', '--submit']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/sbatch not found on PATH/);
});

test.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
  ['--partition without --slurm', ['--partition', 'cpu'], {}, /flag --partition goes with --slurm N only/],
  ['--submit without --slurm', ['--submit'], {}, /flag --submit goes with --slurm N only/],
  ['--slurm with --shard', ['--slurm', '2', '--shard', '1/2'], {}, /--slurm and --shard exclude each other/],
  ['--slurm beyond 64', ['--slurm', '65'], {}, /flag --slurm: must be <= 64/],
  ['--time malformed', ['--slurm', '2', '--time', 'soon'], {}, /flag --time: must match/],
  [
    '--shard auto outside a scheduler',
    ['--shard', 'auto/2'],
    {},
    /--shard auto\/2: neither SLURM_ARRAY_TASK_ID/,
  ],
  [
    '--shard auto, task id out of range',
    ['--shard', 'auto/2'],
    { SLURM_ARRAY_TASK_ID: '3' },
    /SLURM_ARRAY_TASK_ID="3" is not in 1\.\.2/,
  ],
  [
    '--shard auto, index out of range',
    ['--shard', 'auto/2'],
    { JOB_COMPLETION_INDEX: '2' },
    /JOB_COMPLETION_INDEX="2" is not in 0\.\.1/,
  ],
])('%s: exit 2, nothing written', async (_name, args, env, message) => {
  Object.assign(process.env, env);
  const out = path.join(tmp, 'out');
  const r = await cli(['study', 'default', '--out', out, ...args]);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(fs.existsSync(out)).toBe(false);
});
