/**
 * Weight and input quantisers (TF-free). See docs/quantization.md for the exact rules.
 * Biases are never quantised: in the crossbar they are added digitally after the ADC.
 */
import { quantileSorted } from 'simple-statistics';
import { InputError } from '../util/errors';
import type { InputQuantizer, WeightQuantization } from './description';

export type WeightQuantizerSpec =
  | { kind: 'quantile'; levels: number }
  /** clipPercentile: the grid spans +-(that percentile of |w|) instead of +-max|w| (uniform:B@P). */
  | { kind: 'uniform'; bits: number; clipPercentile?: number }
  | { kind: 'binary' }
  | { kind: 'ternary' }
  /**
   * Second study's reading: sign and the first B bits of |w|'s binary expansion (see fixedPoint), from
   * the binary point (`fixed:B`) or from the layer's leading bit (`fixed:B@max`, point 'max').
   */
  | { kind: 'fixed'; bits: number; point?: 'max' };

export function parseWeightQuantizer(text: string): WeightQuantizerSpec {
  const [kind, arg] = text.trim().toLowerCase().split(':');
  const num = (lo: number, hi: number, what: string, value = arg) => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < lo || n > hi)
      throw new InputError(`weight quantiser "${text}": ${what} must be a whole number in ${lo}..${hi}`);
    return n;
  };
  if (kind === 'quantile') return { kind, levels: num(2, 256, 'the level count N') };
  if (kind === 'uniform') {
    const [bitsText, clipText] = (arg ?? '').split('@');
    const bits = num(2, 16, 'the bit count B', bitsText);
    if (clipText === undefined) return { kind, bits };
    const p = clipText.trim() === '' ? NaN : Number(clipText);
    if (!(p >= 50 && p <= 100))
      throw new InputError(
        `weight quantiser "${text}": the clip percentile P of uniform:B@P must be a number in 50..100`,
      );
    return { kind, bits, clipPercentile: p };
  }
  if (kind === 'fixed') {
    const [bitsText, point] = (arg ?? '').split('@');
    const bits = num(1, 16, 'the bit count B', bitsText);
    if (point === undefined) return { kind, bits };
    if (point === 'max') return { kind, bits, point };
    throw new InputError(`weight quantiser "${text}": fixed:B takes only @max (got @${point})`);
  }
  if ((kind === 'binary' || kind === 'ternary') && arg === undefined) return { kind };
  throw new InputError(
    `weight quantiser "${text}" is unknown (allowed: quantile:N with N 2..256, uniform:B with B 2..16, uniform:B@P with P 50..100, fixed:B and fixed:B@max with B 1..16, binary, ternary)`,
  );
}

export function weightQuantizerLabel(spec: WeightQuantizerSpec): string {
  if (spec.kind === 'quantile') return `quantile:${spec.levels}`;
  if (spec.kind === 'fixed') return `fixed:${spec.bits}${spec.point ? `@${spec.point}` : ''}`;
  if (spec.kind === 'uniform')
    return spec.clipPercentile === undefined
      ? `uniform:${spec.bits}`
      : `uniform:${spec.bits}@${spec.clipPercentile}`;
  return spec.kind;
}

/** Quantise a weight array; returns the new values and the record stored in the description. */
export function quantizeWeights(
  w: Float32Array,
  spec: WeightQuantizerSpec,
): { values: Float32Array; quantization: WeightQuantization } {
  switch (spec.kind) {
    case 'quantile':
      return { values: quantileQuantize(w, spec.levels), quantization: spec };
    case 'uniform':
      return { values: uniformQuantize(w, spec.bits, spec.clipPercentile), quantization: spec };
    case 'fixed': {
      const scale = spec.point === 'max' ? leadingBitScale(w) : 1;
      return {
        values: w.map((v) => fixedPoint(v, spec.bits, scale)),
        quantization: { kind: 'fixed', bits: spec.bits, scale },
      };
    }
    case 'binary': {
      const { values, alpha } = binarize(w);
      return { values, quantization: { kind: 'binary', alpha } };
    }
    case 'ternary': {
      const { values, alpha } = ternarize(w);
      return { values, quantization: { kind: 'ternary', alpha } };
    }
  }
}

/**
 * Equal-population bins with edges at the weight quantiles; each weight becomes the mean of its bin.
 * Equal weights always share a bin, so a layer ends with exactly min(N, distinct values) values.
 */
