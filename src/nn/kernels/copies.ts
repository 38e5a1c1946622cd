/**
 * Identity and Slice for the wasm backend without needless copies. In tfjs-backend-wasm 4.22, Identity
 * copies its input into a new buffer (a training step of `cnn:c32p2:h128` runs ~22 of them, in the
 * gradients of adds and in optimiser updates), and Slice first copies the *whole* input out of the heap
 * (`readSync`) to cut one piece from it (Conv2DBackpropFilter cuts 9 windows from one tensor). Together
 * about a tenth of a CNN's training time. Here:
 *   Identity  shares the input's data and counts a reference, as the backend's own Reshape does;
 *   Slice     reads the input in place on the heap.
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
}
