/**
 * Issue 27: the shard index a scheduler hands an array task, the Slurm scripts, and the locks that let
 * array tasks on several hosts share a study directory and a model cache. The real Slurm run is
 * test/cluster/slurm.sh (npm run test:slurm).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  autoShardIndex,
  shellQuote,
  type SlurmPlan,
  slurmReportScript,
  slurmStudyScript,
} from '../src/study/cluster';
import { holderAlive, lockStudyDir } from '../src/study/lock';
import { lockModelTraining } from '../src/study/modelCache';

describe('--shard auto/N', () => {
  test('Slurm: K is SLURM_ARRAY_TASK_ID itself (the script submits --array=1-N), also in a resubmitted subset', () => {
    expect(autoShardIndex(4, { SLURM_ARRAY_TASK_ID: '1' })).toBe(1);
    expect(autoShardIndex(4, { SLURM_ARRAY_TASK_ID: '4' })).toBe(4);
    // sbatch --array=3: the task keeps id 3, though TASK_MIN is 3 too.
    expect(autoShardIndex(4, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '3' })).toBe(3);
  });

  test('Kubernetes: JOB_COMPLETION_INDEX counts from 0', () => {
    expect(autoShardIndex(3, { JOB_COMPLETION_INDEX: '0' })).toBe(1);
    expect(autoShardIndex(3, { JOB_COMPLETION_INDEX: '2' })).toBe(3);
  });

  test.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      'Slurm id 0',
      { SLURM_ARRAY_TASK_ID: '0' },
      /--shard auto\/4: SLURM_ARRAY_TASK_ID="0" is not in 1\.\.4 \(submit the array as --array=1-4\)/,
    ],
    ['Slurm id above N', { SLURM_ARRAY_TASK_ID: '5' }, /SLURM_ARRAY_TASK_ID="5" is not in 1\.\.4/],
    ['Slurm id not a number', { SLURM_ARRAY_TASK_ID: '2a' }, /SLURM_ARRAY_TASK_ID="2a" is not in 1\.\.4/],
    [
      'Kubernetes index N',
      { JOB_COMPLETION_INDEX: '4' },
      /JOB_COMPLETION_INDEX="4" is not in 0\.\.3 \(an Indexed Job with completions: 4\)/,
    ],
    [
      'no scheduler',
      {},
      /--shard auto\/4: neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX .* is set; outside a scheduler give --shard K\/4/,
    ],
    [
      'a Slurm job that is no array',
      { SLURM_JOB_ID: '77' },
      /Slurm job 77 is not an array task: submit it with --array=1-4/,
    ],
  ])('%s: bad input naming the variable, its value and the range', (_name, env, message) => {
    expect(() => autoShardIndex(4, env)).toThrow(message);
    try {
      autoShardIndex(4, env);
    } catch (err) {
      expect((err as Error).name).toBe('InputError');
    }
  });
});

const plan: SlurmPlan = {
  studyArgs: [
    'study',
    'adc-sizing',
    '--full',
    '--seed',
    '1',
    '--only',
    '^mnist/(mlp|cnn)',
    '--device',
    "it's card",
  ],
  tasks: 8,
  out: '/shared/results/adc',
  modelCache: '/shared/cache/models',
  cwd: '/shared/work dir',
  node: '/opt/node/bin/node',
  entry: '/shared/xbarsim/dist/src/cli/main.js',
  cpus: 4,
  workers: 4,
  partition: 'cpu',
  time: '1-00:00:00',
  env: { XBARSIM_QMC_SMOKE: '1' },
  version: '9.9.9',
  jobName: 'xbarsim-adc-sizing',
};

test('shell quoting leaves plain words alone and quotes the rest', () => {
  expect(shellQuote('/a/b-c_d.js')).toBe('/a/b-c_d.js');
  expect(shellQuote('^mnist/(mlp|cnn)')).toBe(`'^mnist/(mlp|cnn)'`);
  expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  expect(spawnSync('bash', ['-c', `printf %s ${shellQuote("it's $HOME (x)")}`]).stdout.toString()).toBe(
    "it's $HOME (x)",
  );
});

test('the array script: one task per shard, all flags, absolute paths, per-task logs, the version', () => {
  const s = slurmStudyScript(plan);
  const lines = s.split('\n');
  expect(lines[0]).toBe('#!/bin/bash');
  for (const d of [
    '--array=1-8',
    '--cpus-per-task=4',
    '--output=/shared/results/adc/slurm/task-%a.out',
    '--open-mode=append',
    '--partition=cpu',
    '--time=1-00:00:00',
    '--job-name=xbarsim-adc-sizing',
  ])
    expect(lines).toContain(`#SBATCH ${d}`);
  // sbatch reads directives only up to the first command.
  const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
  expect(lines.slice(firstCommand).some((l) => l.startsWith('#SBATCH'))).toBe(false);
  expect(s).toContain('xbarsim 9.9.9');
  expect(lines).toContain("cd '/shared/work dir'");
  expect(lines).toContain('export XBARSIM_QMC_SMOKE=1');
  expect(lines.at(-2)).toBe(
    "exec /opt/node/bin/node /shared/xbarsim/dist/src/cli/main.js study adc-sizing --full --seed 1 --only '^mnist/(mlp|cnn)' --device 'it'\\''s card' --shard auto/8 --out /shared/results/adc --workers 4 --model-cache /shared/cache/models",
  );
  // Without partition and time, no such directives.
  const bare = slurmStudyScript({ ...plan, partition: undefined, time: undefined });
  expect(bare).not.toMatch(/--partition|--time/);
  expect(spawnSync('bash', ['-n'], { input: s }).status).toBe(0);
});

test('the report job renders the directory and is dropped when a task fails', () => {
  const s = slurmReportScript(plan);
  expect(s).toContain('#SBATCH --kill-on-invalid-dep=yes');
  expect(s).toContain('#SBATCH --output=/shared/results/adc/slurm/report.out');
  expect(s).toContain('xbarsim 9.9.9');
  expect(s.trimEnd().split('\n').at(-1)).toBe(
    'exec /opt/node/bin/node /shared/xbarsim/dist/src/cli/main.js report /shared/results/adc',
  );
});

describe('locks across hosts and Slurm jobs', () => {
  let tmp: string;
  let savedPath: string | undefined;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cluster-'));
    savedPath = process.env.PATH;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A fake squeue on PATH: prints `state` for any job, or fails like Slurm for a purged job. */
  function fakeSqueue(state: string | 'purged' | 'down'): void {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const body =
      state === 'purged'
        ? 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1'
        : state === 'down'
          ? 'echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1'
          : `echo ${state}`;
    fs.writeFileSync(path.join(bin, 'squeue'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
  }
  const other = (slurmJob?: string) => ({
    pid: 1,
    host: `${os.hostname()}-elsewhere`,
    started: '2026-12-06T00:00:00Z',
    ...(slurmJob ? { slurmJob } : {}),
  });

  test("another host's holder: alive unless its Slurm job is final or gone; in doubt alive", () => {
    expect(holderAlive(other())).toBe(true);
    fakeSqueue('RUNNING');
    expect(holderAlive(other('123'))).toBe(true);
    fakeSqueue('COMPLETING');
    expect(holderAlive(other('123'))).toBe(true);
    fakeSqueue('CANCELLED');
    expect(holderAlive(other('123'))).toBe(false);
    fakeSqueue('purged');
    expect(holderAlive(other('123'))).toBe(false);
    fakeSqueue('down');
    expect(holderAlive(other('123'))).toBe(true);
    expect(holderAlive(other())).toBe(true); // no Slurm job to ask about
  });

  test('a resubmitted task takes over the study lock of a cancelled task on another node', () => {
    const lock = path.join(tmp, 'study.shard-1-of-4.lock');
    fs.writeFileSync(lock, JSON.stringify(other('41')));
    fakeSqueue('RUNNING');
    expect(() => lockStudyDir(tmp, { index: 1, count: 4 }, () => undefined)).toThrow(
      /in use by another run \(study\.shard-1-of-4\.lock: pid 1 on .*-elsewhere, Slurm job 41/,
    );
    fakeSqueue('CANCELLED');
    const logs: string[] = [];
    const release = lockStudyDir(tmp, { index: 1, count: 4 }, (m) => logs.push(m));
    expect(logs.join('\n')).toMatch(
      /removing a stale lock study\.shard-1-of-4\.lock \(pid 1 on .*, Slurm job 41 is gone\)/,
    );
    expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    release();
    expect(fs.existsSync(lock)).toBe(false);
  });

  test('model lock: one trains, the other waits for it and then reuses the model', async () => {
    let trained = false;
    const done = () => trained;
    const first = await lockModelTraining(tmp, 'm', done, () => undefined, { pollMs: 5 });
    expect(first).not.toBeNull();
    expect(fs.existsSync(path.join(tmp, '.m.lock'))).toBe(true);
    const logs: string[] = [];
    const second = lockModelTraining(tmp, 'm', done, (m) => logs.push(m), { pollMs: 5 });
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toEqual([`waiting for pid ${process.pid} on ${os.hostname()}, which trains model m`]);
    trained = true;
    first!();
    expect(await second).toBeNull();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('model lock: a waiter takes over when the trainer dies without the model', async () => {
    const first = await lockModelTraining(
      tmp,
      'm',
      () => false,
      () => undefined,
    );
    // The holder's process is gone: rewrite the lock as a dead pid's (same host).
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(
      path.join(tmp, '.m.lock'),
      JSON.stringify({ pid: dead, host: os.hostname(), started: 'x' }),
    );
    const logs: string[] = [];
    const second = await lockModelTraining(
      tmp,
      'm',
      () => false,
      (m) => logs.push(m),
      { pollMs: 5 },
    );
    expect(second).not.toBeNull();
    expect(logs.join('\n')).toMatch(
      new RegExp(`taking over the lock of model m from pid ${dead} on .*, which is gone`),
    );
    // The dead holder's release (had it come back) frees nothing of the new holder's.
    first!();
    expect(JSON.parse(fs.readFileSync(path.join(tmp, '.m.lock'), 'utf8')).pid).toBe(process.pid);
    second!();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('model lock: an unreadable lock is waited for while fresh, taken over once old', async () => {
    fs.writeFileSync(path.join(tmp, '.m.lock'), '');
    const logs: string[] = [];
    let trained = false;
    const waiting = lockModelTraining(
      tmp,
      'm',
      () => trained,
      (m) => logs.push(m),
      { pollMs: 5, emptyGraceMs: 60000 },
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(logs).toEqual(['waiting for a process starting up, which trains model m']);
    trained = true;
    expect(await waiting).toBeNull();
    trained = false;
    const old = new Date(Date.now() - 120000);
    fs.utimesSync(path.join(tmp, '.m.lock'), old, old);
    const logs2: string[] = [];
    const release = await lockModelTraining(
      tmp,
      'm',
      () => false,
      (m) => logs2.push(m),
      { pollMs: 5 },
    );
    expect(logs2).toEqual(['taking over the lock of model m (unreadable)']);
    release!();
  });
});
