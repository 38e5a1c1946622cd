/**
 * Least-squares choice of the weight scale a (weight per siemens) for a set of representable conductance
 * values V: minimise E(a) = sum_w (w - a v(w))^2, where v(w) is the element of V nearest w / a.
 *
 * E is piecewise quadratic in a with jumps where assignments change, so the search is: a log grid of a
 * (plus the scales that map the largest weight exactly onto each representable value), on a compressed
 * weight histogram; then alternating minimisation from the best few (nearest assignment for fixed a,
 * closed-form a = sum w v / sum v^2 for fixed assignment), which never increases E.
 */

/** Sorted distinct weights with multiplicities; `ss` is the within-bin sum of squares (0 when exact). */
export interface WeightHistogram {
  values: Float64Array;
  counts: Float64Array;
  ss: Float64Array;
  total: number;
}

export function weightHistogram(weights: Float32Array): WeightHistogram {
  const sorted = Float64Array.from(weights).sort();
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++k] = sorted[i];
    counts[k]++;
  }
  return { values, counts, ss: new Float64Array(distinct), total: sorted.length };
}

/** Merge consecutive values into at most `maxBins` bins of about equal count (mean, count, within-SS). */
function compressHistogram(h: WeightHistogram, maxBins: number): WeightHistogram {
  const n = h.values.length;
  if (n <= maxBins) return h;
  const values = new Float64Array(maxBins);
  const counts = new Float64Array(maxBins);
  const ss = new Float64Array(maxBins);
  let i = 0;
  let cumulative = 0;
  for (let b = 0; b < maxBins; b++) {
    const target = (h.total * (b + 1)) / maxBins;
    let c = 0;
    let s1 = 0;
    let s2 = 0;
    // Take at least one value per bin and leave at least one for each later bin.
    while (i < n - (maxBins - 1 - b) && (c === 0 || cumulative + h.counts[i] <= target)) {
      c += h.counts[i];
      s1 += h.counts[i] * h.values[i];
      s2 += h.counts[i] * h.values[i] * h.values[i] + h.ss[i];
      cumulative += h.counts[i];
      i++;
    }
    values[b] = s1 / c;
    counts[b] = c;
    ss[b] = Math.max(0, s2 - (s1 * s1) / c);
  }
  return { values, counts, ss, total: h.total };
}

interface Evaluation {
  sse: number;
  swv: number;
  svv: number;
}

/** E(a) with nearest assignment; V sorted ascending, `mids` its midpoints. Ties go to the value nearer 0. */
function evaluate(h: WeightHistogram, reps: Float64Array, mids: Float64Array, a: number): Evaluation {
  let j = 0;
  let sse = 0;
  let swv = 0;
  let svv = 0;
  const last = reps.length - 1;
  for (let i = 0; i < h.values.length; i++) {
    const w = h.values[i];
    const x = w / a;
    while (j < last && (x > mids[j] || (x === mids[j] && mids[j] < 0))) j++;
    const v = reps[j];
    const c = h.counts[i];
    const e = w - a * v;
    sse += c * e * e + h.ss[i];
    swv += c * w * v;
    svv += c * v * v;
  }
  return { sse, swv, svv };
}

function midpoints(reps: Float64Array): Float64Array {
  const mids = new Float64Array(Math.max(reps.length - 1, 0));
  for (let j = 0; j < mids.length; j++) mids[j] = (reps[j] + reps[j + 1]) / 2;
  return mids;
}

/** Alternate nearest assignment and closed-form a until a stops moving. */
function refine(
  h: WeightHistogram,
  reps: Float64Array,
  mids: Float64Array,
  a0: number,
): { a: number; sse: number } {
  let a = a0;
  let best = { a, sse: evaluate(h, reps, mids, a).sse };
  for (let iter = 0; iter < 200; iter++) {
    const { swv, svv } = evaluate(h, reps, mids, a);
    if (!(svv > 0) || !(swv > 0)) break;
    const next = swv / svv;
    const sse = evaluate(h, reps, mids, next).sse;
    if (sse < best.sse) best = { a: next, sse };
    if (Math.abs(next - a) <= 1e-14 * a || sse > best.sse) break;
    a = next;
  }
  return best;
}

