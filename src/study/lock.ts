/**
 * One writer per study directory: a run holds `study.lock` (a shard `study.shard-K-of-N.lock`) with its
 * pid and host while it works, so that two runs on one --out cannot both do all the work. Different
 * shards of one run hold different locks and work side by side; a whole run and a shard exclude each
 * other. A lock whose process is gone (same host, pid not alive) is stale and taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../util/errors';

const WHOLE = 'study.lock';
const SHARD = /^study\.shard-(\d+)-of-(\d+)\.lock$/;

interface Holder {
  pid: number;
  host: string;
  started: string;
}

function lockName(shard?: { index: number; count: number }): string {
  return shard ? `study.shard-${shard.index}-of-${shard.count}.lock` : WHOLE;
}

function alive(h: Holder): boolean {
  if (h.host !== os.hostname()) return true; // cannot tell: another machine's run counts as alive
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return null; // vanished, or half-written by a crash: treat as stale
  }
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
    if (h && alive(h))
      throw new InputError(
        `${dir} is in use by another run (${f}: pid ${h.pid} on ${h.host}, since ${h.started}); wait for it, or give each process its own --shard K/N`,
      );
    log(`removing a stale lock ${f}${h ? ` (pid ${h.pid} on ${h.host} is gone)` : ''}`);
    fs.rmSync(file, { force: true });
  }
  const file = path.join(dir, mine);
  const holder: Holder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
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
