/**
 * Row activity of each analog stage on real images: how often each row is driven and its mean squared
 * drive, with the DAC's scaling (v / vRead = clip(x, 0, xMax) / xMax). Measured on the digital forward
 * pass of the same (quantised) network, which is what the DACs are fed on a chip up to its analog error.
 */
import type { NetworkDescription } from '../nn/description';
import { layerInputs } from '../nn/network';
import type { AnalogStage, SimPlan } from '../sim/plan';
import type { RowActivity } from './inference';

/**
 * Dense stages: per row, exactly. Conv stages (rows = kh x kw x channels, kernel-major as the weights):
 * per input channel over every pixel of the input map, the same for each kernel offset (the padding's
 * zeros at the borders are not counted).
 */
export function stageActivity(stage: AnalogStage, inputs: Float32Array, count: number): RowActivity {
  const meanSquare = new Float64Array(stage.rows);
  const active = new Float64Array(stage.rows);
  const xMax = stage.dac.xMax;
  const scaled = (x: number) => (x <= 0 ? 0 : x >= xMax ? 1 : x / xMax);
  if (!stage.conv) {
    for (let n = 0; n < count; n++)
      for (let i = 0; i < stage.rows; i++) {
        const u = scaled(inputs[n * stage.rows + i]);
        meanSquare[i] += u * u;
        if (u > 0) active[i]++;
      }
    for (let i = 0; i < stage.rows; i++) {
      meanSquare[i] /= count;
      active[i] /= count;
    }
    return { meanSquare, active };
  }
  const channels = stage.conv.inShape[2];
  const perChannelSquare = new Float64Array(channels);
  const perChannelActive = new Float64Array(channels);
  for (let k = 0; k < inputs.length; k++) {
    const u = scaled(inputs[k]);
    perChannelSquare[k % channels] += u * u;
    if (u > 0) perChannelActive[k % channels]++;
  }
  const perChannel = inputs.length / channels;
  for (let i = 0; i < stage.rows; i++) {
    meanSquare[i] = perChannelSquare[i % channels] / perChannel;
    active[i] = perChannelActive[i % channels] / perChannel;
  }
  return { meanSquare, active };
}

/** Activity of every analog stage of `plan` on the first `count` of `images`. */
export function planActivity(
  plan: SimPlan,
  desc: NetworkDescription,
  images: Float32Array,
  count: number,
): RowActivity[] {
  return plan.stages
    .filter((s): s is AnalogStage => s.kind === 'analog')
    .map((s) => stageActivity(s, layerInputs(desc, s.layerIndex, images, count), count));
}
