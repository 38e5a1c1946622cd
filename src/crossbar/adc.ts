/**
 * Column ADCs. Column currents are non-negative (positive read voltages, positive conductances), so a
 * z-bit ADC spans [0, iFull]: code = round(clip(i / iFull, 0, 1) (2^z - 1)), reconstructed
 * i' = code / (2^z - 1) iFull. Each physical column (G+, G-, reference) is converted on its own; the
 * subtraction happens digitally afterwards.
 */
import type { AdcSpec } from './circuit';

export interface AdcResult {
  /** Reconstructed currents, amperes. */
  out: Float32Array;
  /** Number of samples above iFull (saturated at full scale). */
  clipped: number;
}

/** Quantise column currents; `out` may be `currents` itself. An ideal ADC copies and never clips. */
export function applyAdc(
  currents: Float32Array,
  spec: AdcSpec,
  iFullAmps: number,
  out: Float32Array = new Float32Array(currents.length),
): AdcResult {
  if (out.length < currents.length)
    throw new RangeError(`ADC output has ${out.length} slots for ${currents.length} currents`);
  if (spec.kind === 'ideal') {
    if (out !== currents) out.set(currents);
    return { out, clipped: 0 };
  }
  if (!(iFullAmps > 0) || !Number.isFinite(iFullAmps))
    throw new RangeError(`ADC full-scale current must be positive, got ${iFullAmps}`);
  const top = 2 ** spec.bits - 1;
  const step = iFullAmps / top;
  let clipped = 0;
  for (let i = 0; i < currents.length; i++) {
    let r = currents[i] / iFullAmps;
    if (r > 1) {
      r = 1;
      clipped++;
    } else if (r < 0) r = 0;
    out[i] = Math.round(r * top) * step;
  }
  return { out, clipped };
}

/** Full-scale rule: the largest current a column can carry, rowsUsed G_max vRead (all inputs at vRead). */
export function fullScaleCurrent(rowsUsed: number, gMaxSiemens: number, vReadVolts: number): number {
  return rowsUsed * gMaxSiemens * vReadVolts;
}

/**
 * The p-th percentile (0..100) of a sample, by linear interpolation between order statistics (type 7:
 * position (n - 1) p / 100). Selects on a copy in O(n) instead of sorting: a calibration sample of a
 * convolution holds millions of column currents.
 */
export function percentile(sample: Float32Array | Float64Array, p: number): number {
  if (sample.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100, got ${p}`);
  const a = Float64Array.from(sample);
  const h = ((a.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const low = selectInPlace(a, lo);
  if (lo + 1 >= a.length || h === lo) return low;
  // After selection everything past index lo is >= a[lo]: the next order statistic is their minimum.
  let next = Infinity;
  for (let i = lo + 1; i < a.length; i++) if (a[i] < next) next = a[i];
  return low + (h - lo) * (next - low);
}

/**
 * The k-th smallest (0-based) value of a, reordering a so that a[i] <= a[k] for i < k and a[i] >= a[k]
 * for i > k (Hoare's quickselect, median-of-three pivots).
 */
function selectInPlace(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break; // j < k < i: a[k] equals the pivot
  }
  return a[k];
}

/** Calibrated rule: iFull = the given percentile of observed column currents. */
export function calibratedFullScale(
  observedCurrents: Float32Array | Float64Array,
  percentileValue: number,
): number {
  return percentile(observedCurrents, percentileValue);
}

/**
 * ADC bits that make the column read-out lossless: z = ceil(log2 d) + w + l, one less when w = 1 or l = 1
 * (a product of a 1-bit and an n-bit number needs only n bits). d: rows summed, w: weight bits,
 * l: input bits.
 */
export function losslessAdcBits(d: number, w: number, l: number): number {
  for (const [name, v] of [
    ['d', d],
    ['w', w],
    ['l', l],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`losslessAdcBits: ${name} must be a positive integer, got ${v}`);
  return Math.ceil(Math.log2(d)) + w + l - (w === 1 || l === 1 ? 1 : 0);
}
