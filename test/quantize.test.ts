import {
  binarize,
  calibrateInputQuantizer,
  fitExponential,
  fixedPoint,
  leadingBitScale,
  inputQuantizerLabel,
  quantizeWeights,
  applyInputQuantizer,
  parseInputQuantizer,
  parseWeightQuantizer,
  weightQuantizerLabel,
  quantileQuantize,
  ternarize,
  uniformQuantize,
} from '../src/nn/quantize';
import { InputError } from '../src/util/errors';
import { streamFor } from '../src/util/random';

const f32 = (a: number[]) => Float32Array.from(a);
const distinct = (a: Float32Array) => [...new Set(a)].sort((x, y) => x - y);

describe('quantile quantiser', () => {
  test('equal-population bins, each weight the mean of its bin (exact small case)', () => {
    const w = f32([1, 2, 3, 4, 5, 6, 7, 8]);
    // 4 bins of 2 values each: {1,2} {3,4} {5,6} {7,8}
    expect(Array.from(quantileQuantize(w, 4))).toEqual([1.5, 1.5, 3.5, 3.5, 5.5, 5.5, 7.5, 7.5]);
    // 2 bins: {1..4} mean 2.5, {5..8} mean 6.5
    expect(Array.from(quantileQuantize(w, 2))).toEqual([2.5, 2.5, 2.5, 2.5, 6.5, 6.5, 6.5, 6.5]);
  });

  test('order of the input does not matter', () => {
    const w = f32([8, 1, 7, 2, 6, 3, 5, 4]);
    expect(Array.from(quantileQuantize(w, 4))).toEqual([7.5, 1.5, 7.5, 1.5, 5.5, 3.5, 5.5, 3.5]);
  });

  test('ties share a bin; fewer distinct values than N keeps them all', () => {
    const w = f32([0, 0, 0, 0, 0, 1, 2]);
    const q = quantileQuantize(w, 3);
    expect(distinct(q)).toEqual([0, 1, 2]);
    expect(Array.from(quantileQuantize(f32([3, 3, 1]), 8))).toEqual([3, 3, 1]);
  });

  test('ends with exactly min(N, distinct) values, each the mean of its bin, on random layers', () => {
    const rng = streamFor(7, 'quantile-test');
    for (const n of [2, 3, 4, 5, 8]) {
      const w = new Float32Array(1000);
      for (let i = 0; i < w.length; i++) w[i] = Math.round(rng.normal() * 20) / 20; // many ties
      const q = quantileQuantize(w, n);
      const values = distinct(q);
      expect(values.length).toBe(Math.min(n, distinct(w).length));
      // Each output value is the mean of the inputs mapped to it, and bins are contiguous in rank.
      for (const v of values) {
        const members = Array.from(w).filter((_, i) => q[i] === v);
        const mean = members.reduce((a, b) => a + b, 0) / members.length;
        expect(v).toBeCloseTo(mean, 5);
      }
      const sortedIdx = Array.from(w.keys()).sort((a, b) => w[a] - w[b]);
      for (let i = 1; i < sortedIdx.length; i++)
        expect(q[sortedIdx[i]]).toBeGreaterThanOrEqual(q[sortedIdx[i - 1]]);
    }
  });
});

describe('uniform, binary and ternary quantisers', () => {
  test('uniform:3 has 2^3 - 1 = 7 symmetric levels including zero', () => {
    const w = f32([-1, -0.6, -0.1, 0, 0.2, 0.34, 0.9, 1]);
    const q = uniformQuantize(w, 3);
    const step = 1 / 3;
    expect(Array.from(q)).toEqual(Array.from(f32([-3, -2, 0, 0, 1, 1, 3, 3].map((k) => k * step))));
    const rng = streamFor(1, 'u');
    const big = Float32Array.from({ length: 5000 }, () => rng.normal());
    expect(distinct(uniformQuantize(big, 3)).length).toBe(7);
    // Symmetric: q(-w) = -q(w), also at exact half steps.
    expect(Array.from(uniformQuantize(f32([-0.5, 0.5, -1]), 2))).toEqual([-1, 1, -1]);
  });

  test('uniform:B@P spans the P-th percentile of |w| and clips the weights beyond it', () => {
    // |w| sorted: 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 10; the 90th percentile by linear
    // interpolation sits at rank 0.9 x 9 = 8.1: 0.8 + 0.1 x (10 - 0.8) = 1.72.
    const w = f32([0, -0.1, 0.2, -0.3, 0.4, -0.5, 0.6, -0.7, 0.8, -10]);
    const m = Math.fround(0.8) + 0.1 * (10 - Math.fround(0.8));
    const step = m / 3;
    const q = uniformQuantize(w, 3, 90);
    // |w| / step = 0, 0.17, 0.35, 0.52, 0.70, 0.87, 1.05, 1.22, 1.40, 17.4: codes 0, 0, 0, 1, ..., 1, 3 (clipped)
    const expected = [0, 0, 0, -1, 1, -1, 1, -1, 1, -3].map((k) => k * step + 0);
    expect(Array.from(q)).toEqual(Array.from(f32(expected)));
    expect(q[9]).toBe(Math.fround(-m)); // -10 clipped to the outermost level
    expect(new Set(Array.from(q)).size).toBeLessThanOrEqual(7);
    // Against max|w| = 10 (step 10/3): every weight but -10 rounds to 0.
    expect(Array.from(uniformQuantize(w, 3)).filter((v) => v !== 0)).toEqual([Math.fround(-10)]);
    // P = 100 is max|w|.
    expect(Array.from(uniformQuantize(w, 3, 100))).toEqual(Array.from(uniformQuantize(w, 3)));
  });

  test('binary: sign x mean|w|, exactly two values', () => {
    const { values, alpha } = binarize(f32([-2, 1, 0, 3]));
    expect(alpha).toBe(1.5);
    expect(Array.from(values)).toEqual([-1.5, 1.5, 1.5, 1.5]);
  });

  test('ternary: threshold 0.7 mean|w|, alpha = mean of the large |w|', () => {
    // mean|w| = 6 / 6 = 1, delta = 0.7: |w| > 0.7 are -2, 1.5, 0.9, 1 -> alpha = 5.4 / 4
    const { values, alpha, delta } = ternarize(f32([-2, 0.1, 1.5, 0.5, 0.9, 1]));
    expect(delta).toBeCloseTo(0.7, 6);
    expect(alpha).toBeCloseTo(1.35, 6);
    expect(distinct(values).length).toBe(3);
    expect(Array.from(values).map((v) => Math.sign(v))).toEqual([-1, 0, 1, 0, 1, 1]);
  });
});

