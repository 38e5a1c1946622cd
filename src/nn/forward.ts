/**
 * Digital forward pass over a network description, without TF.js: the reference for quantised-digital
 * accuracy and the engine for the layers a circuit keeps digital. Works on chunks of images.
 */
import { matmul } from '../util/matmul';
import {
  type Activation,
  type BatchNormLayer,
  type Conv2dLayer,
  type DenseLayer,
  type Layer,
  type MaxPool2dLayer,
  type NetworkDescription,
  outputShape,
  samePadding,
} from './description';
import { applyInputQuantizer } from './quantize';

export interface Activations {
  /** count x size values, row-major. */
  data: Float32Array;
  count: number;
  /** Per-image shape. */
  shape: number[];
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Scale raw or [0,1] pixels as the description's input stage says (binarisation). */
export function prepareInput(desc: NetworkDescription, images: Float32Array, count: number): Activations {
  const t = desc.input.binarizeThreshold;
  const data = t === undefined ? images : images.map((v) => (v < t ? 0 : 1));
  return { data, count, shape: [...desc.inputShape] };
}

/**
 * Images per chunk in runLayers: intermediate activations stay bounded whatever the image count. Small
 * enough (22 MB for 256 images of 26 x 26 x 32 conv outputs) that freed chunks are reused from the
 * allocator's heap: at 1024 images every chunk's 88 MB were fresh pages, faulted in on first touch (a
 * conv net's digital evaluation: 35.6 CPU s against 22.1, docs/performance.md). Results do not depend
 * on it.
 */
const RUN_CHUNK_IMAGES = 256;

/**
 * Run layers [start, end) of the description. `onLayer`, if given, sees every layer's output, one chunk
 * of images at a time (for statistics over intermediate activations without holding them all).
 */
export function runLayers(
  desc: NetworkDescription,
  x: Activations,
  start = 0,
  end = desc.layers.length,
  onLayer?: (index: number, out: Activations) => void,
): Activations {
  const through = (chunk: Activations) => {
    let cur = chunk;
    for (let i = start; i < end; i++) {
      cur = runLayer(desc.layers[i], cur);
      onLayer?.(i, cur);
    }
    return cur;
  };
  if (x.count <= RUN_CHUNK_IMAGES || start >= end) return through(x);
  // Images are independent: run them in chunks and gather the outputs (the layers of a CNN hold
  // positions x channels floats per image, 10k test images at once would be gigabytes).
  const inSize = sizeOf(x.shape);
  let out: Activations | null = null;
  for (let n0 = 0; n0 < x.count; n0 += RUN_CHUNK_IMAGES) {
    const n = Math.min(RUN_CHUNK_IMAGES, x.count - n0);
    const y = through({ data: x.data.subarray(n0 * inSize, (n0 + n) * inSize), count: n, shape: x.shape });
    out ??= { data: new Float32Array(x.count * sizeOf(y.shape)), count: x.count, shape: y.shape };
    out.data.set(y.data, n0 * sizeOf(y.shape));
  }
  return out!;
}

export function runLayer(layer: Layer, x: Activations): Activations {
  switch (layer.kind) {
    case 'dense':
      return dense(layer, x);
    case 'conv2d':
      return conv2d(layer, x);
    case 'maxpool2d':
      return maxPool(layer, x);
    case 'flatten':
      return { data: x.data, count: x.count, shape: [sizeOf(x.shape)] };
    case 'activation': {
      const data = Float32Array.from(x.data);
      activate(layer.activation, data, sizeOf(x.shape));
      return { ...x, data };
    }
    case 'batchnorm':
      return batchNorm(layer, x);
  }
}

/** Inputs of a weighted layer after its input quantiser (a copy when one applies). */
export function quantizedInput(layer: DenseLayer | Conv2dLayer, x: Float32Array): Float32Array {
  if (!layer.inputQuantizer) return x;
  const q = Float32Array.from(x);
  applyInputQuantizer(layer.inputQuantizer, q);
  return q;
}

function dense(layer: DenseLayer, x: Activations): Activations {
  const [rows, cols] = layer.weights.shape;
  const input = quantizedInput(layer, x.data);
  const out = matmul(input, layer.weights.data, x.count, rows, cols);
  addBiasAndActivate(out, layer.bias?.data ?? null, layer.activation, cols);
  return { data: out, count: x.count, shape: [cols] };
}

export function addBiasAndActivate(
  out: Float32Array,
  bias: Float32Array | null,
  activation: Activation,
  width: number,
): void {
  // Row by row rather than bias[i % width]: the modulo costs more than the addition.
  if (bias) for (let r = 0; r < out.length; r += width) for (let j = 0; j < width; j++) out[r + j] += bias[j];
  activate(activation, out, width);
}

function activate(activation: Activation, v: Float32Array, width: number): void {
  switch (activation) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = 0;
      return;
    case 'sigmoid':
      for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp(-v[i]));
      return;
    case 'tanh':
      for (let i = 0; i < v.length; i++) v[i] = Math.tanh(v[i]);
      return;
    case 'softmax':
      for (let r = 0; r < v.length; r += width) {
        let max = -Infinity;
        for (let j = 0; j < width; j++) max = Math.max(max, v[r + j]);
        let sum = 0;
        for (let j = 0; j < width; j++) sum += v[r + j] = Math.exp(v[r + j] - max);
        for (let j = 0; j < width; j++) v[r + j] /= sum;
      }
      return;
  }
}

/** Contiguous runs at least this long are copied with TypedArray.set (measured crossover: 24..96). */
const IM2COL_SET_MIN_RUN = 48;

/**
 * im2col of one image: patches (outH*outW) x (kh*kw*cin), ordered like the kernel [kh, kw, cin, cout]
 * so that patches . kernel(reshaped (kh*kw*cin) x cout) is the convolution.
 */
