/**
 * Variation-aware training (third study): during training, each binary/ternary weight is realised as
 * a differential pair of binary memristors drawn from the card with the given R_on/R_off variation,
 * and the network computes with the weight the pair actually encodes:
 *   w = alpha (G+ - G-) / (G_on - G_off),  (G+, G-) = (on, off) for +alpha, (off, on) for -alpha,
 *   (off, off) for 0.
 */
import { type BinaryCard, withBinaryVariation } from '../device/card';
import { loadDeviceCard } from '../device/loadDevice';
import { resolveDevice } from '../device/model';
import { InputError } from '../util/errors';
import type { WeightNoise } from '../nn/train';

export function binaryVariationNoise(v: { distribution: 'gaussian' | 'lognormal'; sigma: number; device: string }): WeightNoise {
  const card = loadDeviceCard(v.device);
  if (card.kind !== 'binary') throw new InputError(`variation-aware training needs a binary device card, ${v.device} is ${card.kind}`);
  const model = resolveDevice(withBinaryVariation(card as BinaryCard, v.distribution, v.sigma));
  const [off, on] = model.levels;
  const span = on.gMeanSiemens - off.gMeanSiemens;
  return (q, rng) => {
    let alpha = 0;
    for (let i = 0; i < q.length; i++) alpha = Math.max(alpha, Math.abs(q[i]));
    const gPos = new Float32Array(q.length);
    const gNeg = new Float32Array(q.length);
    off.sample(rng.child('off+'), q.length, gPos, 0);
    off.sample(rng.child('off-'), q.length, gNeg, 0);
    const gOn = new Float32Array(q.length);
    on.sample(rng.child('on'), q.length, gOn, 0);
    const out = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) {
      if (q[i] > 0) gPos[i] = gOn[i];
      else if (q[i] < 0) gNeg[i] = gOn[i];
      out[i] = (alpha * (gPos[i] - gNeg[i])) / span;
    }
    return out;
  };
}
