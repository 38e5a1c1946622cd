/**
 * Programming and reading cells: per-cell conductances for given level indices (device-to-device
 * variation and stuck-at faults), and multiplicative read noise.
 */
import type { RandomStream } from '../util/random';
import type { DeviceModel } from './model';

/**
 * Conductance of each cell programmed to `levelIndex[i]`. A cell is first stuck-at-on with probability
 * faults.stuckAtOn, else stuck-at-off with probability faults.stuckAtOff (both at fixed conductances), else
 * a draw from its level. The fault draw consumes one uniform per cell only when the device has faults.
 */
export function programCells(
  model: DeviceModel,
  levelIndex: Uint8Array,
  rng: RandomStream,
  out: Float32Array = new Float32Array(levelIndex.length),
): Float32Array {
  const { stuckAtOn, stuckAtOff, gStuckOnSiemens, gStuckOffSiemens } = model.faults;
  const faulty = stuckAtOn + stuckAtOff > 0;
  const levels = model.levels;
  for (let i = 0; i < levelIndex.length; i++) {
    const level = levels[levelIndex[i]];
    if (level === undefined) throw new RangeError(`level index ${levelIndex[i]} out of range for ${model.name}`);
    if (faulty) {
      const u = rng.uniform();
      if (u < stuckAtOn) {
        out[i] = gStuckOnSiemens;
        continue;
      }
      if (u < stuckAtOn + stuckAtOff) {
        out[i] = gStuckOffSiemens;
        continue;
      }
    }
    level.sample(rng, 1, out, i);
  }
  return out;
}

/** One read: G (1 + relSigma z) per cell, clamped at 0 (a conductance cannot be negative). */
export function applyReadNoise(
  g: Float32Array,
  relSigma: number,
  rng: RandomStream,
  out: Float32Array = g,
): Float32Array {
  if (relSigma === 0) {
    if (out !== g) out.set(g);
    return out;
  }
  for (let i = 0; i < g.length; i++) out[i] = Math.max(0, g[i] * (1 + relSigma * rng.normal()));
  return out;
}
