/**
 * Study `dense-resolution` (second source study): low-resolution dense heads of the `paper2:*` CNNs.
 * Conv layers stay float and digital; the dense layers run on hfo2-1t1r-igvva-8 crossbars (128-row
 * tiles, differential pairs, full-scale ADC). For every case (weights / inputs cut to a few bits,
 * binary and ternary heads trained with an STE, 1-bit inputs by an exponential fit) the record holds the
 * digital accuracy, the lossless ADC bits and Monte-Carlo chip accuracy with the ADC at lossless and
 * fewer bits. Bit accounting: denseResolutionCases.ts; protocol and results: docs/studies.md.
 */
import { withOverrides } from '../../crossbar/circuit';
import { loadCircuitCard } from '../../crossbar/loadCircuit';
import { loadDeviceCard } from '../../device/loadDevice';
import { resolveDevice } from '../../device/model';
import type { NetworkDescription, WeightedLayer } from '../../nn/description';
import { isWeighted } from '../../nn/description';
import { loadNetwork } from '../../nn/load';
import { expFits, type ExpFitReport } from '../../nn/evaluate';
import { layerInputs } from '../../nn/network';
import { fitExponential } from '../../nn/quantize';
import { losslessAdcBits } from '../../crossbar/adc';
import { buildPlan, withAdcBits } from '../../sim/buildPlan';
import { simulate, serialRunner, type TrialRunner } from '../../sim/simulate';
import { runTrialsInWorkers } from '../../sim/workerPool';
import type { ResultRecord } from '../results';
import { memoizedDigitalAccuracy } from '../simulateConfig';
import type { BitsFamily, Study, StudyConfig, StudyContext, StudyMode } from '../types';
import {
  CROSSBAR_ROWS,
  type DenseCase,
  type HeadTraining,
  adcSettings,
  caseInputBits,
  caseLabel,
  caseWeightBits,
  denseCases,
} from './denseResolutionCases';
import { type HeadData, headData, nonZeroSample, quantizeHead } from './denseResolutionHead';
import { writeDenseResolutionReport } from './denseResolutionReport';

const DEVICE = 'hfo2-1t1r-igvva-8';
/** 128 x 128 tiles, differential pairs, full-scale ADC range (what the lossless formula assumes), dense layers analog. */
const CIRCUIT = 'tile128-adc8';

export interface DenseResolutionPlan {
  datasets: string[];
  heads: string[];
  epochs: number;
  /** ADC bits simulated below the lossless resolution (0 = lossless). */
  adcOffsets: number[];
  /** Training images whose features calibrate input quantisers and converter ranges. */
  calibration: number;
  /** Non-zero dense-layer inputs kept in the record for the histogram. */
  histogramSample: number;
  cases: DenseCase[];
}

const ALL_HEADS = ['depth0', 'initial', 'depth2', 'depth3', 'width1', 'width2', 'width3'];

export function denseResolutionPlan(mode: StudyMode, family: BitsFamily = 'uniform'): DenseResolutionPlan {
  if (mode === 'quick')
    return {
      datasets: ['mnist'],
      heads: ['initial', 'width1'],
      epochs: 1,
      adcOffsets: [0, 3],
      calibration: 500,
      histogramSample: 4000,
      cases: denseCases(family),
    };
  // Full: the source study's seven heads on both datasets, float / binary / ternary each (42 trainings);
  // 10 epochs keeps that feasible on a small machine (see docs/studies.md).
  // The fixed:B reading is the source study's own, which ran on MNIST only.
  return {
    datasets: family === 'fixed' ? ['mnist'] : ['mnist', 'fashion-mnist'],
    heads: ALL_HEADS,
    epochs: 10,
    adcOffsets: [0, 1, 2, 4],
    calibration: 1000,
    histogramSample: 5000,
    cases: denseCases(family),
  };
}

export interface AdcResult {
  adcBits: number | 'ideal';
  belowLossless: number | null;
  nominal: number;
  mean: number;
  std: number;
  ci95: [number, number];
  min: number;
  max: number;
  perTrial: number[];
  /** Share of ADC conversions clipped at full scale, per dense layer. */
  clipRate: number[];
}

export interface LayerBits {
  layer: string;
  rows: number;
  /** Rows one tile column sums: min(fan-in, 128). */
  d: number;
  weightBits: number;
  inputBits: number;
  losslessBits: number;
}

export type InputFit = ExpFitReport;

