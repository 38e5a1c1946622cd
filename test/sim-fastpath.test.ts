/**
 * The fast trial (WebAssembly SIMD column sums in float32 with exact fallbacks) must give bit-for-bit
 * the outputs, accuracies and ADC clipping rates of the plain reference trial, for a fixed seed.
 */
import { parseCircuitCard, type CircuitCard } from '../src/crossbar/circuit';
import { loadDeviceCard } from '../src/device/loadDevice';
import { resolveDevice } from '../src/device/model';
import { loadDataset } from '../src/data';
import type { Dataset } from '../src/data';
import { type Layer, type NetworkDescription, tensor } from '../src/nn/description';
import * as forward from '../src/nn/forward';
import { buildPlan } from '../src/sim/buildPlan';
import type { SimPlan } from '../src/sim/plan';
import { runReferenceTrial } from '../src/sim/referenceTrial';
import { samplersForPlan } from '../src/sim/samplers';
import { fastPathStats, runTrial, TrialScratch } from '../src/sim/trial';
import type { TrialOptions, TrialResult } from '../src/sim/trialCommon';
import { streamFor } from '../src/util/random';
import { runTrialsInWorkers } from '../src/sim/workerPool';

const TEST_IMAGES = 300; // three chunks of input rows, the last one partial
let data: Dataset;

beforeAll(() => {
  data = loadDataset('mnist', { limit: 500, testLimit: TEST_IMAGES });
});

function weights(rows: number, cols: number, sigma: number, label: string): Float32Array {
  const rng = streamFor(7, 'fastpath-weights', label);
  return Float32Array.from({ length: rows * cols }, () => sigma * rng.normal());
}

function dense(
  name: string,
  rows: number,
  cols: number,
  activation: 'relu' | 'linear',
  sigma: number,
): Layer {
  return {
    kind: 'dense',
    name,
    weights: tensor([rows, cols], weights(rows, cols, sigma, name)),
    bias: tensor([cols], weights(1, cols, 0.05, `${name}-bias`)),
    activation,
    weightQuantization: { kind: 'float' },
  };
}

/** MLP 784-48-10 on inputs binarised at 0.1, as in the W1 benchmark but smaller. */
const mlp: NetworkDescription = {
  format: 'xbarsim-network',
  version: 1,
  name: 'fastpath-mlp',
  inputShape: [784],
  input: { binarizeThreshold: 0.1 },
  layers: [dense('hidden', 784, 48, 'relu', 0.05), dense('out', 48, 10, 'linear', 0.2)],
  meta: {},
};

/** A small CNN whose conv layer also runs on tiles (im2col rows), inputs not binarised. */
const cnn: NetworkDescription = {
  format: 'xbarsim-network',
  version: 1,
  name: 'fastpath-cnn',
  inputShape: [28, 28, 1],
  input: {},
  layers: [
    {
      kind: 'conv2d',
      name: 'conv',
      weights: tensor([3, 3, 1, 4], weights(9, 4, 0.3, 'conv')),
      bias: null,
      strides: [2, 2],
      padding: 'valid',
      activation: 'relu',
      weightQuantization: { kind: 'float' },
    },
    { kind: 'flatten', name: 'flatten' },
    dense('out', 13 * 13 * 4, 10, 'linear', 0.05),
  ],
  meta: {},
};

function circuit(fields: Record<string, unknown>): CircuitCard {
  return parseCircuitCard(
    {
      name: 'fastpath-circuit',
      description: 'test',
      tile: { rows: 128, cols: 128 },
      mapping: 'differential',
      dac: { bits: 8 },
      adc: { bits: 8, range: 'full-scale' },
      analogLayers: 'dense',
      ...fields,
    },
    'test circuit',
  );
}

function plan(
  desc: NetworkDescription,
  deviceExtra: Record<string, unknown>,
  circ: CircuitCard,
  seed = 3,
): SimPlan {
  const card = loadDeviceCard('hfo2-1t1r-igvva-8');
  const modified = { ...card, ...deviceExtra };
  return buildPlan({
    desc,
    device: resolveDevice(modified),
    deviceCard: modified,
    circuit: circ,
    test: data.test,
    calibration: { images: data.train.images, count: data.train.count },
    seed,
  });
}

/** Run a trial, capturing the final outputs it classifies. */
function outputsOf(run: () => TrialResult): { result: TrialResult; outputs: Float32Array } {
  let outputs: Float32Array | null = null;
  const original = forward.argmaxRows;
  const spy = jest.spyOn(forward, 'argmaxRows').mockImplementation((v: Float32Array, width: number) => {
    outputs = Float32Array.from(v);
    return original(v, width);
  });
  try {
    const result = run();
    return { result, outputs: outputs! };
  } finally {
    spy.mockRestore();
  }
}