describe('input quantisers', () => {
  test('uniform:2 over [0, max]: 4 codes', () => {
    const q = calibrateInputQuantizer({ kind: 'uniform', bits: 2 }, f32([0, 0.5, 3]));
    expect(q).toEqual({ kind: 'uniform', bits: 2, max: 3 });
    const x = f32([-1, 0.4, 0.6, 1.4, 2.6, 5]);
    applyInputQuantizer(q, x);
    expect(Array.from(x)).toEqual([0, 0, 1, 1, 3, 3]);
  });

  test('exponential fit by maximum likelihood recovers location and scale', () => {
    const rng = streamFor(3, 'exp');
    const x0 = 0.2;
    const beta = 0.5;
    const sample = Float32Array.from({ length: 200000 }, (_, i) =>
      i % 4 === 0 ? 0 : x0 - beta * Math.log(1 - rng.uniform()),
    );
    const fit = fitExponential(sample);
    expect(fit.count).toBe(150000);
    expect(fit.x0).toBeCloseTo(x0, 3);
    expect(Math.abs(fit.beta - beta) / beta).toBeLessThan(0.01);
    const mean = calibrateInputQuantizer({ kind: 'expfit', rule: 'mean' }, sample);
    const q3 = calibrateInputQuantizer({ kind: 'expfit', rule: 'q3' }, sample);
    expect(mean.kind === 'threshold' && mean.threshold).toBeCloseTo(fit.x0 + fit.beta, 6);
    expect(q3.kind === 'threshold' && q3.threshold).toBeCloseTo(fit.x0 + fit.beta * Math.log(4), 6);
    // Memorylessness: E[x | x >= t] = t + beta for an exponential.
    expect(q3.kind === 'threshold' && q3.high).toBeCloseTo(fit.x0 + fit.beta * Math.log(4) + beta, 1);
  });
});

