/**
 * Studies on a cluster: the shard index a scheduler hands an array task (`--shard auto/N`), and the
 * text of the Slurm batch scripts `xbarsim study NAME --slurm N` writes. Pure functions of their
 * arguments (environment passed in), so that they are unit-tested without a scheduler.
 */
import { InputError } from '../util/errors';

/**
 * K of `--shard auto/N`. Slurm: K = SLURM_ARRAY_TASK_ID, which must lie in 1..N, because the script
 * submits `--array=1-N` and a resubmitted subset (`--array=3`) keeps its task ids; an offset from
 * SLURM_ARRAY_TASK_MIN would renumber such a subset. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX
 * counts from 0, so K = index + 1.
 */
export function autoShardIndex(count: number, env: NodeJS.ProcessEnv): number {
  const flag = `--shard auto/${count}`;
  const read = (name: string, lo: number, hi: number, hint: string): number => {
    const text = env[name]!.trim();
    const value = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!(value >= lo && value <= hi))
      throw new InputError(`${flag}: ${name}=${JSON.stringify(env[name])} is not in ${lo}..${hi} (${hint})`);
    return value;
  };
  if (env.SLURM_ARRAY_TASK_ID !== undefined)
    return read('SLURM_ARRAY_TASK_ID', 1, count, `submit the array as --array=1-${count}`);
  if (env.JOB_COMPLETION_INDEX !== undefined)
    return read('JOB_COMPLETION_INDEX', 0, count - 1, `an Indexed Job with completions: ${count}`) + 1;
  const hint = env.SLURM_JOB_ID
    ? ` (Slurm job ${env.SLURM_JOB_ID} is not an array task: submit it with --array=1-${count})`
    : '';
  throw new InputError(
    `${flag}: neither SLURM_ARRAY_TASK_ID (a Slurm array task) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set${hint}; outside a scheduler give --shard K/${count}`,
  );
}

export interface SlurmPlan {
  /** The study command's arguments after the entry point, without --shard, --out, --workers, --model-cache. */
  studyArgs: string[];
  tasks: number;
  /** Absolute paths: the scripts are submitted from anywhere and run on other nodes. */
  out: string;
  modelCache: string;
  cwd: string;
  node: string;
  entry: string;
  cpus: number;
  workers: number;
  partition?: string;
  time?: string;
  /** Environment variables that change what a study runs (XBARSIM_*), exported by the scripts. */
  env: Record<string, string>;
  version: string;
  jobName: string;
}

/** Quote for a POSIX shell: 'it'\''s'. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const SLURM_DIR = 'slurm';
export const STUDY_SCRIPT = 'study.sbatch';
export const REPORT_SCRIPT = 'report.sbatch';

function header(p: SlurmPlan, what: string, directives: string[]): string[] {
  const opt = [
    ...(p.partition ? [`--partition=${p.partition}`] : []),
    ...(p.time ? [`--time=${p.time}`] : []),
  ];
  return [
    '#!/bin/bash',
    ...directives.map((d) => `#SBATCH ${d}`),
    ...opt.map((d) => `#SBATCH ${d}`),
    `# ${what}`,
    `# Written by xbarsim ${p.version}; \`xbarsim study ... --slurm ${p.tasks}\` rewrites it.`,
    'set -euo pipefail',
    `cd ${shellQuote(p.cwd)}`,
    ...Object.keys(p.env)
      .sort()
      .map((k) => `export ${k}=${shellQuote(p.env[k])}`),
  ];
}

/**
 * The array script: task K runs shard K of N (`--shard auto/N` reads SLURM_ARRAY_TASK_ID) on the shared
 * output directory, appending to its log (a resubmitted task keeps the killed one's lines).
 */
export function slurmStudyScript(p: SlurmPlan): string {
  const logDir = `${p.out}/${SLURM_DIR}`;
  const cmd = [
    p.node,
    p.entry,
    ...p.studyArgs,
    '--shard',
    `auto/${p.tasks}`,
    '--out',
    p.out,
    '--workers',
    String(p.workers),
    '--model-cache',
    p.modelCache,
  ];
  return (
    [
      ...header(
        p,
        `Study array: task K of ${p.tasks} runs --shard K/${p.tasks}; resubmit a task with sbatch --array=K this file.`,
        [
          `--job-name=${p.jobName}`,
          `--array=1-${p.tasks}`,
          `--cpus-per-task=${p.cpus}`,
          `--output=${logDir}/task-%a.out`,
          '--open-mode=append',
        ],
      ),
      `exec ${cmd.map(shellQuote).join(' ')}`,
    ].join('\n') + '\n'
  );
}

/** The report job, submitted with --dependency=afterok:<array job>: renders the whole study once. */
export function slurmReportScript(p: SlurmPlan): string {
  return (
    [
      ...header(p, 'Report job: renders the study once every array task has succeeded.', [
        `--job-name=${p.jobName}-report`,
        '--cpus-per-task=1',
        `--output=${p.out}/${SLURM_DIR}/report.out`,
        '--open-mode=append',
        // A failed or cancelled task never satisfies afterok: drop this job rather than leave it pending.
        '--kill-on-invalid-dep=yes',
      ]),
      `exec ${[p.node, p.entry, 'report', p.out].map(shellQuote).join(' ')}`,
    ].join('\n') + '\n'
  );
}
