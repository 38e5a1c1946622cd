/**
 * One Monte-Carlo trial: program a fresh chip (draw every cell's conductance, draw faults), then run
 * the test set through it. Trial t's random stream depends only on (seed, t). Browser-safe.
 *
 * The stage loop and the programming of the chip are the reference's own code (runTrialWith; the random
 * draws and their order define results); the analog stages run on the fast path (fastStage.ts) where it
 * applies, else on the exact SIMD stage (exactStage.ts: an ideal ADC), else (read noise, no
 * WebAssembly SIMD) through the plain reference arithmetic (referenceTrial.ts). Every way the results are
 * bit-for-bit the reference's; test/sim-fastpath.test.ts checks that.
 */
import type { SimPlan } from './plan';
import { exactAnalogForward } from './exactStage';
import { fastAnalogForward } from './fastStage';
import { type AnalogForward, referenceAnalogForward, runTrialWith } from './referenceTrial';
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

/**
 * The fast path where it applies (no read noise, no ADC spread, a finite ADC, the kernel available), else
 * the exact SIMD stage (no read noise, no ADC spread), else the reference.
 */
const fastOrReferenceForward: AnalogForward = (plan, stage, s, g, x, scratch, readNoise, newChip, adc) =>
  (readNoise || adc
    ? null
    : (fastAnalogForward(plan, stage, s, g, x, scratch, newChip) ??
      exactAnalogForward(plan, stage, s, g, x, scratch))) ??
  referenceAnalogForward(plan, stage, s, g, x, scratch, readNoise, newChip, adc);

export function runTrial(
  plan: SimPlan,
  device: DeviceSamplers,
  trial: number,
  scratch = new TrialScratch(),
  opts: TrialOptions = {},
): TrialResult {
  return runTrialWith(fastOrReferenceForward, plan, device, trial, scratch, opts);
}
