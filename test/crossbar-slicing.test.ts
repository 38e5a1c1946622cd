/**
 * Issue 26, bit slicing: weights as integers of slices x bitsPerCell bits on several differential cell
 * pairs, recombined by shift-and-add. Hand-computed digits, the level choice, the ideal limit (an ideal
 * device, DAC and ADC reproduce the integer-quantised network), per-slice ADC ranges, the card's checks.
 */
import { withOverrides } from '../src/crossbar/circuit';
import { digitLevelsOf, sliceLayer } from '../src/crossbar/slicing';
import type { NetworkDescription } from '../src/nn/description';
import type { SimPlan } from '../src/sim/plan';
import { samplersForPlan } from '../src/sim/samplers';
import { runReferenceTrial } from '../src/sim/referenceTrial';
import { runTrial } from '../src/sim/trial';
import { InputError } from '../src/util/errors';
import {
  analogStages,
  captureOutputs,
  circuit,
  dense,
  digitalOutputs,
  mnist,
  multilevelCardJson,
  network,
  planFor,
  relativeMaxError,
  templateWeights,
} from './sim-fixtures';

const uS = 1e-6;
/** Eight evenly spaced levels, 5..40 uS: an ideal 3-bit cell. */
const EVEN8 = Array.from({ length: 8 }, (_, k) => (5 + 5 * k) * uS);
/** Four evenly spaced levels: an ideal 2-bit cell. */
const FOUR = [5, 10, 15, 20].map((g) => g * uS);