describe('fixed:B, the second study\'s "first B bits of the original value"', () => {
  test('weights: sign and the first B bits after the binary point, truncated; |w| >= 1 saturates', () => {
    // 0.8 = 0.1100110...b: first 2 bits 0.11b = 0.75; 0.3 = 0.0100110...b -> 0.25; 0.2 -> 0.0
    const w = Float32Array.of(0.8, -0.8, 0.3, -0.3, 0.2, -0.2, 1.7, -3, 0.75, 0, 0.249);
    const { values, quantization } = quantizeWeights(w, parseWeightQuantizer('fixed:2'));
    expect([...values]).toEqual([0.75, -0.75, 0.25, -0.25, 0, 0, 0.75, -0.75, 0.75, 0, 0]);
    expect(quantization).toEqual({ kind: 'fixed', bits: 2, scale: 1 });
    expect(Object.is(fixedPoint(-0.1, 2), -0)).toBe(false);
    // 3 bits: 0.8 -> 0.110b = 0.75, 0.3 -> 0.010b = 0.25, 0.2 -> 0.001b = 0.125, 0.99 -> 0.111b
    expect([0.8, 0.3, 0.2, 0.99, 5].map((v) => fixedPoint(v, 3))).toEqual([0.75, 0.25, 0.125, 0.875, 0.875]);
    // Every value is a multiple of 2^-B and never larger in magnitude than the original (below 1).
    const r = streamFor(3, 'fixed');
    for (let k = 0; k < 1000; k++) {
      const v = (r.uniform() - 0.5) * 2;
      const q = fixedPoint(v, 4);
      expect(Number.isInteger(q * 16)).toBe(true);
      expect(Math.abs(q)).toBeLessThanOrEqual(Math.abs(v));
      expect(Math.abs(v) - Math.abs(q)).toBeLessThan(1 / 16);
    }
  });

  test("fixed:B@max: the binary point just above the layer's largest |w|; the first B bits from there", () => {
    // max|w| = 0.3 = 0.0100110...b: leading one at 2^-2, scale 2^-1; 3 bits keep 2^-2..2^-4.
    const w = Float32Array.of(0.3, -0.2, 0.1, 0.06, -0.03);
    const { values, quantization } = quantizeWeights(w, parseWeightQuantizer('fixed:3@max'));
    expect(quantization).toEqual({ kind: 'fixed', bits: 3, scale: 0.5 });
    // 0.3 -> 0.0100b = 0.25; 0.2 -> 0.0011b = 0.1875; 0.1 -> 0.0001b = 0.0625; 0.06 and 0.03 -> 0
    expect([...values]).toEqual([0.25, -0.1875, 0.0625, 0, 0].map(Math.fround));
    expect(leadingBitScale([0.5])).toBe(1); // 0.1b: its own leading one is kept
    expect(leadingBitScale([0.49, -3])).toBe(4);
    expect(leadingBitScale([0, 0])).toBe(1);
    expect(weightQuantizerLabel(parseWeightQuantizer('fixed:2@max'))).toBe('fixed:2@max');
    expect(() => parseWeightQuantizer('fixed:2@min')).toThrow(/fixed:B takes only @max/);
    const q = calibrateInputQuantizer(parseInputQuantizer('fixed:2@max'), Float32Array.of(0, 3.2, 1));
    expect(q).toEqual({ kind: 'fixed', bits: 2, scale: 4 });
    const x = Float32Array.of(3.2, 2.9, 1.1, 0.9, 7);
    applyInputQuantizer(q, x);
    expect([...x]).toEqual([3, 2, 1, 0, 3]);
    expect(inputQuantizerLabel(parseInputQuantizer('fixed:2@max'))).toBe('fixed:2@max');
  });

  test('inputs: unsigned, the same grid without calibration; negatives become 0', () => {
    const q = calibrateInputQuantizer(parseInputQuantizer('fixed:3'), Float32Array.of(7, 9));
    expect(q).toEqual({ kind: 'fixed', bits: 3, scale: 1 });
    const x = Float32Array.of(-1, 0, 0.124, 0.125, 0.6, 0.99, 4);
    applyInputQuantizer(q, x);
    expect([...x]).toEqual([0, 0, 0, 0.125, 0.5, 0.875, 0.875]);
    expect(inputQuantizerLabel(parseInputQuantizer('fixed:1'))).toBe('fixed:1');
  });
});

describe('quantiser strings', () => {
  test('parse and reject', () => {
    expect(parseWeightQuantizer('quantile:4')).toEqual({ kind: 'quantile', levels: 4 });
    expect(parseWeightQuantizer('uniform:3')).toEqual({ kind: 'uniform', bits: 3 });
    expect(parseInputQuantizer('expfit:q3')).toEqual({ kind: 'expfit', rule: 'q3' });
    expect(() => parseWeightQuantizer('quantile:1')).toThrow(/2\.\.256/);
    expect(() => parseWeightQuantizer('log:3')).toThrow(InputError);
    expect(parseWeightQuantizer('fixed:3')).toEqual({ kind: 'fixed', bits: 3 });
    expect(weightQuantizerLabel({ kind: 'fixed', bits: 3 })).toBe('fixed:3');
    for (const bad of ['fixed:0', 'fixed:17', 'fixed:', 'fixed:2.5'])
      expect(() => parseWeightQuantizer(bad)).toThrow(
        /"fixed:\S*": the bit count B must be a whole number in 1\.\.16|is unknown .*fixed:B with B 1\.\.16/,
      );
    expect(() => parseInputQuantizer('fixed:0')).toThrow(/uniform:B, fixed:B or fixed:B@max with B 1\.\.16/);
    expect(() => parseInputQuantizer('expfit:median')).toThrow(/expfit:mean/);
    expect(parseWeightQuantizer('uniform:3@99.9')).toEqual({
      kind: 'uniform',
      bits: 3,
      clipPercentile: 99.9,
    });
    expect(weightQuantizerLabel(parseWeightQuantizer('uniform:3@99.9'))).toBe('uniform:3@99.9');
    for (const bad of ['uniform:3@', 'uniform:3@40', 'uniform:3@101', 'uniform:3@x', 'uniform:@99'])
      expect(() => parseWeightQuantizer(bad)).toThrow(InputError);
    expect(() => parseWeightQuantizer('uniform:3@40')).toThrow(
      /clip percentile P of uniform:B@P .*50\.\.100/,
    );
  });
});
