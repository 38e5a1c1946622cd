/**
 * Bit slicing: a layer's weights as signed integers q of S x b bits (S slices, b bits per cell), each
 * |q| written as S digits of b bits, least significant first, on S differential cell pairs (the digit on
 * G+ for q > 0, on G- for q < 0, the other cell at digit 0). The chip recombines the slices digitally:
 * y_j = a sum_k 2^(k b) (I+_kj - I-_kj) (shift and add after each slice's ADC), so a weight is realised
 * as w_eff = a sum_k 2^(k b) (G+_k - G-_k).
 *
 * Choices (docs/cards.md): the integer step is max|w| / (2^(S b) - 1) (the largest weight is the top
 * code, as CrossSim and NeuroSim slice); digit d is programmed to the card level nearest the uniform
 * ladder mu_0 + d (mu_top - mu_0) / (2^b - 1), so a card with more levels than 2^b spans its whole
 * range; a (weight per siemens) makes one digit worth the least-squares slope of the chosen levels'
 * conductances over d. With levels evenly spaced (an ideal device) w_eff is exactly q times the step.
 */
export interface SliceSpec {
  slices: number;
  bitsPerCell: number;
}

export interface SlicedLayer {
  /**
   * Level indices, rows x (slices x cols) row-major: column k cols + j holds slice k (k = 0 least
   * significant) of output j; G+ cells in levelPos, G- cells in levelNeg.
   */
  levelPos: Uint8Array;
  levelNeg: Uint8Array;
  /** a: w_eff = a sum_k 2^(k b) (G+_k - G-_k). */
  weightPerSiemens: number;
  /** The integer step: q = round(w / step). */
  weightStep: number;
  rmsWeightError: number;
  maxAbsWeightError: number;
  /** rows x cols: what the ideal, noiseless chip realises. */
  effectiveWeights: Float32Array;
}

/** The device levels used for the digits 0 .. 2^b - 1 (see the header); throws RangeError if too few. */
export function digitLevelsOf(levelMeans: ArrayLike<number>, bitsPerCell: number): Uint8Array {
  const digits = 2 ** bitsPerCell;
  const L = levelMeans.length;
  if (L < digits)
    throw new RangeError(`${bitsPerCell} bits per cell need ${digits} levels, the device has ${L}`);
  const lo = levelMeans[0];
  const top = levelMeans[L - 1];
  const chosen = new Uint8Array(digits);
  let next = 0; // the lowest level digit d may take: above the previous digit's
  for (let d = 0; d < digits; d++) {
    const target = lo + (d * (top - lo)) / (digits - 1);
    // Leave a level for each digit still to come.
    const last = L - digits + d;
    let best = next;
    for (let l = next + 1; l <= last; l++)
      if (Math.abs(levelMeans[l] - target) < Math.abs(levelMeans[best] - target)) best = l;
    chosen[d] = best;
    next = best + 1;
  }
  return chosen;
}

export function sliceLayer(
  weights: Float32Array,
  rows: number,
  cols: number,
  levelMeans: ArrayLike<number>,
  spec: SliceSpec,
): SlicedLayer {
  const { slices, bitsPerCell: b } = spec;
  if (weights.length !== rows * cols)
    throw new RangeError(`sliceLayer: ${weights.length} weights for a ${rows} x ${cols} matrix`);
  const digitLevels = digitLevelsOf(levelMeans, b);
  const maxDigit = 2 ** b - 1;
  const g = Float64Array.from(digitLevels, (l) => levelMeans[l] - levelMeans[digitLevels[0]]);
  // Siemens per unit of digit: least squares through the origin of g_d on d.
  let sdg = 0;
  let sdd = 0;
  for (let d = 1; d <= maxDigit; d++) {
    sdg += d * g[d];
    sdd += d * d;
  }
  const siemensPerDigit = sdg / sdd;
  const qMax = 2 ** (slices * b) - 1;
  let maxAbs = 0;
  for (let i = 0; i < weights.length; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]));
  // An all-zero layer: any positive step programs it as zeros.
  const step = maxAbs > 0 ? maxAbs / qMax : 1;
  const a = step / siemensPerDigit;
  const wide = slices * cols;
  const zero = digitLevels[0];
  const levelPos = new Uint8Array(rows * wide).fill(zero);
  const levelNeg = new Uint8Array(rows * wide).fill(zero);
  const eff = new Float32Array(rows * cols);
  let sse = 0;
  let maxErr = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const w = weights[i * cols + j];
      const q = Math.min(qMax, Math.round(Math.abs(w) / step));
      const cells = w < 0 ? levelNeg : levelPos;
      let realised = 0;
      for (let k = 0, rest = q; k < slices; k++, rest = Math.floor(rest / 2 ** b)) {
        const digit = rest % 2 ** b;
        cells[i * wide + k * cols + j] = digitLevels[digit];
        realised += 2 ** (k * b) * g[digit];
      }
      const e = a * realised * (w < 0 ? -1 : 1);
      eff[i * cols + j] = e;
      const err = Math.abs(w - e);
      sse += err * err;
      if (err > maxErr) maxErr = err;
    }
  return {
    levelPos,
    levelNeg,
    weightPerSiemens: a,
    weightStep: step,
    rmsWeightError: Math.sqrt(sse / weights.length),
    maxAbsWeightError: maxErr,
    effectiveWeights: eff,
  };
}