describe('slicing a layer', () => {
  test('the levels for the digits: all of them, or the nearest to an even ladder over the whole range', () => {
    expect([...digitLevelsOf(EVEN8, 3)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Targets 5, 16.67, 28.33, 40 uS on 5, 10, ..., 40: levels 0, 2 (15), 5 (30), 7.
    expect([...digitLevelsOf(EVEN8, 2)]).toEqual([0, 2, 5, 7]);
    // Uneven levels crowded at the bottom: every digit still gets its own, in order.
    expect([
      ...digitLevelsOf(
        [1, 1.1, 1.2, 1.3, 9, 10].map((g) => g * uS),
        2,
      ),
    ]).toEqual([0, 3, 4, 5]);
    expect(() => digitLevelsOf(EVEN8, 4)).toThrow(/4 bits per cell need 16 levels, the device has 8/);
  });

  test('digits by hand: 2 slices of 1 bit on a binary cell, sign on G+ or G-', () => {
    // max |w| = 1.2 -> step 0.4 (q up to 3); q = round(|w| / 0.4).
    const w = Float32Array.of(1.2, -0.8, 0.4, 0, -1.2, 0.5);
    const s = sliceLayer(w, 2, 3, [10 * uS, 30 * uS], { slices: 2, bitsPerCell: 1 });
    expect(s.weightStep).toBeCloseTo(0.4, 7);
    // q: 3, -2, 1 / 0, -3, 1 (0.5 / 0.4 = 1.25). Wide layout per row: [slice 0 of j=0..2 | slice 1 of j=0..2].
    expect([...s.levelPos]).toEqual([1, 0, 1, 1, 0, 0, /* row 2 */ 0, 0, 1, 0, 0, 0]);
    expect([...s.levelNeg]).toEqual([0, 0, 0, 0, 1, 0, /* row 2 */ 0, 1, 0, 0, 1, 0]);
    // One digit is 20 uS: a = 0.4 / 20 uS.
    expect(s.weightPerSiemens / (0.4 / (20 * uS))).toBeCloseTo(1, 6);
    expect([...s.effectiveWeights].map((x) => +x.toFixed(6))).toEqual([1.2, -0.8, 0.4, 0, -1.2, 0.4]);
    expect(s.maxAbsWeightError).toBeCloseTo(0.1, 6);
  });

  test('uneven levels: one digit is the least-squares slope of the chosen levels', () => {
    // Levels 0..3 at 10, 19, 31, 40 uS: g_d = 0, 9, 21, 30; slope = (9 + 42 + 90) / (1 + 4 + 9) = 141/14 uS.
    const mu = [10, 19, 31, 40].map((g) => g * uS);
    const s = sliceLayer(Float32Array.of(3, 1), 1, 2, mu, { slices: 1, bitsPerCell: 2 });
    expect(s.weightPerSiemens / (1 / ((141 / 14) * uS))).toBeCloseTo(1, 9);
    // q = 3 and 1 realise 30 and 9 uS: w_eff = 30 / (141/14) and 9 / (141/14).
    expect(s.effectiveWeights[0]).toBeCloseTo((30 * 14) / 141, 5);
    expect(s.effectiveWeights[1]).toBeCloseTo((9 * 14) / 141, 5);
  });
});

describe('the ideal limit', () => {
  const data = mnist(200);
  const template = templateWeights(data);
  const desc = network('linear', [784], [dense('d', template, 784, 10, 'linear')]);

  /** The network with its weights rounded to integers of `bits` bits times max|w| / (2^bits - 1). */
  function integerQuantised(bits: number): NetworkDescription {
    let max = 0;
    for (const w of template) max = Math.max(max, Math.abs(w));
    const step = max / (2 ** bits - 1);
    const q = template.map((w) => Math.sign(w) * Math.round(Math.abs(w) / step) * step);
    return network('linear-q', [784], [dense('d', q, 784, 10, 'linear')]);
  }

  test.each([
    [1, 3, EVEN8],
    [2, 3, EVEN8],
    [3, 2, FOUR],
  ])(
    '%i slice(s) of %i bits, ideal device, DAC and ADC: the outputs of the integer-quantised network',
    (slices, b, levels) => {
      const card = multilevelCardJson('even', levels);
      const p = planFor(desc, card, circuit({ weightSlices: slices, bitsPerCell: b }), data);
      const { outputs } = captureOutputs(() => runTrial(p, samplersForPlan(p), 0));
      const want = digitalOutputs(integerQuantised(slices * b), data);
      expect(relativeMaxError(outputs[0], want)).toBeLessThan(1e-5);
      // Not vacuous: the 3-bit network differs from the 6-bit one by far more than that.
      if (slices * b === 6)
        expect(relativeMaxError(want, digitalOutputs(integerQuantised(3), data))).toBeGreaterThan(0.01);
      const stage = analogStages(p)[0];
      expect(stage).toMatchObject({ cols: 10 * slices, outCols: 10, physCols: 20 * slices });
    },
  );

  test('2 slices x 3 bits equal 3 slices x 2 bits on a 4-level ladder: both are 6-bit integers', () => {
    const outputsFor = (slices: number, b: number, levels: number[]): Float32Array => {
      const p = planFor(
        desc,
        multilevelCardJson('c', levels),
        circuit({ weightSlices: slices, bitsPerCell: b }),
        data,
      );
      return captureOutputs(() => runTrial(p, samplersForPlan(p), 0)).outputs[0];
    };
    expect(relativeMaxError(outputsFor(3, 2, FOUR), outputsFor(2, 3, EVEN8))).toBeLessThan(1e-5);
  });
});

describe('slices on a chip', () => {
  const data = mnist(200);
  const desc = network('linear', [784], [dense('d', templateWeights(data), 784, 10, 'linear')]);

  test('each slice has its own calibrated ADC range; fast and reference trials agree bit for bit', () => {
    const sigma = EVEN8.map(() => 0.5 * uS);
    const card = multilevelCardJson('even-8-spread', EVEN8, sigma);
    const circ = circuit({
      weightSlices: 2,
      bitsPerCell: 3,
      adc: { bits: 6, range: { calibrated: 99 } },
      tile: { rows: 128, cols: 64 },
    });
    const p = planFor(desc, card, circ, data);
    const stage = analogStages(p)[0];
    const tile = stage.rowTiles[3];
    // Columns: slice 0 G+ 0..9, slice 1 G+ 10..19, slice 0 G- 20..29, slice 1 G- 30..39.
    const slice0 = [...tile.iFullAmps.subarray(0, 10), ...tile.iFullAmps.subarray(20, 30)];
    const slice1 = [...tile.iFullAmps.subarray(10, 20), ...tile.iFullAmps.subarray(30, 40)];
    expect(new Set(slice0).size).toBe(1);
    expect(new Set(slice1).size).toBe(1);
    expect(slice0[0]).not.toBe(slice1[0]);
    const device = samplersForPlan(p);
    for (const t of [0, 1]) {
      const fast = captureOutputs(() => runTrial(p, device, t));
      const ref = captureOutputs(() => runReferenceTrial(p, device, t));
      expect(fast.result).toEqual(ref.result);
      expect(new Uint32Array(fast.outputs[0].buffer)).toEqual(new Uint32Array(ref.outputs[0].buffer));
    }
  });

  test('the card: bitsPerCell is required with weightSlices, slicing needs differential mapping, enough levels', () => {
    expect(() => circuit({ weightSlices: 2 })).toThrow(/field bitsPerCell is required with weightSlices/);
    expect(() => circuit({ weightSlices: 2, bitsPerCell: 1, mapping: 'offset' })).toThrow(
      /field weightSlices \(bit slicing\) needs mapping "differential" \(got "offset"\)/,
    );
    expect(() => circuit({ weightSlices: 9, bitsPerCell: 1 })).toThrow(/weightSlices/);
    // 8 x 8 = 64 bits would round the largest weight's integer up to 2^64 (all digits 0) in float64.
    expect(() => circuit({ weightSlices: 8, bitsPerCell: 8 })).toThrow(
      /field weightSlices x bitsPerCell is 8 x 8 = 64 bits per weight; at most 32/,
    );
    expect(circuit({ weightSlices: 4, bitsPerCell: 8 }).slicing).toEqual({ slices: 4, bitsPerCell: 8 });
    const sliced = circuit({ weightSlices: 2, bitsPerCell: 2 });
    expect(sliced.slicing).toEqual({ slices: 2, bitsPerCell: 2 });
    expect(withOverrides(sliced, { slicing: null }).slicing).toBeUndefined();
    expect(withOverrides(circuit(), { slicing: { slices: 4, bitsPerCell: 1 } }).slicing).toEqual({
      slices: 4,
      bitsPerCell: 1,
    });
    const binary = multilevelCardJson('two', [10 * uS, 40 * uS]);
    const tooFew = (): SimPlan => planFor(desc, binary, circuit({ weightSlices: 2, bitsPerCell: 2 }), data);
    expect(tooFew).toThrow(InputError);
    expect(tooFew).toThrow(/field bitsPerCell 2 needs a device with at least 4 levels, the device has 2/);
  });
});
