/**
 * Weight-to-conductance mapping. A layer's weight matrix W (rows x cols, row-major, y = x W) is mapped
 * onto device levels by an affine map whose scale a (weight per siemens) is chosen by least squares over
 * the values the device can represent (see scaleFit.ts and docs/cards.md):
 *
 * - differential: w ~ a (G+ - G-). Representable values are the level-mean differences mu_i - mu_j; each
 *   is realised by the pair with the smallest mu_i + mu_j (the lowest levels: less current, less noise).
 * - offset: w ~ a (G - g_ref), g_ref = mu_r for the best reference level r (its cells sit in the tile's
 *   reference column). Rank-order rule: if the layer has exactly L distinct values on an L-level device,
 *   the k-th smallest value goes to level k, and a and g_ref come from a linear least-squares fit of w on
 *   mu_k; then g_ref may fall between levels (refLevel null: an exact reference, see MappedLayer).
 */
import type { DeviceModel } from '../device/model';
import type { MappingKind } from './circuit';
import { fitScale, nearestIndex, weightHistogram } from './scaleFit';

export type MappingRule = 'nearest-difference' | 'nearest-level' | 'rank-order';

export interface MappedLayer {
  rows: number;
  cols: number;
  mapping: MappingKind;
  rule: MappingRule;
  /** rows*cols level indices (row-major like W): the G+ cell (differential) or the only cell (offset). */
  levelPos: Uint8Array;
  /** rows*cols level indices of the G- cell (differential); null for offset. */
  levelNeg: Uint8Array | null;
  /**
   * Offset: the level the reference column's cells are programmed to. null for differential, and for the
   * rank-order rule when g_ref is not a level mean: then the reference is an exact current gRef vRead per
   * active row (a trimmed reference, not a programmed cell).
   */
  refLevel: number | null;
  /** Offset: reference conductance, siemens; null for differential. */
  gRefSiemens: number | null;
  /** a: w_eff = a (G+ - G-) or a (G - g_ref). Always > 0. */
  weightPerSiemens: number;
  rmsWeightError: number;
  maxAbsWeightError: number;
  /** What the ideal, noiseless chip realises (level means in place of G). */
  effectiveWeights: Float32Array;
}

/** Levels closer than this fraction of the top level mean count as the same difference (cards are rounded). */
const SAME_DIFFERENCE_TOLERANCE = 1e-5;
/** A rank-order reference this close (fraction of the top level mean) to a level mean is that level. */
const REFERENCE_SNAP_TOLERANCE = 1e-9;

export function mapLayer(
  weights: Float32Array,
  rows: number,
  cols: number,
  device: DeviceModel | ArrayLike<number>,
  mapping: MappingKind,
): MappedLayer {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1)
    throw new RangeError(`mapLayer: bad shape ${rows} x ${cols}`);
  if (weights.length !== rows * cols)
    throw new RangeError(`mapLayer: ${weights.length} weights for a ${rows} x ${cols} matrix`);
  for (let i = 0; i < weights.length; i++)
    if (!Number.isFinite(weights[i])) throw new RangeError(`mapLayer: weight ${i} is ${weights[i]}`);
  const mu = levelMeans(device);
  if (mapping === 'differential') return mapDifferential(weights, rows, cols, mu);
  if (mapping === 'offset') return mapOffset(weights, rows, cols, mu);
  throw new RangeError(`mapLayer: unknown mapping ${String(mapping)}`);
}

function levelMeans(device: DeviceModel | ArrayLike<number>): Float64Array {
  const mu =
    'levels' in device ? Float64Array.from(device.levels, (l) => l.gMeanSiemens) : Float64Array.from(device);
  if (mu.length < 2 || mu.length > 256)
    throw new RangeError(`mapLayer: need 2..256 levels, got ${mu.length}`);
  for (let i = 1; i < mu.length; i++)
    if (!(mu[i] > mu[i - 1])) throw new RangeError('mapLayer: level means must be strictly ascending');
  return mu;
}

/** Distinct differences mu_i - mu_j (ascending) and the lowest-sum pair realising each. */
function representableDifferences(mu: Float64Array): {
  values: Float64Array;
  pos: Uint8Array;
  neg: Uint8Array;
} {
  const L = mu.length;
  const pairs: Array<{ d: number; i: number; j: number }> = [];
  for (let i = 0; i < L; i++)
    for (let j = 0; j < L; j++) pairs.push({ d: i === j ? 0 : mu[i] - mu[j], i, j });
  pairs.sort((p, q) => p.d - q.d);
  const tol = SAME_DIFFERENCE_TOLERANCE * mu[L - 1];
  const values: number[] = [];
  const pos: number[] = [];
  const neg: number[] = [];
  let k = 0;
  while (k < pairs.length) {
    const start = pairs[k].d;
    let best = pairs[k];
    let m = k;
    for (; m < pairs.length && pairs[m].d - start <= tol; m++) {
      const p = pairs[m];
      if (p.d === 0 && best.d !== 0)
        best = p; // an exact zero always represents its group
      else if ((p.d === 0) === (best.d === 0) && mu[p.i] + mu[p.j] < mu[best.i] + mu[best.j]) best = p;
    }
    values.push(best.d);
    pos.push(best.i);
    neg.push(best.j);
    k = m;
  }
  return { values: Float64Array.from(values), pos: Uint8Array.from(pos), neg: Uint8Array.from(neg) };
}

