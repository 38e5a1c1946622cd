/**
 * Node adapter: spread trials over worker threads. Each worker receives the plan once, then trial
 * indices from a shared queue; since a trial's randomness depends only on (seed, trial), results are
 * the same for any worker count. The compiled worker script lives next to this file in dist/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SimPlan } from './plan';
import type { TrialResult } from './trial';

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

function workerScript(): string {
  const here = path.join(__dirname, 'trialWorker.js');
  if (fs.existsSync(here)) return here;
  // Under ts-jest this file runs from src/: use the build (npm test builds first).
  const built = path.resolve(__dirname, '../../dist/src/sim/trialWorker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`worker script not found (looked for ${here} and ${built}); run npm run build`);
}

export async function runTrialsInWorkers(
  plan: SimPlan,
  trials: number[],
  workers: number,
  onResult?: (r: TrialResult) => void,
): Promise<TrialResult[]> {
  const queue = [...trials];
  const results = new Map<number, TrialResult>();
  const count = Math.max(1, Math.min(workers, trials.length));
  const pool: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, () => {
        const worker = new Worker(workerScript(), { workerData: { plan } });
        pool.push(worker);
        return new Promise<void>((resolve, reject) => {
          const next = () => {
            const t = queue.shift();
            if (t === undefined) resolve();
            else worker.postMessage({ trial: t });
          };
          worker.on('message', (msg: { result?: TrialResult; ready?: boolean; error?: string }) => {
            if (msg.error) return reject(new Error(msg.error));
            if (msg.result) {
              results.set(msg.result.trial, msg.result);
              onResult?.(msg.result);
            }
            next();
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`trial worker exited with code ${code}`));
          });
        });
      }),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return trials.map((t) => results.get(t)!);
}