export function im2col(
  img: Float32Array,
  offset: number,
  inShape: number[],
  kh: number,
  kw: number,
  strides: [number, number],
  padding: 'valid' | 'same',
  out: Float32Array,
  outOffset: number,
): void {
  const [h, w, cin] = inShape;
  const [oh, ow] = outputShape(
    { kind: 'maxpool2d', name: '', poolSize: [kh, kw], strides, padding },
    inShape,
  );
  const padT = padding === 'same' ? samePadding(h, kh, strides[0]) : 0;
  const padL = padding === 'same' ? samePadding(w, kw, strides[1]) : 0;
  const patch = kh * kw * cin;
  const run = kw * cin;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let o = outOffset + (oy * ow + ox) * patch;
      const x0 = ox * strides[1] - padL;
      for (let ky = 0; ky < kh; ky++) {
        const y = oy * strides[0] + ky - padT;
        if (y >= 0 && y < h && x0 >= 0 && x0 + kw <= w) {
          // The kernel row lies inside the image: kw * cin contiguous inputs. A typed-array copy is 2-3
          // times faster than element by element for 32 channels but slower for short runs (the subarray).
          const src = offset + (y * w + x0) * cin;
          if (run >= IM2COL_SET_MIN_RUN) out.set(img.subarray(src, src + run), o);
          else for (let i = 0; i < run; i++) out[o + i] = img[src + i];
          o += run;
          continue;
        }
        for (let kx = 0; kx < kw; kx++) {
          const xx = ox * strides[1] + kx - padL;
          if (y < 0 || y >= h || xx < 0 || xx >= w) {
            out.fill(0, o, o + cin);
          } else {
            const src = offset + (y * w + xx) * cin;
            for (let c = 0; c < cin; c++) out[o + c] = img[src + c];
          }
          o += cin;
        }
      }
    }
  }
}

const CONV_CHUNK = 64;

function conv2d(layer: Conv2dLayer, x: Activations): Activations {
  const [kh, kw, cin, cout] = layer.weights.shape;
  const outShape = outputShape(layer, x.shape);
  const positions = outShape[0] * outShape[1];
  const patch = kh * kw * cin;
  const inSize = sizeOf(x.shape);
  const input = quantizedInput(layer, x.data);
  const out = new Float32Array(x.count * positions * cout);
  const cols = new Float32Array(CONV_CHUNK * positions * patch);
  for (let start = 0; start < x.count; start += CONV_CHUNK) {
    const n = Math.min(CONV_CHUNK, x.count - start);
    for (let i = 0; i < n; i++)
      im2col(
        input,
        (start + i) * inSize,
        x.shape,
        kh,
        kw,
        layer.strides,
        layer.padding,
        cols,
        i * positions * patch,
      );
    // Straight into the output: a product array per chunk (5.5 MB for 64 images of 26 x 26 x 32) cost
    // fresh pages and a copy.
    const at = start * positions * cout;
    matmul(cols, layer.weights.data, n * positions, patch, cout, out.subarray(at, at + n * positions * cout));
  }
  addBiasAndActivate(out, layer.bias?.data ?? null, layer.activation, cout);
  return { data: out, count: x.count, shape: outShape };
}

function maxPool(layer: MaxPool2dLayer, x: Activations): Activations {
  const [h, w, c] = x.shape;
  const outShape = outputShape(layer, x.shape);
  const [oh, ow] = outShape;
  const [ph, pw] = layer.poolSize;
  const [sh, sw] = layer.strides;
  const padT = layer.padding === 'same' ? samePadding(h, ph, sh) : 0;
  const padL = layer.padding === 'same' ? samePadding(w, pw, sw) : 0;
  const inSize = h * w * c;
  const outSize = oh * ow * c;
  const out = new Float32Array(x.count * outSize).fill(-Infinity);
  const xd = x.data;
  for (let n = 0; n < x.count; n++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const o = n * outSize + (oy * ow + ox) * c;
        for (let ky = 0; ky < ph; ky++) {
          const y = oy * sh + ky - padT;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < pw; kx++) {
            const xx = ox * sw + kx - padL;
            if (xx < 0 || xx >= w) continue;
            const src = n * inSize + (y * w + xx) * c;
            for (let ch = 0; ch < c; ch++) if (xd[src + ch] > out[o + ch]) out[o + ch] = xd[src + ch];
          }
        }
      }
    }
  }
  return { data: out, count: x.count, shape: outShape };
}

function batchNorm(layer: BatchNormLayer, x: Activations): Activations {
  const c = x.shape[x.shape.length - 1];
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    scale[j] = layer.gamma.data[j] / Math.sqrt(layer.movingVariance.data[j] + layer.epsilon);
    shift[j] = layer.beta.data[j] - layer.movingMean.data[j] * scale[j];
  }
  const data = new Float32Array(x.data.length);
  const xd = x.data;
  for (let r = 0; r < data.length; r += c)
    for (let j = 0; j < c; j++) data[r + j] = xd[r + j] * scale[j] + shift[j];
  return { ...x, data };
}

/** Index of the largest value in each row. */
export function argmaxRows(v: Float32Array, width: number): Int32Array {
  const out = new Int32Array(v.length / width);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (v[r * width + j] > v[r * width + best]) best = j;
    out[r] = best;
  }
  return out;
}

export function accuracyOf(predicted: Int32Array, labels: Uint8Array): number {
  let hit = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) hit++;
  return hit / predicted.length;
}

/** Classify images with the digital network; returns predicted classes. */
export function classify(desc: NetworkDescription, images: Float32Array, count: number): Int32Array {
  const out = runLayers(desc, prepareInput(desc, images, count));
  return argmaxRows(out.data, sizeOf(out.shape));
}