export interface DenseResolutionRecord {
  dataset: string;
  head: string;
  arch: string;
  case: string;
  label: string;
  group: string;
  training: HeadTraining;
  weights: string;
  input: string;
  weightBits: number;
  inputBits: number;
  dacBits: number;
  /** The largest lossless resolution over the dense layers: one ADC resolution serves them all. */
  losslessBits: number;
  layers: LayerBits[];
  testImages: number;
  /** TF.js test accuracy recorded at training. */
  modelTestAccuracy: number | null;
  /** Digital accuracy of the trained network (float head; binary/ternary for STE heads). */
  floatAccuracy: number;
  /** Digital accuracy with the case's quantisers. */
  digitalAccuracy: number;
  adc: AdcResult[];
  fits: InputFit[];
  /** First dense layer's non-zero calibration inputs and their exponential fit (w3-expfit-mean case only). */
  inputHistogram?: {
    layer: string;
    total: number;
    nonZero: number;
    x0: number;
    beta: number;
    sample: number[];
  };
  seconds: number;
}

// Features of the conv front are shared by every case of a trained model; configurations run in model
// order, so a small cache holds the current model's.
const headCache = new Map<string, HeadData>();
const HEAD_CACHE_SIZE = 2;

async function headFor(
  ctx: StudyContext,
  plan: DenseResolutionPlan,
  dataset: string,
  head: string,
  training: HeadTraining,
): Promise<HeadData> {
  const dir = await ctx.model({
    dataset,
    arch: `paper2:${head}`,
    epochs: plan.epochs,
    weights: training,
    weightLayers: 'dense',
    seed: ctx.seed,
  });
  const data = ctx.dataset(dataset);
  const key = `${dir}|${data.name}|${data.test.count}|${data.train.count}|${plan.calibration}`;
  let hd = headCache.get(key);
  if (!hd) {
    const desc = await loadNetwork(dir);
    ctx.log(
      `conv features of paper2:${head} (${training}) on ${data.test.count} test and ${Math.min(plan.calibration, data.train.count)} calibration images`,
    );
    hd = headData(desc, data.test, data.train, plan.calibration);
    if (headCache.size >= HEAD_CACHE_SIZE) headCache.delete(headCache.keys().next().value!);
    headCache.set(key, hd);
  }
  return hd;
}

function denseLayers(desc: NetworkDescription): WeightedLayer[] {
  return desc.layers.filter((l): l is WeightedLayer => isWeighted(l) && l.kind === 'dense');
}

/** Lossless bits of each dense layer for a case (d = min(fan-in, 128)). */
function layerBits(desc: NetworkDescription, c: DenseCase): LayerBits[] {
  return denseLayers(desc).map((l) => {
    const rows = l.weights.shape[0];
    const d = Math.min(rows, CROSSBAR_ROWS);
    const w = caseWeightBits(c);
    const i = caseInputBits(c);
    return { layer: l.name, rows, d, weightBits: w, inputBits: i, losslessBits: losslessAdcBits(d, w, i) };
  });
}

/**
 * Worker threads pay off only for several trials: each call starts its workers and copies the plan to
 * them, which costs more than the second core saves on two or three short trials (quick mode).
 */
function runnerFor(workers: number, trials: number): TrialRunner {
  return workers <= 1 || trials < 2 * workers
    ? serialRunner
    : (plan, list, onResult) => runTrialsInWorkers(plan, list, workers, onResult);
}

