/**
 * Tile, and Sum / Mean over leading axes, for the wasm backend. Batch normalisation's gradient (tfjs-core
 * 4.22) tiles a [1, 1, 1, C] vector to the whole activation shape and sums several activation-sized
 * tensors over axes [0, 1, 2]; bias gradients sum over the batch. In tfjs-backend-wasm 4.22, Tile is a
 * per-element index loop (12 ms for [1, 1, 1, 32] to [32, 26, 26, 32]) and Sum/Mean over non-innermost
 * axes first transpose the whole input (3 ms for the same shape): together nearly half of a training
 * step of `cnn:c32p2-c64p2:h128:bn`. Here, on the wasm heap in JavaScript:
 *   Tile        writes each input row once and doubles it with copyWithin
 *   Sum, Mean   over leading axes (float32): one pass adding rows, accumulating in float64
 * Other cases go to the original kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmHeap } from './copies';
import { wrapKernel } from './wrap';

type Typed = Float32Array | Int32Array | Uint8Array;

/** Fill out[at, at + n * times) with `times` copies of out[at, at + n), doubling the copied run. */
function repeatInPlace(out: Typed, at: number, n: number, times: number): void {
  let filled = n;
  const total = n * times;
  while (filled < total) {
    const chunk = Math.min(filled, total - filled);
    out.copyWithin(at + filled, at, at + chunk);
    filled += chunk;
  }
}

/** out = tile(x, reps), both row-major; out has shape [shape[i] * reps[i]]. */
export function tileInto(x: Typed, shape: number[], reps: number[], out: Typed): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  // inBlock[d], outBlock[d]: sizes of one index step along axis d - 1, i.e. of axes d .. rank - 1.
  const inBlock = new Array<number>(rank + 1).fill(1);
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    inBlock[d] = inBlock[d + 1] * shape[d];
    outBlock[d] = outBlock[d + 1] * shape[d] * reps[d];
  }
  const fill = (d: number, xAt: number, outAt: number): void => {
    if (d === rank - 1) {
      const n = shape[d];
      if (n === 1) out[outAt] = x[xAt];
      else for (let j = 0; j < n; j++) out[outAt + j] = x[xAt + j];
    } else {
      for (let j = 0; j < shape[d]; j++) fill(d + 1, xAt + j * inBlock[d + 1], outAt + j * outBlock[d + 1]);
    }
    repeatInPlace(out, outAt, shape[d] * outBlock[d + 1], reps[d]);
  };
  fill(0, 0, 0);
}

/**
 * out[j] = sum over r < rows of x[r * cols + j] (divided by rows when `mean`), in float64. Eight rows
 * per pass cut the loads and stores of the accumulator (about 2.5x faster than one row per pass).
 */
export function reduceRowsInto(
  x: Float32Array,
  rows: number,
  cols: number,
  out: Float32Array,
  mean: boolean,
): void {
  const acc = new Float64Array(cols);
  let r = 0;
  let at = 0;
  for (; r + 8 <= rows; r += 8, at += 8 * cols)
    for (let j = 0, p = at; j < cols; j++, p++)
      acc[j] +=
        x[p] +
        x[p + cols] +
        (x[p + 2 * cols] + x[p + 3 * cols]) +
        (x[p + 4 * cols] + x[p + 5 * cols] + (x[p + 6 * cols] + x[p + 7 * cols]));
  for (; r < rows; r++, at += cols) for (let j = 0; j < cols; j++) acc[j] += x[at + j];
  for (let j = 0; j < cols; j++) out[j] = mean ? acc[j] / rows : acc[j];
}

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** The count of leading axes reduced, when the axes are exactly 0 .. k - 1 with k < rank; else null. */
function leadingAxes(axis: number | number[], shape: number[]): number | null {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return null;
  return axes.every((a, i) => a === i) ? axes.length : null;
}

function registerReduce(kernelName: 'Sum' | 'Mean'): void {
  wrapKernel(kernelName, 'wasm', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as ReduceAttrs;
    const empty = x.shape.some((s) => s === 0);
    const k = x.dtype === 'float32' && !empty ? leadingAxes(axis, x.shape) : null;
    if (k === null) return original.kernelFunc(args);
    const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
    const kept = x.shape.slice(k);
    const cols = kept.reduce((a, b) => a * b, 1);
    const backend = args.backend as unknown as WasmHeap;
    // Allocate first: a heap growth would detach views taken before it.
    const out = backend.makeOutput(keepDims ? [...new Array<number>(k).fill(1), ...kept] : kept, 'float32');
    reduceRowsInto(
      backend.typedArrayFromHeap(x) as Float32Array,
      rows,
      cols,
      backend.typedArrayFromHeap(out) as Float32Array,
      kernelName === 'Mean',
    );
    return out;
  });
}

export function registerBroadcastKernelsWasm(): void {
  wrapKernel('Tile', 'wasm', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string' || x.shape.some((s) => s === 0)) return original.kernelFunc(args);
    const { reps } = args.attrs as unknown as { reps: number[] };
    const backend = args.backend as unknown as WasmHeap;
    const out = backend.makeOutput(
      x.shape.map((s, i) => s * reps[i]),
      x.dtype,
    );
    if (reps.every((r) => r > 0))
      tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
    return out;
  });
  registerReduce('Sum');
  registerReduce('Mean');
}
