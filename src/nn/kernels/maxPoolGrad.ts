/**
 * MaxPoolGrad for the wasm backend. tfjs-backend-wasm 4.22 has one, but a general loop that costs
 * 14.5 ms for a batch of 32 through a 2 x 2 pool of 26 x 26 x 32 (against 0.4 ms for the forward pool),
 * nearly half of a training step of `cnn:c32p2:h128`. Every pool of xbarsim's networks has
 * non-overlapping windows (stride = pool size, 'valid'), where each input feeds at most one output:
 * dx is dy at the first maximum of each window (row-major, as the cpu backend's kernel picks it) and 0
 * elsewhere. That is one pass over the input, channels innermost, on the wasm heap (no copies): a
 * WebAssembly SIMD kernel where the channels come in fours (maxPoolGradSimd.ts), else the loop below.
 * Other pools go to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { backendMemory, type WasmHeap } from './copies';
import { maxPoolGradSimd, type PoolShape } from './maxPoolGradSimd';
import { wrapKernel } from './wrap';

const MAX_POOL_GRAD = 'MaxPoolGrad';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dx [n, h, w, c] of a non-overlapping max-pool (windows fH x fW at stride fH, fW, no padding). */
export function maxPoolGradNonOverlapping(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  shape: PoolShape,
): void {
  const { n, h, w, c, fH, fW, outH, outW } = shape;
  dx.fill(0);
  const rowStride = w * c;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        const corner = ((b * h + oy * fH) * w + ox * fW) * c;
        const o = ((b * outH + oy) * outW + ox) * c;
        for (let k = 0; k < c; k++) {
          // Strictly greater, from -Infinity: the first maximum keeps the gradient and NaN never
          // wins, as in the cpu backend's kernel.
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < fH; i++)
            for (let j = 0, p = corner + i * rowStride + k; j < fW; j++, p += c)
              if (x[p] > best) {
                best = x[p];
                at = p;
              }
          if (at >= 0) dx[at] = dy[o + k];
        }
      }
}

/** Replace the wasm MaxPoolGrad (once); the original handles overlapping or padded pools. */
export function registerMaxPoolGradWasm(): void {
  wrapKernel(MAX_POOL_GRAD, 'wasm', (original) => (args) => {
    const a = args.attrs as unknown as MaxPoolGradAttrs;
    const input = args.inputs.input as tf.TensorInfo;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { filterHeight: fH, filterWidth: fW, strideHeight, strideWidth, padInfo } = info;
    const fits =
      strideHeight === fH &&
      strideWidth === fW &&
      padInfo.top === 0 &&
      padInfo.left === 0 &&
      info.outHeight * fH <= info.inHeight &&
      info.outWidth * fW <= info.inWidth;
    if (!fits) return original.kernelFunc(args);
    const backend = args.backend as unknown as WasmHeap;
    // Allocate first: a heap growth would detach views taken before it.
    const out = backend.makeOutput(input.shape, 'float32');
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const dy = backend.typedArrayFromHeap(args.inputs.dy as tf.TensorInfo) as Float32Array;
    const shape = {
      n: info.batchSize,
      h: info.inHeight,
      w: info.inWidth,
      c: info.inChannels,
      fH,
      fW,
      outH: info.outHeight,
      outW: info.outWidth,
    };
    const heap = { xPtr: x.byteOffset, dyPtr: dy.byteOffset, dxPtr: dx.byteOffset, dx };
    if (!maxPoolGradSimd(backendMemory(backend), heap, shape)) maxPoolGradNonOverlapping(x, dy, dx, shape);
    return out;
  });
}
