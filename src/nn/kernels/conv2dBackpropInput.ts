/**
 * Conv2DBackpropInput for the wasm backend. tfjs-backend-wasm 4.22 has one, but a direct loop about
 * 10x slower than its (XNNPACK) forward convolution: 141 ms against 14 ms for a batch of 32 through
 * conv 32 -> 64 on 13 x 13, which makes it the largest cost of training a two-block CNN. For stride 1
 * the input gradient is itself a stride-1 convolution, so it runs on the fast forward kernel:
 *
 *   dx[n, y, x, c] = sum over (i, j, o) of dyP[n, y + i, x + j, o] * w[fH-1-i, fW-1-j, c, o],
 *
 * where dyP is dy padded by fH-1-top rows above and inH-outH+top below (likewise for columns): a
 * 'valid' conv2d of dyP with the filter flipped in space and its channel axes swapped. Other cases
 * (stride > 1, NCHW, padding wider than the filter) go to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, type Conv2dBackpropAttrs, wrapKernel } from './wrap';

const CONV2D_BACKPROP_INPUT = 'Conv2DBackpropInput';

export interface Conv2dBackpropInputAttrs extends Conv2dBackpropAttrs {
  inputShape: [number, number, number, number];
}

/** Padding of dy [top, bottom, left, right] for the rewrite, or null when it does not apply. */
function stride1Padding(filterShape: number[], attrs: Conv2dBackpropInputAttrs): number[] | null {
  if (attrs.dataFormat === 'NCHW') return null;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  const { filterHeight: fH, filterWidth: fW, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const pads = [fH - 1 - top, inHeight - outHeight + top, fW - 1 - left, inWidth - outWidth + left];
  return pads.some((p) => p < 0) ? null : pads;
}

/** dx of a stride-1 NHWC conv2d from dy and the filter, given stride1Padding's result. */
function conv2dBackpropInputStride1(dy: tf.Tensor4D, filter: tf.Tensor4D, pads: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = tf.pad(dy, [
      [0, 0],
      [pads[0], pads[1]],
      [pads[2], pads[3]],
      [0, 0],
    ]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(padded, flipped, 1, 'valid');
  });
}

/** Replace the wasm Conv2DBackpropInput (once); the original handles what the rewrite does not. */
export function registerConv2dBackpropInputWasm(): void {
  wrapKernel(CONV2D_BACKPROP_INPUT, 'wasm', (original) => (args) => {
    const filterInfo = args.inputs.filter as tf.TensorInfo;
    const pads = stride1Padding(filterInfo.shape, args.attrs as unknown as Conv2dBackpropInputAttrs);
    if (!pads) return original.kernelFunc(args);
    return tf.tidy(() =>
      conv2dBackpropInputStride1(
        asTensor(args.inputs.dy as tf.TensorInfo) as tf.Tensor4D,
        asTensor(filterInfo) as tf.Tensor4D,
        pads,
      ),
    );
  });
}