export function quantileQuantize(w: Float32Array, levels: number): Float32Array {
  const sorted = Float32Array.from(w).sort();
  // Distinct values and their cumulative counts.
  const distinct: number[] = [];
  const cumCount: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      distinct.push(sorted[i]);
      cumCount.push(0);
    }
    cumCount[cumCount.length - 1] = i + 1;
  }
  const d = distinct.length;
  const k = Math.min(levels, d);
  // cut[b] = number of distinct values in bins 0..b-1; pick the cut whose population is nearest the
  // ideal quantile while leaving at least one distinct value for every later bin.
  const cuts = [0];
  for (let b = 1; b < k; b++) {
    const target = (sorted.length * b) / k;
    const lo = cuts[b - 1] + 1;
    const hi = d - (k - b);
    let best = lo;
    for (let j = lo; j <= hi; j++) {
      if (Math.abs(cumCount[j - 1] - target) < Math.abs(cumCount[best - 1] - target)) best = j;
    }
    cuts.push(best);
  }
  cuts.push(d);
  // Bin of each distinct value, and each bin's mean (float64 sums).
  const binOfDistinct = new Int32Array(d);
  const binMean = new Float64Array(k);
  for (let b = 0; b < k; b++) {
    let sum = 0;
    let count = 0;
    for (let j = cuts[b]; j < cuts[b + 1]; j++) {
      binOfDistinct[j] = b;
      const c = cumCount[j] - (j > 0 ? cumCount[j - 1] : 0);
      sum += distinct[j] * c;
      count += c;
    }
    binMean[b] = sum / count;
  }
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = binMean[binOfDistinct[lowerBound(distinct, w[i])]];
  return out;
}

function lowerBound(arr: number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Symmetric uniform B-bit (sign-magnitude) over [-m, m]: 2^B - 1 levels, zero included,
 * step = m / (2^(B-1) - 1). m = max|w|, or with `clipPercentile` P the P-th percentile of |w| (linear
 * interpolation between order statistics, numpy's default), weights beyond +-m going to +-m: a few large
 * weights then no longer stretch the grid until most weights round to 0.
 */
export function uniformQuantize(w: Float32Array, bits: number, clipPercentile?: number): Float32Array {
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]));
  let range = maxAbs;
  if (clipPercentile !== undefined && clipPercentile < 100 && w.length > 0) {
    const sortedAbs = Float64Array.from(w, Math.abs).sort(); // typed arrays sort numerically
    range = quantileSorted(sortedAbs as unknown as number[], clipPercentile / 100);
  }
  const steps = 2 ** (bits - 1) - 1;
  const out = new Float32Array(w.length);
  if (range === 0) return out;
  const step = range / steps;
  // Round magnitudes so the grid stays symmetric (Math.round sends -1.5 to -1); `+ 0` drops -0.
  for (let i = 0; i < w.length; i++)
    out[i] = Math.sign(w[i]) * Math.min(steps, Math.round(Math.abs(w[i]) / step)) * step + 0;
  return out;
}

/**
 * The second study's "only the first B bits of the original value": the value's binary expansion
 * sign-magnitude with the binary point at 2^0, truncated after its first B fractional bits
 * (sign(v) floor(|v| 2^B) / 2^B), magnitudes at or above 1 saturating at 1 - 2^-B. No scaling: the
 * grid is the same for every layer, so weights below 2^-B become 0 (docs/quantization.md discusses
 * this reading and its alternatives). With `scale` s (a power of two) the binary point moves: s
 * fixedPoint(v / s), exact in floating point.
 */
export function fixedPoint(v: number, bits: number, scale = 1): number {
  const codes = 2 ** bits;
  return Math.sign(v) * scale * (Math.min(codes - 1, Math.floor((Math.abs(v) / scale) * codes)) / codes) + 0;
}

/**
 * The power of two just above a layer's largest magnitude, 2^(floor(log2 max|v|) + 1), so that fixed:B@max
 * keeps the first B bits counted from the largest value's leading one (1 for an all-zero layer).
 */
export function leadingBitScale(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  return max > 0 ? 2 ** (Math.floor(Math.log2(max)) + 1) : 1;
}

/** sign(w) x alpha with alpha = mean |w| (sign(0) = +1, so exactly two values). */
export function binarize(w: Float32Array): { values: Float32Array; alpha: number } {
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += Math.abs(w[i]);
  const alpha = Math.fround(sum / w.length);
  const values = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) values[i] = w[i] >= 0 ? alpha : -alpha;
  return { values, alpha };
}

