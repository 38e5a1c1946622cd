/**
 * Issue 3, "Done when": an ideal chip (sigma 0, ideal DAC and ADC, exactly representable weights)
 * predicts the digital network's class on every test image; with sigma 0 a quantised network on the
 * matching L-level device gives exactly the quantised-digital accuracy.
 */
import { mapLayer } from '../src/crossbar/mapping';
import { loadDeviceCard } from '../src/device/loadDevice';
import { type NetworkDescription, type WeightedLayer, isWeighted } from '../src/nn/description';
import { quantizeNetwork } from '../src/nn/network';
import type { SimPlan } from '../src/sim/plan';
import { samplersForPlan } from '../src/sim/samplers';
import { simulate } from '../src/sim/simulate';
import { runTrial } from '../src/sim/trial';
import { streamFor } from '../src/util/random';
import {
  analogStages,
  captureOutputs,
  circuit,
  conv,
  dense,
  digitalLabels,
  digitalOutputs,
  drawnWeights,
  mnist,
  multilevelCardJson,
  network,
  planFor,
  relativeMaxError,
  templateWeights,
} from './sim-fixtures';

const N = 150;
const uS = 1e-6;
/** Four levels on a 10 uS grid: differences -30..30 uS in 10 uS steps are all representable. */
const GRID4 = [10 * uS, 20 * uS, 30 * uS, 40 * uS];
const idealCard = multilevelCardJson('ideal-4', GRID4);

/** Weight scale of each layer so that the outputs stay O(1). */
function steps(values: number[], unit: number): number[] {
  return values.map((v) => v * unit);
}

function mlp(weights1: number[], weights2: number[], seed: number): NetworkDescription {
  const rng = streamFor(seed, 'mlp');
  const bias1 = Float32Array.from({ length: 24 }, () => 0.1 * rng.normal());
  const bias2 = Float32Array.from({ length: 10 }, () => 0.1 * rng.normal());
  return network(
    'mlp',
    [784],
    [
      dense('d1', drawnWeights([784, 24], weights1, rng), 784, 24, 'relu', bias1),
      dense('d2', drawnWeights([24, 10], weights2, rng), 24, 10, 'linear', bias2),
    ],
  );
}

