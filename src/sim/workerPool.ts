/**
 * Node adapter: spread trials over worker threads. Each worker receives the plan once (its test inputs
 * in shared memory), prepares itself (device samplers, the first analog stage's input lists), then
 * takes trial indices from a shared queue; since a trial's randomness depends only on (seed, trial),
 * results are the same for any worker count. The compiled worker script lives next to this file in dist/.
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

type WorkerMessage = { ready?: boolean; result?: TrialResult; error?: string };

/** Started workers holding one plan; `run` may be called several times, then `close`. */
export class TrialPool {
  private constructor(private readonly workers: Worker[]) {}

  /** Start `count` workers on `plan` and wait until each has prepared itself. */
  static async start(plan: SimPlan, count: number): Promise<TrialPool> {
    const shared = count > 1 ? withSharedFront(plan) : plan;
    const workers: Worker[] = [];
    const pool = new TrialPool(workers);
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, count) }, () => {
          const worker = new Worker(workerScript(), { workerData: { plan: shared } });
          workers.push(worker);
          return new Promise<void>((resolve, reject) => {
            worker.once('message', (msg: WorkerMessage) =>
              msg.ready ? resolve() : reject(new Error(msg.error ?? 'trial worker failed to start')),
            );
            worker.once('error', reject);
          });
        }),
      );
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Run the given trials (results in the order given). */
  async run(trials: number[], onResult?: (r: TrialResult) => void): Promise<TrialResult[]> {
    const queue = [...trials];
    const results = new Map<number, TrialResult>();
    const listeners: Array<() => void> = [];
    try {
      await Promise.all(
        this.workers.map(
          (worker) =>
            new Promise<void>((resolve, reject) => {
              const next = () => {
                const t = queue.shift();
                if (t === undefined) resolve();
                else worker.postMessage({ trial: t });
              };
              const onMessage = (msg: WorkerMessage) => {
                if (msg.error) return reject(new Error(msg.error));
                if (msg.result) {
                  results.set(msg.result.trial, msg.result);
                  onResult?.(msg.result);
                }
                next();
              };
              const onExit = (code: number) => reject(new Error(`trial worker exited with code ${code}`));
              worker.on('message', onMessage);
              worker.on('error', reject);
              worker.on('exit', onExit);
              listeners.push(() => {
                worker.off('message', onMessage);
                worker.off('error', reject);
                worker.off('exit', onExit);
              });
              next();
            }),
        ),
      );
    } finally {
      for (const off of listeners) off();
    }
    return trials.map((t) => results.get(t)!);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export async function runTrialsInWorkers(
  plan: SimPlan,
  trials: number[],
  workers: number,
  onResult?: (r: TrialResult) => void,
): Promise<TrialResult[]> {
  const pool = await TrialPool.start(plan, Math.max(1, Math.min(workers, trials.length)));
  try {
    return await pool.run(trials, onResult);
  } finally {
    await pool.close();
  }
}

/**
 * The plan with its test inputs (the largest part: 31 MB for MNIST) in shared memory, so that every
 * worker reads one copy instead of receiving its own clone. Workers only read it.
 */
function withSharedFront(plan: SimPlan): SimPlan {
  const data = plan.front.data;
  if (data.buffer instanceof SharedArrayBuffer) return plan;
  const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return { ...plan, front: { ...plan.front, data: copy } };
}
