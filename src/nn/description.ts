/**
 * The network description: a plain, versioned, serialisable record of a trained network. The simulator
 * reads only this; it never needs TensorFlow.js. See docs/network-description.md.
 *
 * Conventions (all row-major, channels last, as in TF.js/Keras):
 * - dense weights: shape [inputs, units]; y = x W + b.
 * - conv2d kernels: shape [kh, kw, inChannels, filters].
 * - activations of a conv layer: [height, width, channels] per image.
 */
import { InputError } from '../util/errors';

export const DESCRIPTION_FORMAT = 'xbarsim-network';
export const DESCRIPTION_VERSION = 1;

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'];

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** How a layer's inputs are quantised before the layer (digital) or the DAC (analog). */
export type InputQuantizer =
  /** B-bit codes over [0, max]: x -> round(clip(x, 0, max) / max * (2^B - 1)) * max / (2^B - 1). */
  | { kind: 'uniform'; bits: number; max: number }
  /** B bits below a binary point at `scale` (1, or a power of two): s min(floor(x/s 2^B), 2^B - 1) / 2^B. */
  | { kind: 'fixed'; bits: number; scale: number }
  /** 1 bit: x -> (x >= threshold ? 1 : 0) * high. `fit` records how the threshold was chosen. */
  | {
      kind: 'threshold';
      threshold: number;
      high: number;
      fit?: { distribution: 'exponential'; x0: number; beta: number; rule: 'mean' | 'q3' };
    };

/** What produced a layer's weight values (for the mapping and for reports). */
export type WeightQuantization =
  | { kind: 'float' }
  | { kind: 'quantile'; levels: number }
  | { kind: 'uniform'; bits: number; clipPercentile?: number }
  | { kind: 'fixed'; bits: number; scale: number }
  | { kind: 'binary'; alpha: number }
  | { kind: 'ternary'; alpha: number };

interface LayerBase {
  name: string;
}

export interface DenseLayer extends LayerBase {
  kind: 'dense';
  weights: Tensor;
  bias: Tensor | null;
  activation: Activation;
  inputQuantizer?: InputQuantizer;
  weightQuantization: WeightQuantization;
}

export interface Conv2dLayer extends LayerBase {
  kind: 'conv2d';
  weights: Tensor;
  bias: Tensor | null;
  strides: [number, number];
  padding: 'valid' | 'same';
  activation: Activation;
  inputQuantizer?: InputQuantizer;
  weightQuantization: WeightQuantization;
}

export interface MaxPool2dLayer extends LayerBase {
  kind: 'maxpool2d';
  poolSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
}

export interface FlattenLayer extends LayerBase {
  kind: 'flatten';
}

export interface ActivationLayer extends LayerBase {
  kind: 'activation';
  activation: Activation;
}

/** Inference-time batch normalisation: y = gamma (x - mean) / sqrt(variance + epsilon) + beta, per channel. */
export interface BatchNormLayer extends LayerBase {
  kind: 'batchnorm';
  gamma: Tensor;
  beta: Tensor;
  movingMean: Tensor;
  movingVariance: Tensor;
  epsilon: number;
}

export type Layer =
  DenseLayer | Conv2dLayer | MaxPool2dLayer | FlattenLayer | ActivationLayer | BatchNormLayer;
export type WeightedLayer = DenseLayer | Conv2dLayer;

export interface NetworkDescription {
  format: typeof DESCRIPTION_FORMAT;
  version: typeof DESCRIPTION_VERSION;
  name: string;
  /** Per-image input shape, e.g. [28, 28, 1] or [784]. */
  inputShape: number[];
  /** Pixels are divided by 255; if `binarizeThreshold` is set, a scaled pixel below it is 0, else 1. */
  input: { binarizeThreshold?: number };
  layers: Layer[];
  /** Free-form provenance: architecture string, dataset, training flags, accuracy. */
  meta: Record<string, unknown>;
}

export function isWeighted(layer: Layer): layer is WeightedLayer {
  return layer.kind === 'dense' || layer.kind === 'conv2d';
}

export function tensor(shape: number[], data: Float32Array | number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== size)
    throw new Error(`tensor data has ${arr.length} values, shape ${shape} needs ${size}`);
  return { shape: [...shape], data: arr };
}

/** Output shape of every layer, for a per-image input shape. */
export function layerOutputShapes(desc: NetworkDescription): number[][] {
  const shapes: number[][] = [];
  let shape = [...desc.inputShape];
  for (const layer of desc.layers) {
    shape = outputShape(layer, shape);
    shapes.push(shape);
  }
  return shapes;
}