/** Fast and reference trials agree exactly; returns the fast path's statistics. */
function expectSame(p: SimPlan, trials: number[], opts: TrialOptions = {}): ReturnType<typeof fastPathStats> {
  const device = samplersForPlan(p);
  const fastScratch = new TrialScratch();
  const refScratch = new TrialScratch();
  for (const t of trials) {
    const fast = outputsOf(() => runTrial(p, device, t, fastScratch, opts));
    const ref = outputsOf(() => runReferenceTrial(p, device, t, refScratch, opts));
    expect(fast.result).toEqual(ref.result);
    // Bit-for-bit: compare the float32 outputs by their bits (so -0 and NaN would count too).
    expect(new Uint32Array(fast.outputs.buffer)).toEqual(new Uint32Array(ref.outputs.buffer));
  }
  return fastPathStats(fastScratch);
}

test('differential mapping, 7 row tiles, 8-bit DAC and ADC: the fast path is used and agrees bit for bit', () => {
  const stats = expectSame(plan(mlp, {}, circuit({})), [0, 1, 2]);
  expect(stats.fastStages).toBe(6); // both analog stages of 3 trials
  expect(stats.exactConversions).toBeGreaterThan(0); // the float64 fallback ran too
});

test('tiles that do not divide the layer (100 x 40), offset mapping with reference columns, binary DAC', () => {
  const circ = circuit({ tile: { rows: 100, cols: 40 }, mapping: 'offset', dac: 'binary' });
  const p = plan(mlp, {}, circ);
  const first = p.stages.find((s) => s.kind === 'analog');
  expect(first?.kind === 'analog' && first.rowTiles.length).toBe(8);
  expect(expectSame(p, [0, 5]).fastStages).toBe(4);
});

test('stuck-at faults and a calibrated ADC range small enough to clip', () => {
  const circ = circuit({ adc: { bits: 6, range: { calibrated: 60 } } });
  const p = plan(mlp, { faults: { stuckAtOn: 0.02, stuckAtOff: 0.05 } }, circ);
  const device = samplersForPlan(p);
  const clip = runReferenceTrial(p, device, 0).clipRate;
  expect(clip[0]).toBeGreaterThan(0.01);
  expect(expectSame(p, [0, 1]).fastStages).toBe(4);
});

test('read noise on: same results (those stages run through the reference arithmetic)', () => {
  const p = plan(mlp, { readNoise: { relativeSigma: 0.05 } }, circuit({}));
  expect(expectSame(p, [0, 1]).fastStages).toBe(0);
  // The nominal chip draws no read noise, so it takes the fast path.
  expect(expectSame(p, [-1], { nominal: true }).fastStages).toBe(2);
});

test('a convolution on tiles (im2col rows) and a 2704-row dense layer, 12-bit ADC', () => {
  const p = plan(cnn, {}, circuit({ analogLayers: 'all', adc: { bits: 12, range: 'full-scale' } }), 5);
  expect(expectSame(p, [0]).fastStages).toBe(2);
});

test('offset mapping with an exact (trimmed) reference: weights on exactly 8 values, rank order', () => {
  const values = [-0.35, -0.25, -0.15, -0.05, 0.05, 0.15, 0.25, 0.35];
  const rng = streamFor(7, 'fastpath-ranked');
  const ranked: NetworkDescription = {
    ...mlp,
    layers: mlp.layers.map((l) =>
      l.kind === 'dense'
        ? {
            ...l,
            weights: tensor(
              l.weights.shape,
              Float32Array.from(l.weights.data, () => values[rng.int(8)]),
            ),
          }
        : l,
    ),
  };
  const p = plan(ranked, {}, circuit({ mapping: 'offset' }));
  const analog = p.stages.filter((s) => s.kind === 'analog');
  expect(analog.every((s) => s.kind === 'analog' && s.refExactSiemens !== null)).toBe(true);
  expect(expectSame(p, [0, 1]).fastStages).toBe(4);
});

test('a later stage with an input quantiser (DAC input computed first, lists built per chunk)', () => {
  const [hidden, out] = mlp.layers as [Layer, Layer];
  const quantised: NetworkDescription = {
    ...mlp,
    layers: [
      hidden,
      {
        ...(out as Extract<Layer, { kind: 'dense' }>),
        inputQuantizer: { kind: 'uniform', bits: 3, max: 1.5 },
      },
    ],
  };
  expect(expectSame(plan(quantised, {}, circuit({ dac: { bits: 4 } })), [0, 1]).fastStages).toBe(4);
});

test('worker threads (1 or 2, fast path, shared test inputs) give the reference results', async () => {
  const p = plan(mlp, { faults: { stuckAtOff: 0.01 } }, circuit({}));
  const device = samplersForPlan(p);
  const reference = [0, 1, 2].map((t) => runReferenceTrial(p, device, t));
  expect(await runTrialsInWorkers(p, [0, 1, 2], 2)).toEqual(reference);
  expect(await runTrialsInWorkers(p, [2, 0], 1)).toEqual([reference[2], reference[0]]);
});

test('different seeds give different chips (the comparison above is not vacuous)', () => {
  const device = samplersForPlan(plan(mlp, {}, circuit({})));
  const a = outputsOf(() => runTrial(plan(mlp, {}, circuit({}), 3), device, 0)).outputs;
  const b = outputsOf(() => runTrial(plan(mlp, {}, circuit({}), 4), device, 0)).outputs;
  expect(a).not.toEqual(b);
});
