/**
 * The dense head of a `paper2:*` CNN as a network of its own. The conv layers stay digital and float in
 * every case of the dense-resolution study, so their output features are computed once per trained
 * model and reused by all cases and all ADC settings (the conv front is most of the compute).
 */
import type { NetworkDescription } from '../../nn/description';
import { type Activations, prepareInput, runLayers, sizeOf } from '../../nn/forward';
import { calibrateInputs, quantizeNetwork } from '../../nn/network';
import { parseInputQuantizer, parseWeightQuantizer } from '../../nn/quantize';
import type { Split } from '../../data';
import type { DenseCase } from './denseResolutionCases';

export interface HeadData {
  /** Layers from the first dense layer on; input shape [features], no input binarisation. */
  head: NetworkDescription;
  test: { images: Float32Array; labels: Uint8Array; count: number };
  /** Training images' features: calibrate input quantisers, DAC and ADC ranges. */
  calibration: { images: Float32Array; count: number };
}

/** Index of the first dense layer: where the head starts. */
function headStart(desc: NetworkDescription): number {
  const i = desc.layers.findIndex((l) => l.kind === 'dense');
  if (i === -1) throw new Error(`network ${desc.name} has no dense layer`);
  return i;
}

/** Features entering the head (the front's output, flattened), computed in chunks to bound memory. */
function frontFeatures(
  desc: NetworkDescription,
  images: Float32Array,
  count: number,
  chunk = 250,
): Activations {
  const start = headStart(desc);
  const pixels = sizeOf(desc.inputShape);
  let out: Float32Array | null = null;
  let width = 0;
  for (let n0 = 0; n0 < count; n0 += chunk) {
    const n = Math.min(chunk, count - n0);
    const x = prepareInput(desc, images.subarray(n0 * pixels, (n0 + n) * pixels), n);
    const y = runLayers(desc, x, 0, start);
    width = sizeOf(y.shape);
    out ??= new Float32Array(count * width);
    out.set(y.data, n0 * width);
  }
  return { data: out ?? new Float32Array(0), count, shape: [width] };
}

function headOf(desc: NetworkDescription, features: number): NetworkDescription {
  return {
    ...desc,
    name: `${desc.name} (dense head)`,
    inputShape: [features],
    input: {},
    layers: desc.layers.slice(headStart(desc)),
  };
}

export function headData(
  desc: NetworkDescription,
  test: Split,
  train: Split,
  calibrationCount: number,
): HeadData {
  const t = frontFeatures(desc, test.images, test.count);
  const calCount = Math.min(calibrationCount, train.count);
  const c = frontFeatures(desc, train.images, calCount);
  return {
    head: headOf(desc, t.shape[0]),
    test: { images: t.data, labels: test.labels, count: test.count },
    calibration: { images: c.data, count: calCount },
  };
}

/**
 * The head with a case's quantisers on every dense layer: weights first, then input quantisers
 * calibrated layer by layer on the calibration features (each layer sees its quantised predecessors).
 * A head trained binary or ternary already holds those values and is kept as is.
 */
export function quantizeHead(
  head: NetworkDescription,
  c: DenseCase,
  calibration: HeadData['calibration'],
): NetworkDescription {
  let q = head;
  if (c.weights !== 'float' && c.weights !== c.training)
    q = quantizeNetwork(q, parseWeightQuantizer(c.weights), 'dense');
  if (c.input !== 'none')
    q = calibrateInputs(q, calibration.images, calibration.count, parseInputQuantizer(c.input), 'dense');
  return q;
}

/** Up to `max` non-zero values of a sample, evenly spaced through it (deterministic), rounded to 4 digits. */
export function nonZeroSample(values: Float32Array, max: number): number[] {
  let nonZero = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZero++;
  const stride = Math.max(1, nonZero / max);
  const out: number[] = [];
  let k = 0;
  let next = 0;
  for (let i = 0; i < values.length && out.length < max; i++) {
    if (values[i] === 0) continue;
    if (k >= next) {
      out.push(Number(values[i].toPrecision(4)));
      next += stride;
    }
    k++;
  }
  return out;
}
