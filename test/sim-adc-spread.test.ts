/**
 * Per-ADC offset and gain spread (circuit card adcOffsetSigma, adcGainSigma; issue 26): the conversion
 * by hand, the draws (shared by the columns of one ADC, seeded, with the asked spread), and whole trials:
 * no spread is bit for bit the card without the fields, spread costs accuracy on real chips but not on
 * the nominal one, and the result does not depend on how trials are split over workers.
 */
import { circuitCardToJson } from '../src/crossbar/circuit';
import { convertTile, drawAdcSpread } from '../src/sim/referenceTrial';
import type { AnalogStage, SimPlan } from '../src/sim/plan';
import { samplersForPlan } from '../src/sim/samplers';
import { runTrial, TrialScratch } from '../src/sim/trial';
import { runTrialsInWorkers } from '../src/sim/workerPool';
import { streamFor } from '../src/util/random';
import { circuit, dense, mnist, multilevelCardJson, network, planFor, templateWeights } from './sim-fixtures';

/** A differential stage with one weight column (2 physical columns), one row tile, 2-bit ADC (3 steps). */
function tinyStage(spread?: AnalogStage['adcSpread']): AnalogStage {
  return {
    kind: 'analog',
    layerIndex: 0,
    layerName: 't',
    rows: 1,
    cols: 1,
    outCols: 1,
    physCols: 2,
    mapping: 'differential',
    refColumnOf: null,
    refExactSiemens: null,
    weightPerSiemens: 1,
    rowTiles: [{ rowStart: 0, rowEnd: 1, cellsByLevel: [], iFullAmps: Float32Array.of(1, 1) }],
    dac: { kind: 'ideal', bits: 0, xMax: 1 },
    adcBits: 2,
    bias: null,
    activation: 'linear',
    rmsWeightError: 0,
    adcSpread: spread,
  } as AnalogStage;
}

test('conversion with a gain and an offset, by hand', () => {
  const stage = tinyStage();
  const acc = new Float64Array(1);
  const adc = { gain: Float64Array.of(1.1, 0.9), offsetLsb: Float64Array.of(0.4, -0.3) };
  // x = i / iFull * 3 * gain + offset: 0.5 -> 2.05 -> code 2; 0.2 -> 0.24 -> code 0.
  const cur = Float64Array.of(0.5, 0.2);
  expect(convertTile(stage, stage.rowTiles[0], cur, 0, 1, 3, acc, 0, null, null, adc)).toBe(0);
  expect([...cur]).toEqual([2 / 3, 0]);
  expect(acc[0]).toBe(2 / 3);
  // 0.95 -> 3.535 > 3: clipped to the top code; 0.05 -> -0.165: to 0 (not counted as clipping).
  const high = Float64Array.of(0.95, 0.05);
  expect(convertTile(stage, stage.rowTiles[0], high, 0, 1, 3, acc.fill(0), 0, null, null, adc)).toBe(1);
  expect([...high]).toEqual([1, 0]);
  // Without a draw: the plain ADC (0.5 -> round(1.5) = 2).
  const plain = Float64Array.of(0.5, 0.2);
  convertTile(stage, stage.rowTiles[0], plain, 0, 1, 3, acc.fill(0), 0, null, null);
  expect([...plain]).toEqual([2 / 3, 1 / 3]);
});

