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
import { BLOCK_BYTES_PER_ROW, BLOCK_COLS, createKernel } from '../src/sim/simdKernel';

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

test('tiles that do not divide the layer (90 x 40: row groups of 4 left partial), offset mapping, binary DAC', () => {
  const circ = circuit({ tile: { rows: 90, cols: 40 }, mapping: 'offset', dac: 'binary' });
  const p = plan(mlp, {}, circ);
  const first = p.stages.find((s) => s.kind === 'analog');
  expect(first?.kind === 'analog' && first.rowTiles.length).toBe(9);
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

test('a 16-bit ADC (code boundaries 256 times denser): many sums near a boundary, all resolved exactly', () => {
  const stats = expectSame(plan(mlp, {}, circuit({ adc: { bits: 16, range: 'full-scale' } })), [0, 1]);
  expect(stats.fastStages).toBe(4);
  expect(stats.exactConversions).toBeGreaterThan(1000);
});

test('read noise on: same results (those stages run through the reference arithmetic)', () => {
  const p = plan(mlp, { readNoise: { relativeSigma: 0.05 } }, circuit({}));
  expect(expectSame(p, [0, 1]).fastStages).toBe(0);
  // The nominal chip draws no read noise, so it takes the fast path.
  expect(expectSame(p, [-1], { nominal: true }).fastStages).toBe(2);
});

test('ideal ADC: the exact SIMD stage takes those stages and agrees bit for bit', () => {
  const ideal = { adc: { bits: 'ideal' } };
  const stats = expectSame(plan(mlp, {}, circuit(ideal)), [0, 1]);
  expect(stats).toMatchObject({ fastStages: 0, exactStages: 4 });
  const offset = expectSame(plan(mlp, {}, circuit({ ...ideal, mapping: 'offset', dac: 'ideal' })), [0]);
  expect(offset.exactStages).toBe(2);
  // The convolution on tiles: 169 patch rows per image, so its rows go in several passes over the tiles.
  const conv = expectSame(plan(cnn, {}, circuit({ ...ideal, analogLayers: 'all' }), 5), [0]);
  expect(conv.exactStages).toBe(2);
});

test('bit slicing (2 slices of 3 bits, a range per slice), a convolution on tiles: every path agrees bit for bit', () => {
  const sliced = { analogLayers: 'all', weightSlices: 2, bitsPerCell: 3 };
  const fast = expectSame(
    plan(cnn, {}, circuit({ ...sliced, adc: { bits: 8, range: { calibrated: 99 } } }), 5),
    [0],
  );
  expect(fast.fastStages).toBe(2);
  const exact = expectSame(plan(cnn, {}, circuit({ ...sliced, adc: { bits: 'ideal' } }), 5), [0]);
  expect(exact.exactStages).toBe(2);
});

test('a convolution on tiles (im2col rows) and a 2704-row dense layer, 12-bit ADC', () => {
  const p = plan(cnn, {}, circuit({ analogLayers: 'all', adc: { bits: 12, range: 'full-scale' } }), 5);
  expect(expectSame(p, [0]).fastStages).toBe(2);
});

/** Two convolutions on tiles: the second's patches are gathered from its input images (same padding, stride 2). */
const cnn2: NetworkDescription = {
  ...cnn,
  name: 'fastpath-cnn2',
  layers: [
    cnn.layers[0],
    { kind: 'maxpool2d', name: 'pool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    {
      kind: 'conv2d',
      name: 'conv2',
      weights: tensor([3, 3, 4, 6], weights(36, 6, 0.3, 'conv2')),
      bias: tensor([6], weights(1, 6, 0.05, 'conv2-bias')),
      strides: [2, 2],
      padding: 'same',
      activation: 'relu',
      weightQuantization: { kind: 'float' },
    },
    { kind: 'flatten', name: 'flatten' },
    dense('out', 3 * 3 * 6, 10, 'linear', 0.2),
  ],
};

test.each([
  ['8-bit DAC, differential', { dac: { bits: 8 } }],
  [
    'binary DAC, offset mapping, calibrated ADC range',
    { dac: 'binary', mapping: 'offset', adc: { bits: 6, range: { calibrated: 90 } } },
  ],
])('a second convolution on tiles (patches gathered from its inputs, zero padding), %s', (_name, fields) => {
  const p = plan(cnn2, {}, circuit({ analogLayers: 'all', ...fields }), 5);
  expect(p.stages.filter((s) => s.kind === 'analog' && s.conv).length).toBe(2);
  expect(expectSame(p, [0, 1]).fastStages).toBe(6);
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

describe('a trial runs the test set in chunks of images, and the chunk size changes nothing', () => {
  // Whole (300), the kernel's row chunk (128, uneven), odd (7) and single images, each with a fresh
  // scratch and with one scratch reused across chunk sizes and trials.
  const sizes = [300, 128, 7, 1];
  const cases: Array<[string, () => SimPlan]> = [
    ['MLP, fast path with cached binary inputs', () => plan(mlp, {}, circuit({}))],
    [
      'MLP with read noise (reference arithmetic, one noise stream per stage)',
      () => plan(mlp, { readNoise: { relativeSigma: 0.05 } }, circuit({})),
    ],
    [
      'CNN with its convolution on tiles',
      () => plan(cnn, {}, circuit({ analogLayers: 'all', adc: { bits: 6, range: { calibrated: 90 } } }), 5),
    ],
  ];
  test.each(cases)('%s', (_name, make) => {
    const p = make();
    const device = samplersForPlan(p);
    const shared = new TrialScratch();
    for (const trial of [0, 1]) {
      const whole = outputsOf(() => runTrial(p, device, trial, new TrialScratch(), { chunkImages: 300 }));
      for (const chunkImages of sizes) {
        for (const scratch of [new TrialScratch(), shared]) {
          const chunked = runTrial(p, device, trial, scratch, { chunkImages });
          expect(chunked).toEqual(whole.result);
          expect(runReferenceTrial(p, device, trial, new TrialScratch(), { chunkImages })).toEqual(
            whole.result,
          );
        }
      }
    }
  });
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

test('kernel: every code it reports as certain equals the float64 reference code, clipping included', () => {
  const k = createKernel();
  expect(k).not.toBeNull();
  const kernel = k!;
  const rows = 128;
  const blocks = 2;
  const cols = blocks * BLOCK_COLS;
  const inputs = 256;
  const vRead = 0.2;
  const at = {
    g: 1 << 16,
    k: 1 << 20,
    starts: (1 << 20) + 4096,
    offs: 1 << 21,
    u: 1 << 22,
    codes: 1 << 23,
    list: (1 << 23) + (1 << 20),
    clip: (1 << 23) + (2 << 20),
  };
  kernel.mem.grow(200);
  const f32 = new Float32Array(kernel.mem.buffer);
  const i32 = new Int32Array(kernel.mem.buffer);
  const rng = streamFor(11, 'kernel-test');
  const g = Float32Array.from({ length: rows * cols }, () => 50e-6 + 175e-6 * rng.uniform()); // row-major
  for (let b = 0; b < blocks; b++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < BLOCK_COLS; c++)
        f32[(at.g >> 2) + (b * rows + r) * BLOCK_COLS + c] = g[r * cols + b * BLOCK_COLS + c];
  let wrong = 0;
  let certain = 0;
  for (const [steps, weighted] of [
    [255, 0],
    [65535, 0],
    [65535, 1],
    [4095, 1],
  ]) {
    // Full scale per column; every fourth column's range is 3 times too small, so it clips often.
    const full = Float64Array.from(
      { length: cols },
      (_, p) => (rows * 225e-6 * vRead) / (p % 4 === 0 ? 3 * 4 : 4),
    );
    for (let p = 0; p < cols; p++) f32[(at.k >> 2) + p] = (vRead * steps) / full[p];
    let e = 0;
    const lists: number[][] = [];
    for (let n = 0; n < inputs; n++) {
      i32[(at.starts >> 2) + n] = e;
      const density = rng.uniform();
      const active: number[] = [];
      for (let r = 0; r < rows; r++) if (rng.uniform() < density) active.push(r);
      for (const r of active) {
        i32[(at.offs >> 2) + e] = r * BLOCK_BYTES_PER_ROW;
        f32[(at.u >> 2) + e] = weighted ? Math.max(1, Math.round(255 * rng.uniform())) / 255 : 1;
        e++;
      }
      lists.push(active);
    }
    i32[(at.starts >> 2) + inputs] = e;
    i32[at.clip >> 2] = 0;
    const rhoA = 2 * 1.03 * 2 ** -24;
    const rhoB = 2 * (3 * 2 ** -24 + (rows + 3) * 2 ** -52);
    const eAbs = 16 * 2 ** (Math.ceil(Math.log2(steps + 1)) - 24);
    // prettier-ignore
    const ambiguous = kernel.accumulateCodes(at.g, blocks, rows * BLOCK_BYTES_PER_ROW, at.starts, at.offs, at.u, 0, inputs, at.codes, cols * 4, weighted, at.k, rhoA, rhoB, eAbs, steps, at.list, at.clip);
    let sureClips = 0;
    let listed = 0;
    for (let n = 0; n < inputs; n++) {
      for (let p = 0; p < cols; p++) {
        let sum = 0;
        for (let j = i32[(at.starts >> 2) + n], end = i32[(at.starts >> 2) + n + 1]; j < end; j++)
          sum += f32[(at.u >> 2) + j] * g[lists[n][j - i32[(at.starts >> 2) + n]] * cols + p];
        let i = sum * vRead;
        const clipped = i > full[p];
        if (clipped) i = full[p];
        const reference = Math.round((i / full[p]) * steps);
        const code = i32[(at.codes >> 2) + n * cols + p];
        if (code === -1) listed++;
        else {
          certain++;
          if (code !== reference) wrong++;
          if (clipped) sureClips++;
        }
      }
    }
    expect(ambiguous).toBe(listed);
    expect(i32[at.clip >> 2]).toBe(sureClips);
    expect(sureClips).toBeGreaterThan(0);
  }
  expect(certain).toBeGreaterThan(50000);
  expect(wrong).toBe(0);
});

test('kernel: a sum whose every float32 addition rounds up (error near the bound) never gets a wrong certain code', () => {
  const kernel = createKernel()!;
  kernel.mem.grow(20);
  const f32 = new Float32Array(kernel.mem.buffer);
  const i32 = new Int32Array(kernel.mem.buffer);
  const rows = 128;
  const steps = 65535;
  const vRead = 0.2;
  const at = {
    g: 1 << 16,
    k: 1 << 19,
    starts: (1 << 19) + 1024,
    offs: (1 << 19) + 2048,
    codes: 1 << 20,
    list: (1 << 20) + 4096,
    clip: (1 << 20) + 8192,
  };
  // Row 0 holds 2^-12; every other row 0.5 ulp(2^-12) (1 + 2^-10): each float32 addition rounds up, so the
  // float32 sum ends about 127 half-ulps (127 u relative) above the float64 one.
  const g0 = 2 ** -12;
  const t = 2 ** -36 * (1 + 2 ** -10);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < BLOCK_COLS; c++) f32[(at.g >> 2) + r * BLOCK_COLS + c] = r === 0 ? g0 : t;
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += r === 0 ? g0 : Math.fround(t);
  // Column c: full scale chosen so that the reference code's x is 20000.5 + delta_c, delta_c in [-4, 4].
  const full = Float64Array.from({ length: BLOCK_COLS }, (_, c) =>
    Math.fround((sum * vRead * steps) / (20000.5 - 4 + (8 * c) / (BLOCK_COLS - 1))),
  );
  for (let c = 0; c < BLOCK_COLS; c++) f32[(at.k >> 2) + c] = (vRead * steps) / full[c];
  i32.set([0, rows], at.starts >> 2);
  for (let r = 0; r < rows; r++) i32[(at.offs >> 2) + r] = r * BLOCK_BYTES_PER_ROW;
  const rhoA = 2 * 1.03 * 2 ** -24;
  const rhoB = 2 * (3 * 2 ** -24 + (rows + 3) * 2 ** -52);
  const eAbs = 16 * 2 ** (Math.ceil(Math.log2(steps + 1)) - 24);
  // prettier-ignore
  const ambiguous = kernel.accumulateCodes(at.g, 1, rows * BLOCK_BYTES_PER_ROW, at.starts, at.offs, 0, 0, 1, at.codes, BLOCK_COLS * 4, 0, at.k, rhoA, rhoB, eAbs, steps, at.list, at.clip);
  let wrong = 0;
  let certain = 0;
  for (let c = 0; c < BLOCK_COLS; c++) {
    const code = i32[(at.codes >> 2) + c];
    if (code === -1) continue;
    certain++;
    if (code !== Math.round(((sum * vRead) / full[c]) * steps)) wrong++;
  }
  expect(ambiguous).toBeGreaterThan(0);
  expect(certain).toBeGreaterThan(0);
  expect(wrong).toBe(0);
});

test('parasitics (wires, access, driver, sense): the fast and exact paths run M and agree bit for bit', () => {
  const parasitics = {
    wireResistance: '1 Ohm',
    accessResistance: '1 kOhm',
    driverResistance: '20 Ohm',
    senseResistance: '10 Ohm',
  };
  const diff = expectSame(plan(mlp, {}, circuit({ tile: { rows: 64, cols: 40 }, parasitics })), [0, 1]);
  expect(diff.fastStages).toBe(4);
  const offset = circuit({
    tile: { rows: 90, cols: 24 },
    mapping: 'offset',
    parasitics: { ...parasitics, drive: 'both', sense: 'both' },
  });
  expect(expectSame(plan(mlp, {}, offset), [0]).fastStages).toBe(2);
  const ideal = expectSame(plan(mlp, {}, circuit({ adc: { bits: 'ideal' }, parasitics })), [0]);
  expect(ideal.exactStages).toBe(2);
  // Read noise: the reference arithmetic on M.
  const noisy = plan(mlp, { readNoise: { relativeSigma: 0.05 } }, circuit({ parasitics }));
  expect(expectSame(noisy, [0]).fastStages).toBe(0);
});
