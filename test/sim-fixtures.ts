/**
 * Shared fixtures for the simulator tests (not a test file itself): small MNIST subsets, networks built
 * programmatically, sigma-0 device cards and circuit cards, plans, and a probe for the chip's outputs.
 */
import { parseCircuitCard, type CircuitCard } from '../src/crossbar/circuit';
import { parseDeviceCard } from '../src/device/card';
import { resolveDevice } from '../src/device/model';
import { loadDataset, type Dataset } from '../src/data';
import {
  type Activation,
  type Conv2dLayer,
  type DenseLayer,
  type Layer,
  type NetworkDescription,
  tensor,
} from '../src/nn/description';
import * as forward from '../src/nn/forward';
import { buildPlan } from '../src/sim/buildPlan';
import type { AnalogStage, SimPlan } from '../src/sim/plan';
import type { RandomStream } from '../src/util/random';

let cached: { n: number; data: Dataset } | null = null;

/** The first n MNIST training and test images (pixels in [0, 1]). */
export function mnist(n: number): Dataset {
  if (!cached || cached.n !== n) cached = { n, data: loadDataset('mnist', { limit: n, testLimit: n }) };
  return cached.data;
}

/** A multilevel card with the given level means (siemens) and sigma 0 unless sigmas are given. */
export function multilevelCardJson(
  name: string,
  meansSiemens: number[],
  sigmasSiemens?: number[],
): Record<string, unknown> {
  return {
    name,
    kind: 'multilevel',
    source: { citation: 'test fixture', status: 'estimated' },
    vRead: '0.2 V',
    levels: meansSiemens.map((mean, k) => ({ mean, sigma: sigmasSiemens?.[k] ?? 0 })),
  };
}

export function circuit(fields: Record<string, unknown> = {}): CircuitCard {
  return parseCircuitCard(
    {
      name: 'test-circuit',
      description: 'test',
      tile: { rows: 128, cols: 128 },
      mapping: 'differential',
      dac: 'ideal',
      adc: { bits: 'ideal' },
      analogLayers: 'dense',
      ...fields,
    },
    'test circuit',
  );
}

/** rows x cols weights, each drawn uniformly from `values` (so every value is used for big layers). */
export function drawnWeights(shape: number[], values: number[], rng: RandomStream): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => values[rng.int(values.length)]);
}

export function dense(
  name: string,
  weights: Float32Array,
  rows: number,
  cols: number,
  activation: Activation,
  bias?: Float32Array,
): DenseLayer {
  return {
    kind: 'dense',
    name,
    weights: tensor([rows, cols], weights),
    bias: bias ? tensor([cols], bias) : null,
    activation,
    weightQuantization: { kind: 'float' },
  };
}

export function conv(
  name: string,
  weights: Float32Array,
  shape: [number, number, number, number],
  strides: [number, number],
  padding: 'valid' | 'same',
  bias?: Float32Array,
): Conv2dLayer {
  return {
    kind: 'conv2d',
    name,
    weights: tensor(shape, weights),
    bias: bias ? tensor([shape[3]], bias) : null,
    strides,
    padding,
    activation: 'relu',
    weightQuantization: { kind: 'float' },
  };
}

export function network(name: string, inputShape: number[], layers: Layer[]): NetworkDescription {
  return { format: 'xbarsim-network', version: 1, name, inputShape, input: {}, layers, meta: {} };
}

/**
 * Nearest-centroid-like linear classifier 784 -> 10 from the training images: column c is the mean image
 * of class c minus the mean image (about 70 % accurate, so accuracy changes are visible).
 */
export function templateWeights(data: Dataset): Float32Array {
  const { images, labels, count } = data.train;
  const sums = new Float64Array(784 * 10);
  const all = new Float64Array(784);
  const perClass = new Float64Array(10);
  for (let n = 0; n < count; n++) {
    perClass[labels[n]]++;
    for (let i = 0; i < 784; i++) {
      sums[i * 10 + labels[n]] += images[n * 784 + i];
      all[i] += images[n * 784 + i];
    }
  }
  const w = new Float32Array(784 * 10);
  for (let i = 0; i < 784; i++)
    for (let c = 0; c < 10; c++) w[i * 10 + c] = sums[i * 10 + c] / Math.max(1, perClass[c]) - all[i] / count;
  return w;
}

export interface PlanOptions {
  /** Replace the test labels (e.g. by the digital network's predictions). */
  labels?: Uint8Array;
  testCount?: number;
  seed?: number;
}

/** A plan for `desc` on a device card (JSON) and circuit, over the fixture's MNIST subset. */
export function planFor(
  desc: NetworkDescription,
  cardJson: unknown,
  circ: CircuitCard,
  data: Dataset,
  opts: PlanOptions = {},
): SimPlan {
  const card = parseDeviceCard(cardJson, 'test card');
  const count = opts.testCount ?? data.test.count;
  return buildPlan({
    desc,
    device: resolveDevice(card),
    deviceCard: card,
    circuit: circ,
    test: {
      images: data.test.images.subarray(0, count * 784),
      labels: opts.labels ?? data.test.labels.subarray(0, count),
      count,
    },
    calibration: { images: data.train.images, count: data.train.count },
    seed: opts.seed ?? 1,
  });
}

/** The digital network's predicted classes, as labels. */
export function digitalLabels(desc: NetworkDescription, data: Dataset, count = data.test.count): Uint8Array {
  return Uint8Array.from(forward.classify(desc, data.test.images.subarray(0, count * 784), count));
}

/** The network's final outputs (logits) as the digital forward pass computes them. */
export function digitalOutputs(
  desc: NetworkDescription,
  data: Dataset,
  count = data.test.count,
): Float32Array {
  return forward.runLayers(desc, forward.prepareInput(desc, data.test.images.subarray(0, count * 784), count))
    .data;
}

/**
 * The final outputs a trial computes before its argmax. A trial reports only accuracies, so this spies
 * on nn/forward's argmaxRows (which the trial calls on the last stage's outputs) for the duration of `run`.
 */
export function captureOutputs<T>(run: () => T): { result: T; outputs: Float32Array[] } {
  const outputs: Float32Array[] = [];
  const original = forward.argmaxRows;
  const spy = jest.spyOn(forward, 'argmaxRows').mockImplementation((v: Float32Array, width: number) => {
    outputs.push(Float32Array.from(v));
    return original(v, width);
  });
  try {
    const result = run();
    if (outputs.length === 0) throw new Error('captureOutputs: the trial did not call nn/forward argmaxRows');
    return { result, outputs };
  } finally {
    spy.mockRestore();
  }
}

/** Largest |a - b| over the largest |b|. */
export function relativeMaxError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

/** The plan's analog stages, in order. */
export function analogStages(plan: SimPlan): AnalogStage[] {
  return plan.stages.filter((s): s is AnalogStage => s.kind === 'analog');
}