/** Run one case on a model's head: digital accuracies, lossless bits, Monte-Carlo over the ADC settings. */
async function runCase(
  ctx: Pick<StudyContext, 'trials' | 'seed' | 'workers'>,
  hd: HeadData,
  c: DenseCase,
  plan: Pick<DenseResolutionPlan, 'adcOffsets' | 'histogramSample'>,
): Promise<Omit<DenseResolutionRecord, 'dataset' | 'head' | 'arch' | 'modelTestAccuracy'>> {
  const t0 = Date.now();
  const q = quantizeHead(hd.head, c, hd.calibration);
  const layers = layerBits(q, c);
  const lossless = Math.max(...layers.map((l) => l.losslessBits));
  const deviceCard = loadDeviceCard(DEVICE);
  const device = resolveDevice(deviceCard);
  const card = loadCircuitCard(CIRCUIT);
  const runner = runnerFor(ctx.workers, ctx.trials);
  const adc: AdcResult[] = [];
  let floatAccuracy = NaN;
  let digitalAccuracy = NaN;
  const settings = adcSettings(lossless, plan.adcOffsets);
  // One mapping for all settings: built at the first finite resolution, the others derived from it.
  const firstBits = settings.find((s) => s.adcBits !== 'ideal')!.adcBits;
  const basePlan = buildPlan({
    desc: q,
    device,
    deviceCard,
    circuit: withOverrides(card, { adcBits: firstBits, dacBits: caseInputBits(c) }),
    test: hd.test,
    calibration: hd.calibration,
    seed: ctx.seed,
  });
  for (const s of settings) {
    const simPlan = withAdcBits(basePlan, s.adcBits === 'ideal' ? null : s.adcBits);
    const refs = {
      float: hd.head,
      quantized: q,
      test: hd.test,
      digitalAccuracy: memoizedDigitalAccuracy(hd, 'conv features', hd.test),
    };
    const r = await simulate(simPlan, refs, ctx.trials, runner);
    floatAccuracy = r.floatAccuracy;
    digitalAccuracy = r.quantizedAccuracy;
    adc.push({
      ...s,
      nominal: r.nominalAccuracy,
      mean: r.analog.mean,
      std: r.analog.std,
      ci95: r.analog.ci95,
      min: r.analog.min,
      max: r.analog.max,
      perTrial: r.perTrial.map((t) => t.accuracy),
      clipRate: r.layers.map((l) => l.meanClipRate),
    });
  }
  // Only the dense layers carry input quantisers (the conv front stays float).
  const fits = expFits(q);
  const record: Omit<DenseResolutionRecord, 'dataset' | 'head' | 'arch' | 'modelTestAccuracy'> = {
    case: c.id,
    label: caseLabel(c),
    group: c.group,
    training: c.training,
    weights: c.weights,
    input: c.input,
    weightBits: caseWeightBits(c),
    inputBits: caseInputBits(c),
    dacBits: caseInputBits(c),
    losslessBits: lossless,
    layers,
    testImages: hd.test.count,
    floatAccuracy,
    digitalAccuracy,
    adc,
    fits,
    seconds: 0,
  };
  if (c.id === 'w3-expfit-mean') {
    // The float model's first dense layer: its inputs are the conv features (non-zero after ReLU and pooling).
    const first = hd.head.layers.findIndex((l) => l.kind === 'dense');
    const inputs = layerInputs(hd.head, first, hd.calibration.images, hd.calibration.count);
    const fit = fitExponential(inputs);
    record.inputHistogram = {
      layer: hd.head.layers[first].name,
      total: inputs.length,
      nonZero: fit.count,
      x0: fit.x0,
      beta: fit.beta,
      sample: nonZeroSample(inputs, plan.histogramSample),
    };
  }
  record.seconds = (Date.now() - t0) / 1000;
  return record;
}

export function caseKey(dataset: string, head: string, c: DenseCase): string {
  return `${dataset}/${head}/${c.id}`;
}

/** Configurations in model order (dataset, head, training), so each model's conv features are computed once. */
export function denseResolutionConfigs(plan: DenseResolutionPlan): StudyConfig[] {
  const configs: StudyConfig[] = [];
  for (const dataset of plan.datasets)
    for (const head of plan.heads)
      for (const training of ['float', 'binary', 'ternary'] as const)
        for (const c of plan.cases.filter((x) => x.training === training))
          configs.push({
            key: caseKey(dataset, head, c),
            group: `${dataset}/${head}/${training}`,
            async run(ctx: StudyContext) {
              const hd = await headFor(ctx, plan, dataset, head, training);
              const r = await runCase(ctx, hd, c, plan);
              const acc = hd.head.meta.testAccuracy;
              const record: DenseResolutionRecord = {
                dataset,
                head,
                arch: `paper2:${head}`,
                modelTestAccuracy: typeof acc === 'number' ? acc : null,
                ...r,
              };
              return record;
            },
          });
  return configs;
}

export const denseResolutionStudy: Study = {
  name: 'dense-resolution',
  description: 'paper2 CNNs: low-resolution dense heads on HfO2 crossbars, lossless ADC bits and fewer',
  defaultTrials: { quick: 2, full: 10 },
  // Quick: 3000 training images (1 epoch), 500 test images; the Monte-Carlo cost is trials x test images.
  data: { quick: { trainLimit: 3000, testLimit: 500 }, full: {} },
  params: ['quantizer'],
  configurations: (ctx) => denseResolutionConfigs(denseResolutionPlan(ctx.mode, ctx.params.quantizer)),
  report: (records: ResultRecord[], out: string) =>
    writeDenseResolutionReport(records as unknown as (DenseResolutionRecord & ResultRecord)[], out),
};
