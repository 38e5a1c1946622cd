/**
 * Issue 3, "Done when": a layer split over 1, 2 or 7 row tiles gives the same ideal outputs; an ADC
 * range set too small shows clipping in the output.
 */
import { mapLayer } from '../src/crossbar/mapping';
import type { NetworkDescription } from '../src/nn/description';
import type { AnalogStage, SimPlan } from '../src/sim/plan';
import { samplersForPlan } from '../src/sim/samplers';
import { runTrial } from '../src/sim/trial';
import {
  captureOutputs,
  circuit,
  dense,
  digitalLabels,
  mnist,
  multilevelCardJson,
  network,
  planFor,
  relativeMaxError,
  templateWeights,
} from './sim-fixtures';

const N = 120;
const uS = 1e-6;
const MEANS = [10 * uS, 35 * uS, 50 * uS, 90 * uS, 120 * uS];
const card = multilevelCardJson('uneven-5', MEANS);

function templateNet(bias?: Float32Array): NetworkDescription {
  return network('template', [784], [dense('t', templateWeights(mnist(N)), 784, 10, 'linear', bias)]);
}

function outputsOf(plan: SimPlan): { accuracy: number; clipRate: number; out: Float32Array } {
  const { result, outputs } = captureOutputs(() => runTrial(plan, samplersForPlan(plan), 0));
  return { accuracy: result.accuracy, clipRate: result.clipRate[0], out: outputs[0] };
}

function stageOf(plan: SimPlan): AnalogStage {
  return plan.stages[0] as AnalogStage;
}

/** x W_eff + b in float64, with W_eff what the mapping realises (level means in place of cells). */
function expectedOutputs(
  desc: NetworkDescription,
  mapping: 'differential' | 'offset',
  bias: Float32Array | null,
): Float32Array {
  const data = mnist(N);
  const layer = desc.layers[0] as { weights: { data: Float32Array } };
  const eff = mapLayer(layer.weights.data, 784, 10, MEANS, mapping).effectiveWeights;
  const out = new Float32Array(N * 10);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < 10; j++) {
      let s = bias ? bias[j] : 0;
      for (let i = 0; i < 784; i++) s += data.test.images[n * 784 + i] * eff[i * 10 + j];
      out[n * 10 + j] = s;
    }
  return out;
}

describe('row tiles', () => {
  for (const mapping of ['differential', 'offset'] as const) {
    test(`${mapping}: 1, 2 and 7 row tiles (784, 392 and 128 rows) give the same ideal outputs`, () => {
      const bias = Float32Array.from({ length: 10 }, (_, j) => 0.01 * (j - 5));
      const desc = templateNet(bias);
      const expected = expectedOutputs(desc, mapping, bias);
      for (const [rows, tiles] of [
        [784, 1],
        [392, 2],
        [128, 7],
      ] as const) {
        const plan = planFor(desc, card, circuit({ mapping, tile: { rows, cols: 128 } }), mnist(N));
        expect(stageOf(plan).rowTiles.length).toBe(tiles);
        expect(stageOf(plan).rowTiles.map((t) => t.rowEnd - t.rowStart)).toEqual(
          tiles === 7 ? [128, 128, 128, 128, 128, 128, 16] : Array(tiles).fill(784 / tiles),
        );
        const { out, clipRate } = outputsOf(plan);
        expect(clipRate).toBe(0);
        expect(relativeMaxError(out, expected)).toBeLessThan(1e-5);
      }
    });
  }

  test('offset: column tiles of 4 weight columns + a reference (3 references for 10 columns) change nothing', () => {
    const desc = templateNet();
    const expected = expectedOutputs(desc, 'offset', null);
    const plan = planFor(desc, card, circuit({ mapping: 'offset', tile: { rows: 128, cols: 5 } }), mnist(N));
    expect(stageOf(plan).physCols).toBe(13);
    expect(Array.from(stageOf(plan).refColumnOf!)).toEqual([10, 10, 10, 10, 11, 11, 11, 11, 12, 12]);
    expect(relativeMaxError(outputsOf(plan).out, expected)).toBeLessThan(1e-5);
  });
});

