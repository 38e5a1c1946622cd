/** Worker thread: resolve the plan's device and prepare the fast path once, then run the trials it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import type { SimPlan } from './plan';
import { samplersForPlan } from './samplers';
import { prepareTrials, runTrial, TrialScratch } from './trial';

const plan = (workerData as { plan: SimPlan }).plan;
try {
  const device = samplersForPlan(plan);
  const scratch = new TrialScratch();
  prepareTrials(plan, scratch);
  parentPort!.on('message', (msg: { trial: number }) => {
    try {
      parentPort!.postMessage({ result: runTrial(plan, device, msg.trial, scratch) });
    } catch (err) {
      parentPort!.postMessage({ error: (err as Error).stack ?? String(err) });
    }
  });
  parentPort!.postMessage({ ready: true });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).stack ?? String(err) });
}