function mapDifferential(w: Float32Array, rows: number, cols: number, mu: Float64Array): MappedLayer {
  const diffs = representableDifferences(mu);
  const fit = fitScale(weightHistogram(w), [diffs.values]);
  const a = fit.scale;
  const levelPos = new Uint8Array(w.length);
  const levelNeg = new Uint8Array(w.length);
  const eff = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const k = nearestIndex(diffs.values, w[i] / a);
    levelPos[i] = diffs.pos[k];
    levelNeg[i] = diffs.neg[k];
    eff[i] = a * (mu[levelPos[i]] - mu[levelNeg[i]]);
  }
  return finish(w, rows, cols, eff, {
    mapping: 'differential',
    rule: 'nearest-difference',
    levelPos,
    levelNeg,
    refLevel: null,
    gRefSiemens: null,
    weightPerSiemens: a,
  });
}

function mapOffset(w: Float32Array, rows: number, cols: number, mu: Float64Array): MappedLayer {
  const hist = weightHistogram(w);
  const L = mu.length;
  if (hist.values.length === L) return mapRankOrder(w, rows, cols, mu, hist.values, hist.counts);
  const sets = Array.from({ length: L }, (_, r) => Float64Array.from(mu, (m) => m - mu[r]));
  const fit = fitScale(hist, sets);
  const r = fit.setIndex;
  const a = fit.scale;
  const levelPos = new Uint8Array(w.length);
  const eff = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    levelPos[i] = nearestIndex(sets[r], w[i] / a);
    eff[i] = a * sets[r][levelPos[i]];
  }
  return finish(w, rows, cols, eff, {
    mapping: 'offset',
    rule: 'nearest-level',
    levelPos,
    levelNeg: null,
    refLevel: r,
    gRefSiemens: mu[r],
    weightPerSiemens: a,
  });
}

/** k-th smallest value -> level k; w ~ a mu_k + b by weighted least squares, g_ref = -b / a. */
function mapRankOrder(
  w: Float32Array,
  rows: number,
  cols: number,
  mu: Float64Array,
  values: Float64Array,
  counts: Float64Array,
): MappedLayer {
  let n = 0;
  let muBar = 0;
  let wBar = 0;
  for (let k = 0; k < mu.length; k++) {
    n += counts[k];
    muBar += counts[k] * mu[k];
    wBar += counts[k] * values[k];
  }
  muBar /= n;
  wBar /= n;
  let sxy = 0;
  let sxx = 0;
  for (let k = 0; k < mu.length; k++) {
    sxy += counts[k] * (mu[k] - muBar) * (values[k] - wBar);
    sxx += counts[k] * (mu[k] - muBar) ** 2;
  }
  const a = sxy / sxx; // > 0: both sequences strictly ascending
  const gFit = muBar - wBar / a;
  // A fitted reference that equals a level mean up to rounding is that level (a programmable reference).
  const onLevel = mu.findIndex((m) => Math.abs(m - gFit) <= REFERENCE_SNAP_TOLERANCE * mu[mu.length - 1]);
  const gRef = onLevel >= 0 ? mu[onLevel] : gFit;
  const levelPos = new Uint8Array(w.length);
  const eff = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    levelPos[i] = nearestIndex(values, w[i]); // w[i] is one of `values` exactly
    eff[i] = a * (mu[levelPos[i]] - gRef);
  }
  return finish(w, rows, cols, eff, {
    mapping: 'offset',
    rule: 'rank-order',
    levelPos,
    levelNeg: null,
    refLevel: onLevel >= 0 ? onLevel : null,
    gRefSiemens: gRef,
    weightPerSiemens: a,
  });
}

type MappingCore = Omit<
  MappedLayer,
  'rows' | 'cols' | 'rmsWeightError' | 'maxAbsWeightError' | 'effectiveWeights'
>;

function finish(
  w: Float32Array,
  rows: number,
  cols: number,
  eff: Float64Array,
  core: MappingCore,
): MappedLayer {
  let sse = 0;
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(w[i] - eff[i]);
    sse += e * e;
    if (e > maxAbs) maxAbs = e;
  }
  return {
    rows,
    cols,
    ...core,
    rmsWeightError: Math.sqrt(sse / w.length),
    maxAbsWeightError: maxAbs,
    effectiveWeights: Float32Array.from(eff),
  };
}