describe('ADC range and clipping', () => {
  const fields = (range: unknown) => ({
    mapping: 'differential',
    dac: { bits: 8 },
    adc: { bits: 8, range },
    tile: { rows: 128, cols: 128 },
  });

  test('full-scale range (rows x G_max x vRead) never clips a sigma-0 chip', () => {
    const plan = planFor(templateNet(), card, circuit(fields('full-scale')), mnist(N));
    const rowTiles = stageOf(plan).rowTiles;
    // The full-scale current of each row tile: rows used x 120 uS x 0.2 V.
    expect(rowTiles.map((t) => t.iFullAmps[0])).toEqual(
      rowTiles.map((t) => Math.fround((t.rowEnd - t.rowStart) * 120e-6 * 0.2)),
    );
    expect(outputsOf(plan).clipRate).toBe(0);
  });

  test('a range below every current: each conversion of a column with current clips, every output is the bias', () => {
    const data = mnist(N);
    const bias = Float32Array.from({ length: 10 }, (_, j) => 0.5 - 0.1 * j);
    const plan = planFor(templateNet(bias), card, circuit(fields('full-scale')), data);
    const stage = stageOf(plan);
    // The smallest non-zero current is 1/255 of vRead on one 10 uS cell: 7.8 nA. Set 1 pA.
    for (const tile of stage.rowTiles) tile.iFullAmps.fill(1e-12);
    const { out, clipRate } = outputsOf(plan);
    // Independent count: every physical column of a row tile carries current iff an input of the tile is non-zero.
    let active = 0;
    for (let n = 0; n < N; n++)
      for (const tile of stage.rowTiles) {
        let any = false;
        for (let i = tile.rowStart; i < tile.rowEnd && !any; i++) any = data.test.images[n * 784 + i] > 0;
        if (any) active++;
      }
    expect(clipRate).toBeCloseTo(active / (N * stage.rowTiles.length), 12);
    expect(clipRate).toBeGreaterThan(0.5);
    // G+ and G- both read full scale: their difference is 0 and only the bias is left.
    for (let n = 0; n < N; n++) for (let j = 0; j < 10; j++) expect(out[n * 10 + j]).toBeCloseTo(bias[j], 6);
  });

  test('a calibrated range at the 50th percentile clips and changes outputs and predictions', () => {
    const data = mnist(N);
    const desc = templateNet();
    const labels = digitalLabels(desc, data);
    const full = planFor(desc, card, circuit(fields('full-scale')), data, { labels });
    const small = planFor(desc, card, circuit(fields({ calibrated: 50 })), data, { labels });
    const fullTiles = stageOf(full).rowTiles;
    // Tiles over the image border see mostly dark pixels (median current 0: they keep full scale); the others shrink.
    const shrunk = stageOf(small).rowTiles.filter((t, r) => t.iFullAmps[0] < fullTiles[r].iFullAmps[0] / 2);
    expect(shrunk.length).toBeGreaterThanOrEqual(3);
    const a = outputsOf(full);
    const b = outputsOf(small);
    expect(a.clipRate).toBe(0);
    expect(b.clipRate).toBeGreaterThan(0.1);
    expect(relativeMaxError(b.out, a.out)).toBeGreaterThan(0.05);
    expect(b.accuracy).toBeLessThan(a.accuracy);
  });

  test('a calibrated 100th percentile on the calibration images is the largest current seen: no clipping on them', () => {
    const data = mnist(N);
    const desc = templateNet();
    // Test on the calibration images themselves.
    const same = { ...data, test: data.train };
    const plan = planFor(desc, card, circuit(fields({ calibrated: 100 })), same);
    expect(outputsOf(plan).clipRate).toBe(0);
  });
});