export interface ScaleFit {
  /** Index of the representable set chosen (offset mapping tries one set per reference level). */
  setIndex: number;
  /** Weight per siemens, > 0. */
  scale: number;
  /** Sum of squared weight errors. */
  sse: number;
}

const GRID_POINTS = 256;
const GRID_KEEP = 8;
const FULL_REFINE = 3;

/**
 * Best (set, a) over several representable sets (each sorted ascending and containing 0).
 */
export function fitScale(h: WeightHistogram, sets: Float64Array[]): ScaleFit {
  const wMin = h.values[0];
  const wMax = h.values[h.values.length - 1];
  const wAbs = Math.max(Math.abs(wMin), Math.abs(wMax));
  if (wAbs === 0) {
    // All weights zero: any scale is exact; pick the one that maps weight 1 to the largest value.
    const vMax = Math.max(...sets[0].map(Math.abs));
    return { setIndex: 0, scale: 1 / vMax, sse: 0 };
  }
  // Keep the grid stage at a few million operations whatever the number of sets.
  const bins = Math.max(256, Math.min(4096, Math.floor(2 ** 22 / (sets.length * GRID_POINTS))));
  const small = compressHistogram(h, bins);
  const mids = sets.map(midpoints);

  const candidates: Array<{ setIndex: number; a: number; sse: number }> = [];
  sets.forEach((reps, s) => {
    let vMaxAbs = 0;
    let vMinAbs = Infinity;
    for (const v of reps) {
      if (v === 0) continue;
      vMaxAbs = Math.max(vMaxAbs, Math.abs(v));
      vMinAbs = Math.min(vMinAbs, Math.abs(v));
    }
    if (vMaxAbs === 0) return;
    const scales: number[] = [];
    // Scales that put the largest weight of either sign exactly on a representable value.
    for (const v of reps) {
      if (v > 0 && wMax > 0) scales.push(wMax / v);
      if (v < 0 && wMin < 0) scales.push(wMin / v);
    }
    // Log grid from heavy clipping (a vMax = wAbs / 100) to everything but the extremes rounding to 0.
    const aLo = wAbs / vMaxAbs / 100;
    const aHi = (2 * wAbs) / vMinAbs;
    for (let g = 0; g < GRID_POINTS; g++) scales.push(aLo * (aHi / aLo) ** (g / (GRID_POINTS - 1)));
    for (const a of scales) candidates.push({ setIndex: s, a, sse: evaluate(small, reps, mids[s], a).sse });
  });
  if (candidates.length === 0) throw new Error('fitScale: no representable set has a nonzero value');

  candidates.sort((p, q) => p.sse - q.sse);
  const refined = candidates
    .slice(0, GRID_KEEP)
    .map((c) => ({ setIndex: c.setIndex, ...refine(small, sets[c.setIndex], mids[c.setIndex], c.a) }));
  refined.sort((p, q) => p.sse - q.sse);
  const finalists = refined.slice(0, FULL_REFINE);
  const fits: ScaleFit[] = finalists.map((c) => {
    const full = small === h ? c : refine(h, sets[c.setIndex], mids[c.setIndex], c.a);
    return { setIndex: c.setIndex, scale: full.a, sse: full.sse };
  });
  // Among fits equal up to rounding, prefer the lowest set index (the lower reference level).
  const lowest = Math.min(...fits.map((f) => f.sse));
  let sww = 0;
  for (let i = 0; i < h.values.length; i++) sww += h.counts[i] * h.values[i] * h.values[i] + h.ss[i];
  const tolerance = 1e-9 * lowest + 1e-20 * sww;
  return fits.filter((f) => f.sse <= lowest + tolerance).sort((p, q) => p.setIndex - q.setIndex)[0];
}

/** Index of the element of sorted `reps` nearest x, with the same tie rule as the fit (toward 0). */
export function nearestIndex(reps: Float64Array, x: number): number {
  let lo = 0;
  let hi = reps.length; // first index with reps[i] >= x
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (reps[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === reps.length) return reps.length - 1;
  const m = (reps[lo - 1] + reps[lo]) / 2;
  return x > m || (x === m && m < 0) ? lo : lo - 1;
}
