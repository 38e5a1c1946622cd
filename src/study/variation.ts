/**
 * Device variation of binary memristors, shared by the variation sweep and variation-aware training
 * (third study), so that both use one physical model:
 *
 * - `sweptBinaryCard`: a binary card with both states' resistance variation set to sigma (a fraction of
 *   the mean resistance), Gaussian or lognormal, renamed after the sweep point.
 * - `binaryVariationNoise`: during training, each binary/ternary weight is realised as a differential
 *   pair drawn from that card, exactly as the simulator programs a chip, and the network computes with
 *   the weight the pair actually encodes:
 *     w = alpha (G+ - G-) / (mean G_on - mean G_off),
 *     (G+, G-) = (on, off) for +alpha, (off, on) for -alpha, (off, off) for 0.
 *   The simulator's differential mapping of a binary layer has weight-per-siemens a = alpha / (mean G_on -
 *   mean G_off) (the least-squares scale onto the differences {-d, 0, d}) and realises a (G+ - G-) with
 *   G drawn from the same level samplers (the card resolved by src/device/model.ts), so the relative
 *   weight error (w - w_nominal) / alpha is the same random variable in training and in simulation.
 */
import {
  type BinaryCard,
  type DeviceCard,
  type VariationDistribution,
  parseDeviceCard,
  withBinaryVariation,
} from '../device/card';
import type { LevelModel } from '../device/levels';
import { loadDeviceCard } from '../device/loadDevice';
import { resolveDevice } from '../device/model';
import { InputError } from '../util/errors';
import type { RandomStream } from '../util/random';
import type { WeightNoise } from '../nn/train';

export interface BinaryVariationSpec {
  distribution: VariationDistribution;
  /** Relative resistance spread of both states (sd / mean of R), e.g. 0.2 for 20 %. */
  sigma: number;
  /** Binary device card name or path. */
  device: string;
}

/** Sweep-point name: `binary-hfo2-1t1r` + lognormal + 0.15 -> `binary-hfo2-1t1r-lognormal-15pct`. */
export function sweptCardName(base: string, distribution: VariationDistribution, sigma: number): string {
  // Rounded to 0.01 %, so float noise in sigma (0.1 + 0.05) never changes the name.
  const pct = Math.round(sigma * 10000) / 100;
  return `${base}-${distribution}-${String(pct).replace('.', 'p')}pct`;
}

/**
 * The binary card `device` with R_on and R_off variation both set to `sigma` (fraction of the mean
 * resistance) under `distribution`, renamed after the sweep point and validated like a card on disk.
 */
export function sweptBinaryCard(
  device: string | DeviceCard,
  distribution: VariationDistribution,
  sigma: number,
): BinaryCard {
  const card = typeof device === 'string' ? loadDeviceCard(device) : device;
  if (card.kind !== 'binary')
    throw new InputError(`device ${card.name}: the variation sweep needs a binary card, not ${card.kind}`);
  const swept: BinaryCard = {
    ...withBinaryVariation(card, distribution, sigma),
    name: sweptCardName(card.name, distribution, sigma),
    description: `${card.name} with ${(100 * sigma).toFixed(2).replace(/\.?0+$/, '')} % ${distribution} R_on/R_off variation (variation sweep).`,
  };
  return parseDeviceCard(swept, `swept card ${swept.name}`) as BinaryCard;
}

/** The two conductance states of a binary card, as the simulator resolves them. */
export interface BinaryPairModel {
  off: LevelModel;
  on: LevelModel;
  /** mean G_on - mean G_off, siemens: the conductance difference that encodes |w| = alpha. */
  spanSiemens: number;
}

export function binaryPairModel(card: DeviceCard): BinaryPairModel {
  if (card.kind !== 'binary')
    throw new InputError(`variation-aware training needs a binary device card, ${card.name} is ${card.kind}`);
  const [off, on] = resolveDevice(card).levels;
  return { off, on, spanSiemens: on.gMeanSiemens - off.gMeanSiemens };
}

/**
 * Draw one chip's differential pairs for quantised weights q (values in {-alpha, 0, +alpha}) and return
 * the conductances (siemens) and the weights they encode. Every cell is an independent draw: one on-state
 * and one off-state device per +-alpha weight, two off-state devices per zero weight.
 */
export function samplePairs(
  q: Float32Array,
  pair: BinaryPairModel,
  rng: RandomStream,
): { gPos: Float32Array; gNeg: Float32Array; weights: Float32Array } {
  const n = q.length;
  let alpha = 0;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    alpha = Math.max(alpha, Math.abs(q[i]));
    if (q[i] === 0) zeros++;
  }
  const gOn = new Float32Array(n);
  const gOff = new Float32Array(n);
  const gOffZero = new Float32Array(zeros);
  pair.on.sample(rng.child('on'), n, gOn, 0);
  pair.off.sample(rng.child('off'), n, gOff, 0);
  pair.off.sample(rng.child('off-zero'), zeros, gOffZero, 0);
  const gPos = new Float32Array(n);
  const gNeg = new Float32Array(n);
  const weights = new Float32Array(n);
  for (let i = 0, z = 0; i < n; i++) {
    if (q[i] > 0) {
      gPos[i] = gOn[i];
      gNeg[i] = gOff[i];
    } else if (q[i] < 0) {
      gPos[i] = gOff[i];
      gNeg[i] = gOn[i];
    } else {
      gPos[i] = gOff[i];
      gNeg[i] = gOffZero[z++];
    }
    weights[i] = (alpha * (gPos[i] - gNeg[i])) / pair.spanSiemens;
  }
  return { gPos, gNeg, weights };
}

/** The weight perturbation for variation-aware training (a fresh chip per call: per batch and layer). */
export function binaryVariationNoise(v: BinaryVariationSpec): WeightNoise {
  const pair = binaryPairModel(sweptBinaryCard(v.device, v.distribution, v.sigma));
  return (q, rng) => samplePairs(q, pair, rng).weights;
}

/**
 * Standard deviation of the encoded weight relative to alpha, (w - w_nominal) / alpha, for a +-alpha
 * weight: sqrt(sd(G_on)^2 + sd(G_off)^2) / (mean G_on - mean G_off) (two independent devices).
 */
export function relativeWeightSigma(card: DeviceCard): number {
  const { on, off, spanSiemens } = binaryPairModel(card);
  return Math.hypot(on.gSigmaSiemens, off.gSigmaSiemens) / spanSiemens;
}
