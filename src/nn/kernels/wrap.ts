/** Helpers for replacing a wasm kernel with one built from other (fast) kernels. */
import * as tf from '@tensorflow/tfjs';

/** Kernel inputs are tensors in practice; wrap a bare TensorInfo just in case (call inside a tidy). */
export function asTensor(info: tf.TensorInfo): tf.Tensor {
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

/** The attributes tfjs passes the Conv2DBackpropFilter and Conv2DBackpropInput kernels besides a shape. */
export interface Conv2dBackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const WRAPPED = Symbol('xbarsim.wrappedKernel');
type Marked = tf.KernelConfig & { [WRAPPED]?: tf.KernelConfig };

/**
 * Put `makeFunc(original)` in place of the kernel `kernelName` of `backendName`, keeping the original's
 * setup and dispose functions (the wasm backend binds its C functions in them) so it stays callable as
 * a fallback. Done once: a second call sees the mark and does nothing.
 */
export function wrapKernel(
  kernelName: string,
  backendName: string,
  makeFunc: (original: tf.KernelConfig) => tf.KernelFunc,
): void {
  const original = tf.getKernel(kernelName, backendName) as Marked | undefined;
  if (!original || original[WRAPPED]) return;
  const wrapped: Marked = { ...original, kernelFunc: makeFunc(original), [WRAPPED]: original };
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(wrapped);
}

/** The backend's own kernel that wrapKernel replaced (for benchmarks), or undefined. */
export function originalKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return (tf.getKernel(kernelName, backendName) as Marked | undefined)?.[WRAPPED];
}

/** Swap the last two axes. */
export function swapLastAxes<T extends tf.Tensor>(t: T): T {
  const perm = Array.from({ length: t.rank }, (_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}