/** conv 3x3x1x4 valid -> maxpool 2 -> conv 3x3x4x6 same stride 2 -> flatten -> dense 294 -> 10. */
function convNet(values: number[], seed: number): NetworkDescription {
  const rng = streamFor(seed, 'conv');
  const scaled = (unit: number) => values.map((v) => v * unit);
  return network(
    'cnn',
    [28, 28, 1],
    [
      conv(
        'c1',
        drawnWeights([3, 3, 1, 4], scaled(0.3), rng),
        [3, 3, 1, 4],
        [1, 1],
        'valid',
        Float32Array.of(0.05, -0.05, 0, 0.1),
      ),
      { kind: 'maxpool2d', name: 'p1', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
      conv('c2', drawnWeights([3, 3, 4, 6], scaled(0.2), rng), [3, 3, 4, 6], [2, 2], 'same'),
      { kind: 'flatten', name: 'f' },
      dense('d', drawnWeights([294, 10], scaled(0.1), rng), 294, 10, 'linear'),
    ],
  );
}

/**
 * The ideal chip's predictions equal the digital network's on every image: with the digital predictions
 * as labels, the nominal chip and a programmed (sigma 0) chip both score 1. Their outputs also match the
 * digital outputs to float rounding.
 */
function expectIdeal(desc: NetworkDescription, cardJson: unknown, fields: Record<string, unknown>): SimPlan {
  const data = mnist(N);
  const plan = planFor(desc, cardJson, circuit(fields), data, { labels: digitalLabels(desc, data) });
  const device = samplersForPlan(plan);
  for (const stage of analogStages(plan)) {
    const layer = desc.layers[stage.layerIndex] as WeightedLayer;
    const wMax = Math.max(...layer.weights.data.map(Math.abs));
    expect(stage.rmsWeightError).toBeLessThan(1e-6 * wMax);
  }
  expect(runTrial(plan, device, -1, undefined, { nominal: true }).accuracy).toBe(1);
  const { result, outputs } = captureOutputs(() => runTrial(plan, device, 0));
  expect(result.accuracy).toBe(1);
  expect(result.clipRate.every((c) => c === 0)).toBe(true);
  expect(relativeMaxError(outputs[0], digitalOutputs(desc, data))).toBeLessThan(1e-5);
  return plan;
}

describe('ideal chip = digital network (sigma 0, ideal DAC and ADC, representable weights)', () => {
  test('MLP, differential mapping, 128-row tiles (7 row tiles for 784 inputs)', () => {
    const desc = mlp(steps([-3, -2, -1, 0, 1, 2, 3], 0.02), steps([-3, -2, -1, 0, 1, 2, 3], 0.1), 1);
    const plan = expectIdeal(desc, idealCard, { mapping: 'differential' });
    expect(analogStages(plan).map((s) => s.rowTiles.length)).toEqual([7, 1]);
  });

  test('MLP, offset mapping, nearest-level rule (3 of 4 levels used)', () => {
    const desc = mlp(steps([0, 1, 2], 0.02), steps([-1, 0, 1], 0.1), 2);
    const plan = expectIdeal(desc, idealCard, { mapping: 'offset' });
    // Nearest-level rule: the reference is a programmed level.
    expect(analogStages(plan).every((s) => s.refExactSiemens === null)).toBe(true);
  });

  test('MLP, offset mapping, rank-order rule with the reference on a level', () => {
    // 4 values on 4 levels: w = a (mu_k - mu_1), the reference is level 1 (20 uS).
    const desc = mlp(steps([-1, 0, 1, 2], 0.02), steps([-1, 0, 1, 2], 0.1), 3);
    const plan = expectIdeal(desc, idealCard, { mapping: 'offset' });
    for (const stage of analogStages(plan)) {
      expect(stage.refExactSiemens).toBeNull();
      // Every reference cell sits on level 1.
      for (const tile of stage.rowTiles) {
        const refCells = Array.from(tile.cellsByLevel[1]).filter((c) => c % stage.physCols >= stage.cols);
        expect(refCells.length).toBe((tile.rowEnd - tile.rowStart) * (stage.physCols - stage.cols));
      }
    }
  });

  test('MLP, offset mapping, rank-order rule with an exact reference between levels', () => {
    // 4 values symmetric around 0 on 4 levels: the reference is 25 uS, between levels 1 and 2.
    const desc = mlp(steps([-1.5, -0.5, 0.5, 1.5], 0.02), steps([-1.5, -0.5, 0.5, 1.5], 0.1), 4);
    const plan = expectIdeal(desc, idealCard, { mapping: 'offset' });
    for (const stage of analogStages(plan)) expect(stage.refExactSiemens! / (25 * uS)).toBeCloseTo(1, 9);
  });

  test('CNN with analogLayers "all" (im2col conv layers on tiles), differential, 16-row tiles', () => {
    const desc = convNet([-3, -2, -1, 0, 1, 2, 3], 5);
    const plan = expectIdeal(desc, idealCard, {
      mapping: 'differential',
      analogLayers: 'all',
      tile: { rows: 16, cols: 128 },
    });
    const stages = analogStages(plan);
    expect(stages.map((s) => s.layerName)).toEqual(['c1', 'c2', 'd']);
    expect(stages.map((s) => s.rowTiles.length)).toEqual([1, 3, 19]); // 9, 36 and 294 rows
  });

  test('CNN with analogLayers "all", offset mapping with 5-column tiles (4 weight columns + reference)', () => {
    const desc = convNet([-1, 0, 1, 2], 6);
    const plan = expectIdeal(desc, idealCard, {
      mapping: 'offset',
      analogLayers: 'all',
      tile: { rows: 32, cols: 5 },
    });
    // 6 and 10 weight columns need 2 and 3 reference columns.
    expect(analogStages(plan).map((s) => s.physCols)).toEqual([4 + 1, 6 + 2, 10 + 3]);
  });

  test('CNN with analogLayers "dense": the conv layers run digitally in front, once', () => {
    const desc = convNet([-3, -2, -1, 0, 1, 2, 3], 7);
    const plan = expectIdeal(desc, idealCard, { mapping: 'differential', analogLayers: 'dense' });
    expect(plan.stages.map((s) => s.kind)).toEqual(['analog']);
    expect(plan.front.shape).toEqual([294]);
  });
});

describe('sigma 0: quantised network on the matching L-level device = quantised-digital accuracy', () => {
  const data = () => mnist(N);

  /** simulate() with sigma 0: nominal and every trial give the quantised-digital accuracy exactly. */
  async function expectQuantizedAccuracy(
    quantized: NetworkDescription,
    float: NetworkDescription,
    cardJson: unknown,
    fields: Record<string, unknown>,
    minAccuracy = 0.3,
  ) {
    const d = data();
    const count = d.test.count;
    const plan = planFor(quantized, cardJson, circuit(fields), d);
    const result = await simulate(
      plan,
      { float, quantized, test: { images: d.test.images, labels: d.test.labels, count } },
      3,
    );
    // A real classifier (above chance), so that a mismatch would show in the accuracy.
    expect(result.quantizedAccuracy).toBeGreaterThan(minAccuracy);
    expect(result.nominalAccuracy).toBe(result.quantizedAccuracy);
    expect(result.perTrial.map((r) => r.accuracy)).toEqual([
      result.quantizedAccuracy,
      result.quantizedAccuracy,
      result.quantizedAccuracy,
    ]);
    // Stronger: the same class on every image.
    const same = planFor(quantized, cardJson, circuit(fields), d, { labels: digitalLabels(quantized, d) });
    expect(runTrial(same, samplersForPlan(same), 0).accuracy).toBe(1);
    return plan;
  }

  function templateNet(): NetworkDescription {
    return network('template', [784], [dense('t', templateWeights(data()), 784, 10, 'linear')]);
  }

  /** Two layers: the template classifier on top of 32 random ReLU features that include the pixels' templates. */
  function templateMlp(): NetworkDescription {
    const t = templateWeights(data());
    const rng = streamFor(8, 'mlp');
    const w1 = new Float32Array(784 * 32);
    for (let i = 0; i < 784; i++)
      for (let j = 0; j < 32; j++)
        w1[i * 32 + j] = j < 10 ? t[i * 10 + j] : j < 20 ? -t[i * 10 + j - 10] : 0.05 * rng.normal();
    const w2 = new Float32Array(32 * 10);
    for (let c = 0; c < 10; c++) {
      w2[c * 10 + c] = 1;
      w2[(c + 10) * 10 + c] = -1;
    }
    return network(
      'template-mlp',
      [784],
      [dense('h', w1, 784, 32, 'relu'), dense('o', w2, 32, 10, 'linear')],
    );
  }

  test('quantile:4 on the matching 4-level card, offset mapping, rank-order rule (single analog layer)', async () => {
    const float = templateNet();
    const quantized = quantizeNetwork(float, { kind: 'quantile', levels: 4 });
    const values = Array.from(new Set((quantized.layers[0] as WeightedLayer).weights.data)).sort(
      (a, b) => a - b,
    );
    expect(values).toHaveLength(4);
    // The matching card: level means an affine image of the 4 quantile values, 20..80 uS.
    const means = values.map((v) => 20 * uS + ((v - values[0]) / (values[3] - values[0])) * 60 * uS);
    const card = multilevelCardJson('quantile-4', means);
    const mapped = mapLayer((quantized.layers[0] as WeightedLayer).weights.data, 784, 10, means, 'offset');
    expect(mapped.rule).toBe('rank-order');
    expect(mapped.rmsWeightError).toBeLessThan(1e-6 * Math.max(...values.map(Math.abs)));
    const plan = await expectQuantizedAccuracy(quantized, float, card, {
      mapping: 'offset',
      dac: { bits: 8 },
      adc: { bits: 'ideal' },
    });
    expect(plan.stages.length).toBe(1);
  });

  test('quantile:2 on a 2-level card, offset mapping, rank-order rule (every layer of an MLP)', async () => {
    const float = templateMlp();
    const quantized = quantizeNetwork(float, { kind: 'quantile', levels: 2 });
    // Two values per layer lose most of the template classifier; equality is what matters here.
    await expectQuantizedAccuracy(
      quantized,
      float,
      multilevelCardJson('two', [10 * uS, 200 * uS]),
      { mapping: 'offset' },
      0,
    );
  });

  test('uniform:2 (3 values) on hfo2-1t1r-mispva-3 with sigma 0, offset mapping: reference on the middle level', async () => {
    const float = templateMlp();
    const quantized = quantizeNetwork(float, { kind: 'uniform', bits: 2 });
    const card = structuredClone(loadDeviceCard('hfo2-1t1r-mispva-3')) as unknown as {
      levels: Array<{ sigma: number }>;
    };
    for (const level of card.levels) level.sigma = 0;
    const plan = await expectQuantizedAccuracy(quantized, float, card, { mapping: 'offset' });
    for (const stage of analogStages(plan)) {
      expect(stage.refExactSiemens).toBeNull();
      expect(stage.rmsWeightError).toBeLessThan(1e-6);
    }
  });

  test('uniform:3 (7 values) on hfo2-1t1r-mispva-5 with sigma 0, differential mapping (9 differences)', async () => {
    const float = templateMlp();
    const quantized = quantizeNetwork(float, { kind: 'uniform', bits: 3 });
    const card = structuredClone(loadDeviceCard('hfo2-1t1r-mispva-5')) as unknown as {
      levels: Array<{ sigma: number }>;
    };
    for (const level of card.levels) level.sigma = 0;
    await expectQuantizedAccuracy(quantized, float, card, { mapping: 'differential' });
  });

  test('uniform:3 CNN on hfo2-1t1r-mispva-5 with sigma 0, analogLayers "all"', async () => {
    const d = data();
    // A CNN whose dense layer is the template classifier on 2x2-max-pooled images (a 3x3 identity-ish conv first).
    const t = templateWeights(d);
    // Channel 0 passes the centre pixel through; channel 1 is a blur.
    const identity = [0, 0, 0, 0, 1, 0, 0, 0, 0];
    const blur = [0.1, 0.2, 0.1, 0.2, 0.4, 0.2, 0.1, 0.2, 0.1];
    const convKernel = Float32Array.from({ length: 18 }, (_, i) =>
      i % 2 === 0 ? identity[i >> 1] : blur[i >> 1],
    );
    // Dense weights: the template of the pixel under each position of the 26x26 output, channel 0 only.
    const wd = new Float32Array(26 * 26 * 2 * 10);
    for (let y = 0; y < 26; y++)
      for (let x = 0; x < 26; x++)
        for (let c = 0; c < 10; c++) wd[(y * 26 + x) * 2 * 10 + c] = t[((y + 1) * 28 + x + 1) * 10 + c];
    const float = network(
      'cnn',
      [28, 28, 1],
      [
        conv('c', convKernel, [3, 3, 1, 2], [1, 1], 'valid'),
        { kind: 'flatten', name: 'f' },
        dense('d', wd, 26 * 26 * 2, 10, 'linear'),
      ],
    );
    const quantized = quantizeNetwork(float, { kind: 'uniform', bits: 3 }, 'all');
    expect(quantized.layers.filter(isWeighted).every((l) => l.weightQuantization.kind === 'uniform')).toBe(
      true,
    );
    const card = structuredClone(loadDeviceCard('hfo2-1t1r-mispva-5')) as unknown as {
      levels: Array<{ sigma: number }>;
    };
    for (const level of card.levels) level.sigma = 0;
    const plan = await expectQuantizedAccuracy(quantized, float, card, {
      mapping: 'differential',
      analogLayers: 'all',
    });
    expect(analogStages(plan).map((s) => s.layerName)).toEqual(['c', 'd']);
  });
});
