/**
 * BatchMatMul for the wasm backend without transposed operands. tfjs-backend-wasm 4.22 multiplies
 * 5-10x slower when transposeA or transposeB is set than on plain operands (measured: the dense-layer
 * gradients dW = x^T dy and dx = dy W^T of a 5408 x 128 layer take 73 and 57 ms a batch of 32, against
 * 13 and 8 ms rewritten), and those gradients are most of an MLP's training time. So a transposed
 * product is rewritten with an explicit transpose and a plain product, in whichever of two equivalent
 * forms moves fewer elements:
 *   op(a) op(b)            transposing the operands that are marked transposed, or
 *   (op(b)^T op(a)^T)^T    transposing the unmarked operands and the result.
 * Plain products go straight to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, swapLastAxes, wrapKernel } from './wrap';

const BATCH_MAT_MUL = 'BatchMatMul';

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

/** Replace the wasm BatchMatMul (once); the original handles plain products. */
export function registerBatchMatMulWasm(): void {
  wrapKernel(BATCH_MAT_MUL, 'wasm', (original) => (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    if (!transposeA && !transposeB) return original.kernelFunc(args);
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
