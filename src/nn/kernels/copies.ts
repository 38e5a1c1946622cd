/**
 * Identity, Slice and GatherV2 for the wasm backend without needless copies. In tfjs-backend-wasm 4.22,
 * Identity copies its input into a new buffer (a training step of `cnn:c32p2:h128` runs ~22 of them, in
 * the gradients of adds and in optimiser updates), and Slice first copies the *whole* input out of the
 * heap (`readSync`) to cut one piece from it (Conv2DBackpropFilter cuts 9 windows from one tensor).
 * Together about a tenth of a CNN's training time. GatherV2, which picks every training batch from the
 * training set, costs about 3 ms for 32 MNIST images (100 ns per element). Here:
 *   Identity  shares the input's data and counts a reference, as the backend's own Reshape does;
 *   Slice     reads the input in place on the heap;
 *   GatherV2  (no batch dimensions) copies the picked rows on the heap, one block copy per row.
 * Strings go to the original kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { wrapKernel } from './wrap';

/** The wasm backend's tensor memory (public methods of its class, absent from KernelBackend's type). */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
}

/**
 * The backend's WebAssembly.Memory, for kernels that work on tensors in place (an internal of
 * tfjs-backend-wasm 4.22: the emscripten module's `asm.memory`); undefined where it is not there.
 */
export function backendMemory(backend: unknown): unknown {
  return (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
}

const SHORT_RUN = 64;

/** Copy the box begin .. begin + size of x (row-major, any rank) into out. */
export function sliceInto(
  x: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  begin: number[],
  size: number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  // Copy runs along the last axis; an odometer over the other axes gives each run's start.
  const run = size[rank - 1];
  const rows = size.slice(0, -1).reduce((a, b) => a * b, 1);
  const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
  for (let r = 0, o = 0; r < rows; r++, o += run) {
    let from = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) from += (begin[d] + index[d]) * strides[d];
    // A short run is cheaper copied by hand than through a subarray view (an object per run).
    if (run < SHORT_RUN) for (let k = 0; k < run; k++) out[o + k] = x[from + k];
    else out.set(x.subarray(from, from + run), o);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

function checkGatherIndices(indices: ArrayLike<number>, dim: number): void {
  for (let k = 0; k < indices.length; k++)
    if (!(indices[k] >= 0 && indices[k] < dim))
      throw new Error(`GatherV2: index ${indices[k]} is not in [0, ${dim - 1}]`);
}

/**
 * out = gather(x, indices) along `axis`: out[o, k, i] = x[o, indices[k], i] over the axes before (o) and
 * after (i) it. The indices are checked by the caller (checkGatherIndices).
 */
function gatherInto(
  x: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  axis: number,
  indices: Int32Array | Float32Array | Uint8Array,
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = shape[axis];
  for (let o = 0, w = 0; o < outer; o++)
    for (let k = 0; k < indices.length; k++, w += inner) {
      const from = (o * dim + indices[k]) * inner;
      if (inner < SHORT_RUN) for (let e = 0; e < inner; e++) out[w + e] = x[from + e];
      else out.set(x.subarray(from, from + inner), w);
    }
}

export function registerCopyKernelsWasm(): void {
  wrapKernel('Identity', 'wasm', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as WasmHeap).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  wrapKernel('Slice', 'wasm', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const backend = args.backend as unknown as WasmHeap;
    // Allocate first: a heap growth would detach views taken before it.
    const out = backend.makeOutput(s, x.dtype);
    sliceInto(backend.typedArrayFromHeap(x), x.shape, b, s, backend.typedArrayFromHeap(out));
    return out;
  });
  wrapKernel('GatherV2', 'wasm', (original) => (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    if (x.dtype === 'string' || x.dtype === 'complex64' || indices.dtype !== 'int32' || batchDims !== 0)
      return original.kernelFunc(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const backend = args.backend as unknown as WasmHeap;
    // Check before allocating (an error must not leave an output behind), take views after (a heap
    // growth detaches views taken before it).
    checkGatherIndices(backend.typedArrayFromHeap(indices), x.shape[ax]);
    const out = backend.makeOutput(outShape, x.dtype);
    const idx = backend.typedArrayFromHeap(indices);
    gatherInto(backend.typedArrayFromHeap(x), x.shape, ax, idx, backend.typedArrayFromHeap(out));
    return out;
  });
}
