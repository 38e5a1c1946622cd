/**
 * One Monte-Carlo trial: program a fresh chip (draw every cell's conductance, draw faults), then run
 * the test set through it. Trial t's random stream depends only on (seed, t). Browser-safe.
 *
 * Programming the chip is the reference's own code (the random draws and their order define results);
 * the analog stages run on the fast path (fastStage.ts) where it applies, else through the plain
 * reference arithmetic (referenceTrial.ts). Either way the results are bit-for-bit the reference's;
 * test/sim-fastpath.test.ts checks that.
 */
import { type Activations, argmaxRows, accuracyOf, runLayer, sizeOf } from '../nn/forward';
import { streamFor } from '../util/random';
import type { SimPlan } from './plan';
import { fastAnalogForward } from './fastStage';
import { programStage, referenceAnalogForward } from './referenceTrial';
import {
  dacInput,
  type DeviceSamplers,
  type TrialOptions,
  type TrialResult,
  TrialScratch,
} from './trialCommon';

export { dacInput, TrialScratch };
export { fastPathStats, prepareTrials } from './fastStage';
export type { DeviceSamplers, LevelSampler, TrialOptions, TrialResult } from './trialCommon';

export function runTrial(
  plan: SimPlan,
  device: DeviceSamplers,
  trial: number,
  scratch = new TrialScratch(),
  opts: TrialOptions = {},
): TrialResult {
  const rng = streamFor(plan.seed, 'trial', trial);
  let x: Activations = plan.front;
  const clipRate: number[] = [];
  plan.stages.forEach((stage, s) => {
    if (stage.kind === 'digital') {
      x = runLayer(stage.layer, x);
      return;
    }
    const g = programStage(plan, device, stage, rng.child('program', s), scratch, opts);
    const noisy = !opts.nominal && device.readNoiseRelSigma > 0;
    const r =
      (noisy ? null : fastAnalogForward(plan, stage, s, g, x, scratch)) ??
      referenceAnalogForward(
        plan,
        stage,
        s,
        g,
        x,
        scratch,
        noisy ? { rng: rng.child('read', s), rel: device.readNoiseRelSigma } : null,
      );
    x = r.out;
    clipRate.push(r.clipRate);
  });
  const predicted = argmaxRows(x.data, sizeOf(x.shape));
  return { trial, accuracy: accuracyOf(predicted, plan.labels), clipRate };
}
