/**
 * Monte-Carlo inference: digital references, the nominal chip, then `trials` freshly programmed chips.
 * The trial runner is injected (serial here; worker threads in the Node adapter).
 */
import type { SliceSpec } from '../crossbar/slicing';
import type { NetworkDescription } from '../nn/description';
import { accuracyOf, classify } from '../nn/forward';
import { type Summary, summarize, wilsonInterval } from '../util/stats';
import type { SimPlan } from './plan';
import { runTrial, type TrialResult, TrialScratch } from './trial';
import { samplersForPlan } from './samplers';

export type TrialRunner = (
  plan: SimPlan,
  trials: number[],
  onResult?: (r: TrialResult) => void,
) => Promise<TrialResult[]>;

export const serialRunner: TrialRunner = async (plan, trials, onResult) => {
  const device = samplersForPlan(plan);
  const scratch = new TrialScratch();
  return trials.map((t) => {
    const r = runTrial(plan, device, t, scratch);
    onResult?.(r);
    return r;
  });
};

export interface LayerReport {
  name: string;
  rows: number;
  /** The layer's outputs. */
  cols: number;
  rowTiles: number;
  mapping: string;
  /** Bit slicing: slices of bitsPerCell bits per weight. */
  slicing?: SliceSpec;
  rmsWeightError: number;
  dac: string;
  adcBits: number | 'ideal';
  meanClipRate: number;
  /** With parasitics: the nominal chip's mean relative column-current error against ideal wires. */
  irDropError?: number;
}

export interface SimulationResult {
  trials: number;
  seed: number;
  testImages: number;
  /** Digital accuracy of the network before any weight quantiser. */
  floatAccuracy: number;
  /** Digital accuracy of the network as mapped (after its quantisers). */
  quantizedAccuracy: number;
  /** The chip with every cell at its level mean, no faults, no read noise. */
  nominalAccuracy: number;
  /**
   * Wilson 95 % interval of the nominal chip's accuracy over the test images (binomial: one chip), as
   * against analog.ci95, the Student-t interval of the mean over chips.
   */
  nominalWilson95: [number, number];
  analog: Summary;
  perTrial: TrialResult[];
  layers: LayerReport[];
  seconds: number;
}

export interface TestSet {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

/** The digital networks a simulation is compared with, and the test set. */
export interface DigitalRefs {
  float: NetworkDescription;
  quantized: NetworkDescription;
  test: TestSet;
  /**
   * Test accuracy of a digital network; defaults to digitalAccuracy. A study that simulates one network
   * under many cards passes a memoised one: the digital forward of a CNN on 10k images costs as much
   * as several chips.
   */
  digitalAccuracy?: (d: NetworkDescription) => number;
}

/** Test-set accuracy of the digital network d. */
export function digitalAccuracy(d: NetworkDescription, test: TestSet): number {
  return accuracyOf(classify(d, test.images, test.count), test.labels);
}

export async function simulate(
  plan: SimPlan,
  refs: DigitalRefs,
  trials: number,
  runner: TrialRunner = serialRunner,
  onResult?: (r: TrialResult) => void,
): Promise<SimulationResult> {
  const t0 = Date.now();
  const digital = refs.digitalAccuracy ?? ((d: NetworkDescription) => digitalAccuracy(d, refs.test));
  const floatAccuracy = digital(refs.float);
  const quantizedAccuracy = refs.quantized === refs.float ? floatAccuracy : digital(refs.quantized);
  const nominal = runTrial(plan, samplersForPlan(plan), -1, new TrialScratch(), { nominal: true });
  const perTrial = await runner(
    plan,
    Array.from({ length: trials }, (_, t) => t),
    onResult,
  );
  const analogStages = plan.stages.filter((s) => s.kind === 'analog');
  const layers = analogStages.map((s, k): LayerReport => ({
    name: s.layerName,
    rows: s.rows,
    cols: s.outCols,
    rowTiles: s.rowTiles.length,
    mapping: s.mapping,
    ...(s.slicing ? { slicing: s.slicing } : {}),
    rmsWeightError: s.rmsWeightError,
    dac: s.dac.kind === 'bits' ? `${s.dac.bits} bits` : s.dac.kind,
    adcBits: s.adcBits ?? 'ideal',
    meanClipRate: perTrial.reduce((a, r) => a + r.clipRate[k], 0) / Math.max(1, perTrial.length),
    ...(s.parasitics ? { irDropError: s.parasitics.meanRelCurrentError } : {}),
  }));
  return {
    trials,
    seed: plan.seed,
    testImages: refs.test.count,
    floatAccuracy,
    quantizedAccuracy,
    nominalAccuracy: nominal.accuracy,
    nominalWilson95: wilsonInterval(Math.round(nominal.accuracy * refs.test.count), refs.test.count),
    analog: summarize(
      perTrial.map((r) => r.accuracy),
      [0, 1],
    ),
    perTrial,
    layers,
    seconds: (Date.now() - t0) / 1000,
  };
}
