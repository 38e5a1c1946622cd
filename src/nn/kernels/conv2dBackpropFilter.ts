/**
 * `Conv2DBackpropFilter` for the wasm backend, which lacks it (tfjs 4.22), so that CNNs train there.
 *
 * dW[i, j, c, o] = sum over (n, y, x) of xPadded[n, y*sH + i, x*sW + j, c] * dy[n, y, x, o].
 * With the input moved channels-first, xc = [c, n, h, w], the window of kernel offset (i, j) is one
 * (strided) box [c, n, outH, outW] of the padded input; the fH*fW windows one after the other are the
 * transposed im2col matrix [fH*fW*c, n*outH*outW] in the filter's (i, j, c) order, and
 * dW = cols . dy[n*outH*outW, o] is one matMul with no transposed operand (the wasm matMul is ~10x slower
 * with transposeA). The transpose and the matMul are the backend's kernels; the windows are copied in one
 * pass on the wasm heap (`windowColumns`), in place of a pad, fH*fW slices and a stack (which took a
 * third of this kernel's time in `paper2:initial`'s training); the same numbers, copied.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmHeap } from './copies';
import { asTensor, type Conv2dBackpropAttrs } from './wrap';

const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

interface Conv2dBackpropFilterAttrs extends Conv2dBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Where the windows of a convolution lie in its channels-first input [c, n, h, w]. */
export interface WindowGeometry {
  channels: number;
  batch: number;
  inH: number;
  inW: number;
  fH: number;
  fW: number;
  sH: number;
  sW: number;
  /** Padding before the first row and column. */
  top: number;
  left: number;
  outH: number;
  outW: number;
}

/**
 * cols[(i fW + j) c + ch][(b outH + y) outW + x] = xc[ch, b, y sH + i - top, x sW + j - left], 0 where
 * that falls in the padding. xc is [channels, batch, inH, inW], row-major.
 */
export function windowColumns(xc: Float32Array, g: WindowGeometry, cols: Float32Array): void {
  const { channels, batch, inH, inW, fH, fW, sH, sW, top, left, outH, outW } = g;
  let o = 0;
  for (let i = 0; i < fH; i++)
    for (let j = 0; j < fW; j++) {
      // Output columns x whose input column x sW + j - left lies inside the image: [x0, x1).
      const x0 = Math.min(outW, Math.max(0, Math.ceil((left - j) / sW)));
      const x1 = Math.max(x0, Math.min(outW, Math.floor((inW - 1 + left - j) / sW) + 1));
      const shift = j - left;
      for (let plane = 0; plane < channels * batch; plane++)
        for (let y = 0; y < outH; y++, o += outW) {
          const row = y * sH + i - top;
          if (row < 0 || row >= inH) {
            cols.fill(0, o, o + outW);
            continue;
          }
          const from = (plane * inH + row) * inW + shift;
          for (let x = 0; x < x0; x++) cols[o + x] = 0;
          if (sW === 1) for (let x = x0; x < x1; x++) cols[o + x] = xc[from + x];
          else for (let x = x0; x < x1; x++) cols[o + x] = xc[from + x * sW];
          for (let x = x1; x < outW; x++) cols[o + x] = 0;
        }
    }
}

/** dW [fH, fW, inC, outC] of a conv2d (dilation 1) from its input x and output gradient dy. */
function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Conv2dBackpropFilterAttrs,
  backend: WasmHeap,
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
  const rows = batchSize * outHeight * outWidth;
  const k = info.filterHeight * info.filterWidth * inChannels;
  return tf.tidy(() => {
    const xc = tf.transpose(x, nchw ? [1, 0, 2, 3] : [3, 0, 1, 2]);
    // Allocate first: a heap growth would detach views taken before it.
    const colsInfo = backend.makeOutput([k, rows], 'float32');
    windowColumns(
      backend.typedArrayFromHeap(xc) as Float32Array,
      {
        channels: inChannels,
        batch: batchSize,
        inH: inHeight,
        inW: inWidth,
        fH: info.filterHeight,
        fW: info.filterWidth,
        sH: info.strideHeight,
        sW: info.strideWidth,
        top: info.padInfo.top,
        left: info.padInfo.left,
        outH: outHeight,
        outW: outWidth,
      },
      backend.typedArrayFromHeap(colsInfo) as Float32Array,
    );
    const cols = asTensor(colsInfo);
    const dy2 = (nchw ? tf.transpose(dy, [0, 2, 3, 1]) : dy).reshape([rows, outChannels]);
    return tf.matMul(cols, dy2).reshape(attrs.filterShape) as tf.Tensor4D;
  });
}

const kernelFunc: tf.KernelFunc = ({ inputs, attrs, backend }) =>
  tf.tidy(() =>
    conv2dBackpropFilter(
      asTensor(inputs.x as tf.TensorInfo) as tf.Tensor4D,
      asTensor(inputs.dy as tf.TensorInfo) as tf.Tensor4D,
      attrs as unknown as Conv2dBackpropFilterAttrs,
      backend as unknown as WasmHeap,
    ),
  );

/** Register the kernel for backend 'wasm' (once). */
export function registerConv2dBackpropFilterWasm(): void {
  if (tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm')) return;
  tf.registerKernel({ kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc });
}
