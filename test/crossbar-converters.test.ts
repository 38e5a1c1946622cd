import { streamFor } from '../src/util/random';
import {
  applyAdc,
  calibratedFullScale,
  fullScaleCurrent,
  losslessAdcBits,
  percentile,
} from '../src/crossbar/adc';
import { applyDac, dacInputBits, dacVoltage } from '../src/crossbar/dac';

describe('DAC', () => {
  test('l-bit codes: round(clip(x/xMax, 0, 1) (2^l - 1)) / (2^l - 1) vRead', () => {
    const x = Float32Array.from([-1, 0, 0.1, 0.5, 0.99, 1, 1.5, 2]);
    const v = applyDac(x, { kind: 'bits', bits: 2 }, 2, 0.2);
    // x/xMax = 0, 0, 0.05, 0.25, 0.495, 0.5, 0.75, 1 -> codes 0, 0, 0, 1 (0.75), 1 (1.485), 2 (1.5), 2 (2.25), 3.
    const expected = [0, 0, 0, 1, 1, 2, 2, 3].map((c) => Math.fround((c / 3) * 0.2));
    expect(Array.from(v)).toEqual(expected);
    expect(dacVoltage(3, { kind: 'bits', bits: 8 }, 2, 0.2)).toBeCloseTo(0.2, 7);
    expect(dacVoltage(1, { kind: 'bits', bits: 8 }, 2, 0.2)).toBeCloseTo((128 / 255) * 0.2, 7);
  });

  test('binary and ideal', () => {
    const x = Float32Array.from([-0.5, 0, 1e-6, 0.3, 5]);
    expect(Array.from(applyDac(x, { kind: 'binary' }, 1, 0.2))).toEqual(
      [0, 0, 0.2, 0.2, 0.2].map(Math.fround),
    );
    // Ideal: exact and unclipped, like the trial's DAC step (an ideal chip equals the digital network).
    const ideal = applyDac(x, { kind: 'ideal' }, 2, 0.2);
    [-0.05, 0, 1e-7, 0.03, 0.5].forEach((v, k) => expect(ideal[k]).toBeCloseTo(v, 7));
  });

  test('in place, and input bits for the lossless formula', () => {
    const x = Float32Array.from([0.25, 1]);
    expect(applyDac(x, { kind: 'bits', bits: 1 }, 1, 0.1, x)).toBe(x);
    expect(Array.from(x)).toEqual([0, Math.fround(0.1)]);
    expect([
      dacInputBits({ kind: 'bits', bits: 5 }),
      dacInputBits({ kind: 'binary' }),
      dacInputBits({ kind: 'ideal' }),
    ]).toEqual([5, 1, null]);
    expect(() => applyDac(x, { kind: 'bits', bits: 4 }, 0, 0.1)).toThrow(RangeError);
  });
});

describe('ADC', () => {
  test('z-bit quantisation over [0, iFull], clipping counted', () => {
    const i = Float32Array.from([-1e-6, 0, 1e-6, 4.9e-6, 5e-6, 10e-6, 12e-6, 30e-6]);
    const { out, clipped } = applyAdc(i, { kind: 'bits', bits: 2, range: { kind: 'full-scale' } }, 15e-6);
    // i/iFull*3 = -0.2, 0, 0.2, 0.98, 1, 2, 2.4, 6 -> codes 0, 0, 0, 1, 1, 2, 2, 3 -> code * 5 uA.
    expect(Array.from(out)).toEqual([0, 0, 0, 5e-6, 5e-6, 10e-6, 10e-6, 15e-6].map(Math.fround));
    expect(clipped).toBe(1);
  });

  test('8-bit error is at most half a step inside the range', () => {
    const n = 1000;
    const i = Float32Array.from({ length: n }, (_, k) => (k / (n - 1)) * 1e-3);
    // Full scale is the float32 top current itself, so nothing lies above it.
    const { out, clipped } = applyAdc(i, { kind: 'bits', bits: 8, range: { kind: 'full-scale' } }, i[n - 1]);
    expect(clipped).toBe(0);
    for (let k = 0; k < n; k++) expect(Math.abs(out[k] - i[k])).toBeLessThanOrEqual(1e-3 / 255 / 2 + 1e-12);
  });

  test('ideal ADC copies', () => {
    const i = Float32Array.from([1, 2, 300]);
    expect(applyAdc(i, { kind: 'ideal', range: { kind: 'full-scale' } }, 1)).toEqual({ out: i, clipped: 0 });
  });

  test('full-scale and calibrated ranges', () => {
    expect(fullScaleCurrent(128, 225e-6, 0.2)).toBeCloseTo(128 * 225e-6 * 0.2, 15);
    // Type-7 percentile: position (n - 1) p / 100.
    const sample = Float32Array.from([5, 1, 4, 2, 3]);
    expect(percentile(sample, 50)).toBe(3);
    expect(percentile(sample, 100)).toBe(5);
    expect(percentile(sample, 0)).toBe(1);
    expect(percentile(sample, 90)).toBeCloseTo(4.6, 12);
    const big = Float32Array.from({ length: 1001 }, (_, k) => 1000 - k);
    expect(calibratedFullScale(big, 99.9)).toBeCloseTo(999, 9);
    expect(() => percentile(new Float32Array(0), 50)).toThrow(RangeError);
  });

  test('percentile by selection equals interpolation between the sorted order statistics', () => {
    const rng = streamFor(3, 'percentile');
    for (let c = 0; c < 200; c++) {
      const r = rng.child(c);
      const n = 1 + r.int(c < 100 ? 12 : 3000);
      // Few distinct values in some cases, so that ties around the pivot are common.
      const distinct = c % 3 === 0 ? 1 + r.int(4) : 0;
      const sample = Float64Array.from({ length: n }, () => (distinct ? r.int(distinct) : r.normal()));
      const sorted = Float64Array.from(sample).sort();
      for (const p of [0, 100, 50, 99.9, 100 * r.uniform()]) {
        const h = ((n - 1) * p) / 100;
        const lo = Math.floor(h);
        const hi = Math.min(lo + 1, n - 1);
        const want = sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
        expect(percentile(sample, p)).toBe(want);
      }
    }
  });

  test('lossless ADC bits (second study)', () => {
    expect(losslessAdcBits(128, 1, 1)).toBe(8);
    expect(losslessAdcBits(128, 2, 3)).toBe(12);
    expect(losslessAdcBits(128, 3, 3)).toBe(13);
    // Exhaustive check of the formula's premise on small cases: the largest column sum d (2^w-1)(2^l-1)
    // fits in z bits, or in z bits with the 1-bit saving.
    for (const d of [1, 2, 3, 100, 128, 129])
      for (const w of [1, 2, 3])
        for (const l of [1, 2, 4]) {
          const maxSum = d * (2 ** w - 1) * (2 ** l - 1);
          expect(2 ** losslessAdcBits(d, w, l)).toBeGreaterThan(maxSum);
        }
  });
});
