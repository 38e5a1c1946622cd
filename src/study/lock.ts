/**
 * One writer per study directory: a run holds `study.lock` (a shard `study.shard-K-of-N.lock`) with its
 * pid and host while it works, so that two runs on one --out cannot both do all the work. Different
 * shards of one run hold different locks and work side by side; a whole run and a shard exclude each
 * other. A lock whose process is gone (same host, pid not alive) is stale and taken over; so is one
 * from another host whose Slurm job has left the queue (a resubmitted array task on another node).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../util/errors';

const WHOLE = 'study.lock';
const SHARD = /^study\.shard-(\d+)-of-(\d+)\.lock$/;

export interface Holder {
  pid: number;
  host: string;
  started: string;
  /** SLURM_JOB_ID of the holder (each array task has its own), when it ran under Slurm. */
  slurmJob?: string;
}

/** This process as a lock holder. */
export function thisHolder(): Holder {
  const slurmJob = process.env.SLURM_JOB_ID;
  return {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    ...(slurmJob ? { slurmJob } : {}),
  };
}

function lockName(shard?: { index: number; count: number }): string {
  return shard ? `study.shard-${shard.index}-of-${shard.count}.lock` : WHOLE;
}

/** Slurm job states of a job that may still run (squeue %T); the others are final. */
const SLURM_LIVE =
  /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|RESIZING|SIGNALING|STAGE_OUT|STOPPED|SPECIAL_EXIT)$/;

/**
 * Whether a Slurm job may still be running, by `squeue`; null if squeue cannot tell (not installed,
 * controller unreachable). A job long gone is an "invalid job id"; a recent one shows a final state.
 */
export function slurmJobLive(job: string): boolean | null {
  try {
    const out = execFileSync('squeue', ['-h', '-t', 'all', '-o', '%T', '-j', job], {
      encoding: 'utf8',
      env: process.env,
      timeout: 20000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.split('\n').some((state) => SLURM_LIVE.test(state.trim()));
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    return /invalid job id/i.test(stderr) ? false : null;
  }
}

/** Whether a lock's holder may still be working (when in doubt: yes). */
export function holderAlive(h: Holder): boolean {
  if (h.host !== os.hostname()) {
    // Another machine: only a Slurm holder can be checked, by its job; any other counts as alive.
    if (h.slurmJob && /^[0-9_]+$/.test(h.slurmJob)) return slurmJobLive(h.slurmJob) !== false;
    return true;
  }
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readHolder(file: string): Holder | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return null; // vanished, or half-written by a crash: treat as stale
  }
}

export function describeHolder(h: Holder): string {
  return `pid ${h.pid} on ${h.host}${h.slurmJob ? `, Slurm job ${h.slurmJob}` : ''}`;
}

/** Take the directory's lock for this run; returns its release. Throws InputError if a live run holds it. */
export function lockStudyDir(
  dir: string,
  shard: { index: number; count: number } | undefined,
  log: (m: string) => void,
): () => void {
  const mine = lockName(shard);
  // Locks that exclude this one: the same name, and a whole run against any shard (and back).
  const conflicting = fs.readdirSync(dir).filter((f) => f === mine || (shard ? f === WHOLE : SHARD.test(f)));
  for (const f of conflicting) {
    const file = path.join(dir, f);
    const h = readHolder(file);
    if (h && holderAlive(h))
      throw new InputError(
        `${dir} is in use by another run (${f}: ${describeHolder(h)}, since ${h.started}); wait for it, or give each process its own --shard K/N`,
      );
    log(`removing a stale lock ${f}${h ? ` (${describeHolder(h)} is gone)` : ''}`);
    fs.rmSync(file, { force: true });
  }
  const file = path.join(dir, mine);
  const holder = thisHolder();
  try {
    // 'wx': fails if another run created it since the check above.
    fs.writeFileSync(file, JSON.stringify(holder) + '\n', { flag: 'wx' });
  } catch {
    const h = readHolder(file);
    throw new InputError(
      `${dir} is in use by another run (${mine}${h ? `: pid ${h.pid} on ${h.host}` : ''}); wait for it`,
    );
  }
  return () => {
    const h = readHolder(file);
    if (h && h.pid === holder.pid && h.host === holder.host) fs.rmSync(file, { force: true });
  };
}
