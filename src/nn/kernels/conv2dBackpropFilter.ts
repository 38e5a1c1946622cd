/**
 * `Conv2DBackpropFilter` for the wasm backend, which lacks it (tfjs 4.22), so that CNNs train there.
 *
 * dW[i, j, c, o] = sum over (n, y, x) of xPadded[n, y*sH + i, x*sW + j, c] * dy[n, y, x, o].
 * With the input moved channels-first, xc = [c, n, h, w], the window of kernel offset (i, j) is one
 * (strided) slice [c, n, outH, outW]; stacking the fH*fW windows gives the transposed im2col matrix
 * [fH*fW*c, n*outH*outW] in the filter's (i, j, c) order, and dW = cols . dy[n*outH*outW, o] is one
 * matMul with no transposed operand (the wasm matMul is ~10x slower with transposeA). All work uses
 * public tf ops on the active (wasm) backend; the engine does not tape ops run inside a kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, type Conv2dBackpropAttrs } from './wrap';

const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

interface Conv2dBackpropFilterAttrs extends Conv2dBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** dW [fH, fW, inC, outC] of a conv2d (dilation 1) from its input x and output gradient dy. */
function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Conv2dBackpropFilterAttrs,
): tf.Tensor4D {
  const nchw = attrs.dataFormat === 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    nchw ? 'channelsFirst' : 'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW } = info;
  const { top, left } = info.padInfo;
  return tf.tidy(() => {
    const xc = tf.transpose(x, nchw ? [1, 0, 2, 3] : [3, 0, 1, 2]);
    // Pad only as far as the windows reach: the declared bottom/right padding may be more (the slices
    // ignore it) or, with a rounding mode, less than the last window needs (those taps read zeros).
    const spanH = (outHeight - 1) * sH + 1;
    const spanW = (outWidth - 1) * sW + 1;
    const bottom = Math.max(0, spanH + fH - 1 - top - inHeight);
    const right = Math.max(0, spanW + fW - 1 - left - inWidth);
    const padded =
      top || bottom || left || right
        ? tf.pad(xc, [
            [0, 0],
            [0, 0],
            [top, bottom],
            [left, right],
          ])
        : xc;
    const windows: tf.Tensor[] = [];
    for (let i = 0; i < fH; i++) {
      for (let j = 0; j < fW; j++) {
        windows.push(
          sH === 1 && sW === 1
            ? tf.slice(padded, [0, 0, i, j], [inChannels, batchSize, outHeight, outWidth])
            : tf.stridedSlice(
                padded,
                [0, 0, i, j],
                [inChannels, batchSize, i + spanH, j + spanW],
                [1, 1, sH, sW],
              ),
        );
      }
    }
    const rows = batchSize * outHeight * outWidth;
    const cols = tf.stack(windows).reshape([fH * fW * inChannels, rows]);
    const dy2 = (nchw ? tf.transpose(dy, [0, 2, 3, 1]) : dy).reshape([rows, outChannels]);
    return tf.matMul(cols, dy2).reshape(attrs.filterShape) as tf.Tensor4D;
  });
}

const kernelFunc: tf.KernelFunc = ({ inputs, attrs }) =>
  tf.tidy(() =>
    conv2dBackpropFilter(
      asTensor(inputs.x as tf.TensorInfo) as tf.Tensor4D,
      asTensor(inputs.dy as tf.TensorInfo) as tf.Tensor4D,
      attrs as unknown as Conv2dBackpropFilterAttrs,
    ),
  );

/** Register the kernel for backend 'wasm' (once). */
export function registerConv2dBackpropFilterWasm(): void {
  if (tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm')) return;
  tf.registerKernel({ kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc });
}
