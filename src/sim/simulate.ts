/**
 * Monte-Carlo inference: digital references, the nominal chip, then `trials` freshly programmed chips.
 * The trial runner is injected (serial here; worker threads in the Node adapter).
 */
import type { NetworkDescription } from '../nn/description';
import { accuracyOf, classify } from '../nn/forward';
import { type Summary, summarize } from '../util/stats';
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
  cols: number;
  rowTiles: number;
  mapping: string;
  rmsWeightError: number;
  dac: string;
  adcBits: number | 'ideal';
  meanClipRate: number;
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
  analog: Summary;
  perTrial: TrialResult[];
  layers: LayerReport[];
  seconds: number;
}

export async function simulate(
  plan: SimPlan,
  refs: {
    float: NetworkDescription;
    quantized: NetworkDescription;
    test: { images: Float32Array; labels: Uint8Array; count: number };
  },
  trials: number,
  runner: TrialRunner = serialRunner,
  onResult?: (r: TrialResult) => void,
): Promise<SimulationResult> {
  const t0 = Date.now();
  const digital = (d: NetworkDescription) =>
    accuracyOf(classify(d, refs.test.images, refs.test.count), refs.test.labels);
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
    cols: s.cols,
    rowTiles: s.rowTiles.length,
    mapping: s.mapping,
    rmsWeightError: s.rmsWeightError,
    dac: s.dac.kind === 'bits' ? `${s.dac.bits} bits` : s.dac.kind,
    adcBits: s.adcBits ?? 'ideal',
    meanClipRate: perTrial.reduce((a, r) => a + r.clipRate[k], 0) / Math.max(1, perTrial.length),
  }));
  return {
    trials,
    seed: plan.seed,
    testImages: refs.test.count,
    floatAccuracy,
    quantizedAccuracy,
    nominalAccuracy: nominal.accuracy,
    analog: summarize(perTrial.map((r) => r.accuracy)),
    perTrial,
    layers,
    seconds: (Date.now() - t0) / 1000,
  };
}