test('draws: columns of one ADC share them; seeded; the asked spread', () => {
  const shared = { ...tinyStage({ offsetSigmaLsb: 0.5, gainSigma: 0.02, columnsPerAdc: 3 }), physCols: 8 };
  const d = drawAdcSpread(shared, streamFor(1, 'adc'))[0];
  for (const [a, b] of [
    [0, 1],
    [1, 2],
    [3, 4],
    [4, 5],
    [6, 7],
  ])
    expect([d.gain[a], d.offsetLsb[a]]).toEqual([d.gain[b], d.offsetLsb[b]]);
  expect(d.gain[2]).not.toBe(d.gain[3]);
  expect(drawAdcSpread(shared, streamFor(1, 'adc'))).toEqual(drawAdcSpread(shared, streamFor(1, 'adc')));
  const many = { ...tinyStage({ offsetSigmaLsb: 0.5, gainSigma: 0.02, columnsPerAdc: 1 }), physCols: 4000 };
  const m = drawAdcSpread(many, streamFor(2, 'adc'))[0];
  const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
  const sd = (v: Float64Array) => {
    const mu = mean(v);
    return Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / (v.length - 1));
  };
  // n = 4000: the mean within 4 standard errors, the sd within 5 %.
  expect(Math.abs(mean(m.gain) - 1)).toBeLessThan((4 * 0.02) / Math.sqrt(4000));
  expect(Math.abs(mean(m.offsetLsb))).toBeLessThan((4 * 0.5) / Math.sqrt(4000));
  expect(sd(m.gain) / 0.02).toBeCloseTo(1, 1);
  expect(sd(m.offsetLsb) / 0.5).toBeCloseTo(1, 1);
});

describe('trials', () => {
  const data = mnist(400);
  const desc = network('spread', [784], [dense('d', templateWeights(data), 784, 10, 'linear')]);
  const card = multilevelCardJson('spread', [50e-6, 100e-6, 150e-6, 200e-6], [2e-6, 2e-6, 2e-6, 2e-6]);
  const plan = (fields: Record<string, unknown>): SimPlan =>
    planFor(
      desc,
      card,
      circuit({ adc: { bits: 6, range: { calibrated: 99.9 } }, dac: { bits: 8 }, ...fields }),
      data,
      {
        testCount: 300,
      },
    );
  const trials = (p: SimPlan, n = 4) => {
    const device = samplersForPlan(p);
    const scratch = new TrialScratch();
    return Array.from({ length: n }, (_, t) => runTrial(p, device, t, scratch));
  };

  test('zero spread is bit for bit the card without the fields; the card round-trips the fields', () => {
    expect(trials(plan({ adcOffsetSigma: 0, adcGainSigma: 0 }))).toEqual(trials(plan({})));
    const json = circuitCardToJson(circuit({ adc: { bits: 6 }, adcOffsetSigma: 0.5, adcGainSigma: 0.01 }));
    expect([json.adcOffsetSigma, json.adcGainSigma]).toEqual([0.5, 0.01]);
    expect('adcOffsetSigma' in circuitCardToJson(circuit({ adc: { bits: 6 } }))).toBe(false);
  });

  test('spread costs accuracy on real chips, none on the nominal chip, and shared ADCs spread it less', () => {
    const spread = plan({ adcOffsetSigma: 1.5, adcGainSigma: 0.1 });
    const none = plan({});
    const acc = (p: SimPlan) => trials(p, 6).reduce((a, r) => a + r.accuracy, 0) / 6;
    expect(acc(spread)).toBeLessThan(acc(none));
    const nominal = (p: SimPlan) => runTrial(p, samplersForPlan(p), 0, new TrialScratch(), { nominal: true });
    expect(nominal(spread)).toEqual(nominal(none));
    // One ADC for all 20 columns of a row tile: every column shifted alike, so G+ - G- cancels the offset.
    const oneAdc = plan({ adcOffsetSigma: 1.5, columnsPerAdc: 20 });
    const perColumn = plan({ adcOffsetSigma: 1.5 });
    expect(acc(oneAdc)).toBeGreaterThanOrEqual(acc(perColumn));
  });

  test('the same numbers however the trials are split over worker threads', async () => {
    const p = plan({ adcOffsetSigma: 1, adcGainSigma: 0.05 });
    const serial = trials(p, 4).map((r) => r.accuracy);
    const pooled = (await runTrialsInWorkers(p, [0, 1, 2, 3], 2)).map((r) => r.accuracy);
    expect(pooled).toEqual(serial);
  }, 60_000);
});