export function outputShape(layer: Layer, input: number[]): number[] {
  const size = input.reduce((a, b) => a * b, 1);
  switch (layer.kind) {
    case 'dense': {
      const [rows, cols] = layer.weights.shape;
      if (size !== rows) throw new InputError(`layer ${layer.name}: expects ${rows} inputs, gets ${size}`);
      return [cols];
    }
    case 'conv2d': {
      const [kh, kw, cin, cout] = layer.weights.shape;
      if (input.length !== 3 || input[2] !== cin)
        throw new InputError(`layer ${layer.name}: expects [h, w, ${cin}] inputs, gets [${input}]`);
      return [...spatialOut(input, [kh, kw], layer.strides, layer.padding), cout];
    }
    case 'maxpool2d':
      if (input.length !== 3) throw new InputError(`layer ${layer.name}: expects [h, w, c] inputs`);
      return [...spatialOut(input, layer.poolSize, layer.strides, layer.padding), input[2]];
    case 'flatten':
      return [size];
    case 'activation':
    case 'batchnorm':
      return input;
  }
}

function spatialOut(
  input: number[],
  window: [number, number],
  strides: [number, number],
  padding: 'valid' | 'same',
): [number, number] {
  const out = (n: number, k: number, s: number) =>
    padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
  return [out(input[0], window[0], strides[0]), out(input[1], window[1], strides[1])];
}

/** Same-padding offsets (TF convention: extra padding goes to the bottom/right). */
export function samePadding(n: number, k: number, s: number): number {
  const outN = Math.ceil(n / s);
  return Math.floor(Math.max((outN - 1) * s + k - n, 0) / 2);
}

// ---------------------------------------------------------------------------------------------------
// Serialisation: one JSON document; tensors become {shape, dtype: 'float32', base64} (little-endian).

interface SerialTensor {
  shape: number[];
  dtype: 'float32';
  base64: string;
}

export function serializeDescription(desc: NetworkDescription): string {
  return JSON.stringify(
    desc,
    (_key, value) => {
      if (
        value &&
        typeof value === 'object' &&
        value.data instanceof Float32Array &&
        Array.isArray(value.shape)
      ) {
        const t = value as Tensor;
        const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        return { shape: t.shape, dtype: 'float32', base64: toBase64(bytes) } satisfies SerialTensor;
      }
      return value;
    },
    1,
  );
}

export function deserializeDescription(text: string, source = 'network description'): NetworkDescription {
  let raw: unknown;
  try {
    raw = JSON.parse(text, (_key, value) => {
      if (
        value &&
        typeof value === 'object' &&
        value.dtype === 'float32' &&
        typeof value.base64 === 'string'
      ) {
        const bytes = fromBase64(value.base64);
        const data = new Float32Array(bytes.byteLength / 4);
        new Uint8Array(data.buffer).set(bytes);
        try {
          return tensor(value.shape, data);
        } catch (err) {
          // Well-formed JSON whose tensor does not fit its shape: say that, not "invalid JSON".
          throw new InputError(`${source}: a tensor does not fit its shape (${(err as Error).message})`);
        }
      }
      return value;
    });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const desc = raw as NetworkDescription;
  if (!desc || desc.format !== DESCRIPTION_FORMAT)
    throw new InputError(`${source}: field "format" must be "${DESCRIPTION_FORMAT}"`);
  if (desc.version !== DESCRIPTION_VERSION)
    throw new InputError(
      `${source}: field "version" must be ${DESCRIPTION_VERSION}, got ${String(desc.version)}`,
    );
  layerOutputShapes(desc); // shape check of the whole chain
  checkFiniteParameters(desc, source);
  return desc;
}

/**
 * Every weight and bias is a finite number: a NaN or Inf (a diverged training) would otherwise surface
 * as a meaningless accuracy or an internal error deep in the mapping. Names the layer and the value.
 */
export function checkFiniteParameters(desc: NetworkDescription, source = 'network description'): void {
  for (const layer of desc.layers) {
    if (!isWeighted(layer)) continue;
    for (const [what, t] of [
      ['weights', layer.weights],
      ['bias', layer.bias],
    ] as const) {
      if (!t) continue;
      const i = t.data.findIndex((v) => !Number.isFinite(v));
      if (i >= 0)
        throw new InputError(
          `${source}: layer ${layer.name} has a non-finite ${what === 'weights' ? 'weight' : 'bias'} (${what}[${i}] = ${t.data[i]}); the model is unusable (a diverged training?)`,
        );
    }
  }
}

// Base64 without Node's Buffer, so the description stays browser-safe.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    parts.push(
      B64[(n >> 18) & 63] +
        B64[(n >> 12) & 63] +
        (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') +
        (i + 2 < bytes.length ? B64[n & 63] : '='),
    );
  }
  return parts.join('');
}
function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const n =
      (B64.indexOf(clean[i]) << 18) |
      (B64.indexOf(clean[i + 1]) << 12) |
      ((i + 2 < clean.length ? B64.indexOf(clean[i + 2]) : 0) << 6) |
      (i + 3 < clean.length ? B64.indexOf(clean[i + 3]) : 0);
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