/** Ternary weights (Li & Liu, TWN 2016): delta = 0.7 mean|w|; alpha = mean |w| over |w| > delta. */
export function ternarize(w: Float32Array): { values: Float32Array; alpha: number; delta: number } {
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += Math.abs(w[i]);
  const delta = (0.7 * sum) / w.length;
  let big = 0;
  let count = 0;
  for (let i = 0; i < w.length; i++) {
    if (Math.abs(w[i]) > delta) {
      big += Math.abs(w[i]);
      count++;
    }
  }
  const alpha = Math.fround(count ? big / count : 0);
  const values = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) values[i] = Math.abs(w[i]) > delta ? Math.sign(w[i]) * alpha : 0;
  return { values, alpha, delta };
}

// ---------------------------------------------------------------------------------------------------
// Input quantisers.

export type InputQuantizerSpec =
  | { kind: 'uniform'; bits: number }
  | { kind: 'fixed'; bits: number; point?: 'max' }
  | { kind: 'expfit'; rule: 'mean' | 'q3' };

export function parseInputQuantizer(text: string): InputQuantizerSpec {
  const [kind, arg] = text.trim().toLowerCase().split(':');
  const [bitsText, point] = (arg ?? '').split('@');
  const n = Number(bitsText);
  const bitsOk = bitsText.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= 16;
  if (kind === 'uniform' && bitsOk && point === undefined) return { kind, bits: n };
  if (kind === 'fixed' && bitsOk && point === undefined) return { kind, bits: n };
  if (kind === 'fixed' && bitsOk && point === 'max') return { kind, bits: n, point };
  if (kind === 'expfit' && (arg === 'mean' || arg === 'q3')) return { kind, rule: arg };
  throw new InputError(
    `input quantiser "${text}" is unknown (allowed: uniform:B, fixed:B or fixed:B@max with B 1..16, expfit:mean, expfit:q3)`,
  );
}

export function inputQuantizerLabel(spec: InputQuantizerSpec): string {
  if (spec.kind === 'expfit') return `expfit:${spec.rule}`;
  return `${spec.kind}:${spec.bits}${spec.kind === 'fixed' && spec.point ? `@${spec.point}` : ''}`;
}

/** Exponential fit of the non-zero inputs by maximum likelihood: x0 = min, beta = mean - x0. */
export function fitExponential(values: Float32Array): { x0: number; beta: number; count: number } {
  let x0 = Infinity;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== 0) {
      x0 = Math.min(x0, v);
      sum += v;
      count++;
    }
  }
  if (count === 0) throw new InputError('exponential fit: the layer has no non-zero inputs');
  return { x0, beta: sum / count - x0, count };
}

/**
 * Calibrate an input quantiser on a sample of a layer's (non-negative) training inputs.
 * uniform:B: 2^B codes over [0, max of the sample]. fixed:B needs none (its binary point is fixed);
 * fixed:B@max puts it above the sample's largest value (leadingBitScale).
 * expfit:mean / expfit:q3: 1 bit, threshold at the fitted exponential's mean (x0 + beta) or third
 * quartile (x0 + beta ln 4); an input at or above it becomes `high`, the mean of the sample's inputs
 * at or above the threshold, so the layer keeps its scale.
 */
export function calibrateInputQuantizer(spec: InputQuantizerSpec, sample: Float32Array): InputQuantizer {
  if (spec.kind === 'fixed')
    return { kind: 'fixed', bits: spec.bits, scale: spec.point === 'max' ? leadingBitScale(sample) : 1 };
  if (spec.kind === 'uniform') {
    let max = 0;
    for (let i = 0; i < sample.length; i++) max = Math.max(max, sample[i]);
    return { kind: 'uniform', bits: spec.bits, max: max || 1 };
  }
  const { x0, beta } = fitExponential(sample);
  const threshold = spec.rule === 'mean' ? x0 + beta : x0 + beta * Math.log(4);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] >= threshold) {
      sum += sample[i];
      count++;
    }
  }
  return {
    kind: 'threshold',
    threshold,
    high: count ? sum / count : threshold,
    fit: { distribution: 'exponential', x0, beta, rule: spec.rule },
  };
}

/** Apply an input quantiser in place. */
export function applyInputQuantizer(q: InputQuantizer, x: Float32Array): void {
  if (q.kind === 'uniform') {
    const steps = 2 ** q.bits - 1;
    const scale = steps / q.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] <= 0 ? 0 : x[i] >= q.max ? q.max : x[i];
      x[i] = Math.round(v * scale) / scale;
    }
  } else if (q.kind === 'fixed') {
    for (let i = 0; i < x.length; i++) x[i] = x[i] <= 0 ? 0 : fixedPoint(x[i], q.bits, q.scale);
  } else {
    for (let i = 0; i < x.length; i++) x[i] = x[i] >= q.threshold ? q.high : 0;
  }
}
