/**
 * Input DACs: a layer input x in [0, xMax] becomes a read voltage on a crossbar row.
 * - l bits: code = round(clip(x / xMax, 0, 1) (2^l - 1)), v = code / (2^l - 1) vRead.
 * - binary: v = x > 0 ? vRead : 0 (inputs already 0/1, or thresholded before the layer).
 * - ideal: v = (x / xMax) vRead exactly: no quantisation and no clipping. It is the reference for
 *   "no converter error" (an ideal chip then computes what the digital network does), not a circuit.
 */
import type { DacSpec } from './circuit';

/** Quantise inputs to row voltages; `out` may be `x` itself (in place). */
export function applyDac(
  x: Float32Array,
  spec: DacSpec,
  xMax: number,
  vReadVolts: number,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  if (out.length < x.length)
    throw new RangeError(`DAC output has ${out.length} slots for ${x.length} inputs`);
  switch (spec.kind) {
    case 'binary':
      for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? vReadVolts : 0;
      return out;
    case 'ideal': {
      // The exact input, scaled: no quantisation and no clipping (it may leave [0, vRead]), so that an
      // ideal chip computes exactly what the digital network does.
      checkRange(xMax);
      for (let i = 0; i < x.length; i++) out[i] = (x[i] / xMax) * vReadVolts;
      return out;
    }
    case 'bits': {
      checkRange(xMax);
      const top = 2 ** spec.bits - 1;
      const step = vReadVolts / top;
      for (let i = 0; i < x.length; i++) out[i] = Math.round(clip01(x[i] / xMax) * top) * step;
      return out;
    }
  }
}

/** The voltage for one input value (same rules as applyDac). */
export function dacVoltage(x: number, spec: DacSpec, xMax: number, vReadVolts: number): number {
  return applyDac(Float32Array.of(x), spec, xMax, vReadVolts)[0];
}

/** Input bits for the lossless-ADC formula: l for an l-bit DAC, 1 for binary, null for ideal. */
export function dacInputBits(spec: DacSpec): number | null {
  return spec.kind === 'bits' ? spec.bits : spec.kind === 'binary' ? 1 : null;
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v; // NaN -> NaN: let it surface rather than hide it
}

function checkRange(xMax: number): void {
  if (!(xMax > 0) || !Number.isFinite(xMax))
    throw new RangeError(`DAC input range xMax must be positive, got ${xMax}`);
}
