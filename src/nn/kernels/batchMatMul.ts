/**
 * BatchMatMul for the wasm backend without transposed operands. tfjs-backend-wasm 4.22 multiplies
 * 5-10x slower when transposeA or transposeB is set than on plain operands (measured: the dense-layer
 * gradients dW = x^T dy and dx = dy W^T of a 5408 x 128 layer take 73 and 57 ms a batch of 32, against
 * 13 and 8 ms rewritten), and those gradients are most of an MLP's training time. So a transposed
 * product is rewritten with an explicit transpose and a plain product, in whichever of two equivalent
 * forms moves fewer elements:
 *   op(a) op(b)            transposing the operands that are marked transposed, or
 *   (op(b)^T op(a)^T)^T    transposing the unmarked operands and the result.
 * Plain float32 products of up to GEMM_SIMD_MAX_ROWS rows (training's: a batch, a filter gradient's
 * taps), and a^T b of any size (a dense layer's weight gradient x^T dy), go to gemmSimd.ts, which gives
 * the numbers of an explicit transpose and XNNPACK's product without repacking B on every call; larger
 * plain products (evaluation batches) and the rest go to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { backendMemory, type WasmHeap } from './copies';
import { gemmSimd } from './gemmSimd';
import { asTensor, swapLastAxes, wrapKernel } from './wrap';

/**
 * Above this many rows of A the original is as fast or faster (it amortises its packing of B, which it
 * reuses while B is unchanged, as in evaluation); measured in docs/performance.md.
 */
const GEMM_SIMD_MAX_ROWS = 512;

const BATCH_MAT_MUL = 'BatchMatMul';
const FUSED_MAT_MUL = '_FusedMatMul';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** a . b with the given transposes, using only plain products. */
function matMulWithoutTransposes(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): tf.Tensor {
  if (!transposeA && !transposeB) return tf.matMul(a, b);
  const rows = a.shape[transposeA ? a.rank - 1 : a.rank - 2];
  const cols = b.shape[transposeB ? b.rank - 2 : b.rank - 1];
  const batch = Math.max(
    a.size / (a.shape[a.rank - 1] * a.shape[a.rank - 2]),
    b.size / (b.shape[b.rank - 1] * b.shape[b.rank - 2]),
  );
  const direct = (transposeA ? a.size : 0) + (transposeB ? b.size : 0);
  const flipped = (transposeA ? 0 : a.size) + (transposeB ? 0 : b.size) + batch * rows * cols;
  if (direct <= flipped) return tf.matMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b);
  return swapLastAxes(tf.matMul(transposeB ? b : swapLastAxes(b), transposeA ? a : swapLastAxes(a)));
}

interface ProductOptions {
  transposeA: boolean;
  /** A dense layer's bias, n floats, that the sums start from (as in XNNPACK's fused product). */
  bias?: tf.TensorInfo;
  relu?: boolean;
}

/** op(a) . b (+ bias, ReLU) by gemmSimd in the backend's memory, or null where that does not apply. */
function productSimd(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  backend: unknown,
  opts: ProductOptions,
): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const [rows, cols] = a.shape.slice(-2);
  const [m, k] = opts.transposeA ? [cols, rows] : [rows, cols];
  const n = b.shape[b.shape.length - 1];
  const batchOnes = (s: number[]) => s.slice(0, -2).every((d) => d === 1);
  if (!batchOnes(a.shape) || !batchOnes(b.shape) || b.shape[b.shape.length - 2] !== k) return null;
  if (m === 0 || n === 0 || (!opts.transposeA && m > GEMM_SIMD_MAX_ROWS)) return null;
  const { bias } = opts;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return null;
  const memory = backendMemory(backend);
  if (!memory) return null;
  const heap = backend as WasmHeap;
  const batch = new Array<number>(Math.max(a.shape.length, b.shape.length) - 2).fill(1);
  // Allocate first: a heap growth would detach views taken before it.
  const out = heap.makeOutput([...batch, m, n], 'float32');
  const ptr = (t: tf.TensorInfo) => heap.typedArrayFromHeap(t).byteOffset;
  const done = gemmSimd(memory, { a: ptr(a), b: ptr(b), c: ptr(out) }, m, k, n, {
    transposeA: opts.transposeA,
    biasPtr: bias ? ptr(bias) : undefined,
    relu: opts.relu,
  });
  if (done) return out;
  (backend as tf.KernelBackend).disposeData(out.dataId);
  return null;
}

/** Replace the wasm BatchMatMul (once); the original handles what gemmSimd does not. */
export function registerBatchMatMulWasm(): void {
  wrapKernel(BATCH_MAT_MUL, 'wasm', (original) => (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    if (!transposeB) {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const out = productSimd(a, b, args.backend, { transposeA });
      if (out) return out;
      if (!transposeA) return original.kernelFunc(args);
    }
    return tf.tidy(() =>
      matMulWithoutTransposes(
        asTensor(args.inputs.a as tf.TensorInfo),
        asTensor(args.inputs.b as tf.TensorInfo),
        transposeA,
        transposeB,
      ),
    );
  });
}

interface FusedMatMulAttrs extends MatMulAttrs {
  activation?: string;
}

/**
 * Replace the wasm _FusedMatMul (a dense layer's forward pass) for plain products with no bias or a
 * [n] bias, and a linear, ReLU or sigmoid activation: XNNPACK starts the sums from the bias and clamps
 * for ReLU, and applies other activations to that result (sigmoid: the backend's own kernel, as here).
 * The rest goes to the original.
 */
export function registerFusedMatMulWasm(): void {
  wrapKernel(FUSED_MAT_MUL, 'wasm', (original) => (args) => {
    const { transposeA, transposeB, activation = 'linear' } = args.attrs as unknown as FusedMatMulAttrs;
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    if (transposeA || transposeB || preluActivationWeights || !a || !b) return original.kernelFunc(args);
    if (activation !== 'linear' && activation !== 'relu' && activation !== 'sigmoid')
      return original.kernelFunc(args);
    const out = productSimd(a, b, args.backend, { transposeA: false, bias, relu: activation === 'relu' });
    if (!out) return original.kernelFunc(args);
    return activation === 'sigmoid' ? tf.tidy(() => tf.sigmoid(asTensor(out))) : out;
  });
}
