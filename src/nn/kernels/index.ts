/**
 * Kernels xbarsim adds to or replaces in the wasm backend (tfjs-backend-wasm 4.22), so that training
 * runs at the speed of its fast (XNNPACK) kernels:
 *   Conv2DBackpropFilter  missing in wasm; built from a transpose, one window copy and one matMul
 *   Conv2DBackpropInput   stride 1 rewritten as a forward convolution
 *   BatchMatMul           transposed operands rewritten as explicit transposes and a plain product;
 *                         products of short or transposed A by a SIMD kernel (XNNPACK's arithmetic)
 *   _FusedMatMul          (dense forward passes) the same kernel, from the bias, ReLU clamped
 *   MaxPoolGrad           non-overlapping pools in one pass over the input (SIMD for channels in fours)
 *   Identity, Slice       without copying whole tensors
 *   GatherV2              (training batches) one block copy per row
 *   Tile, Sum, Mean       (leading axes) without per-element index loops or transposes
 * Each is checked against the cpu backend's kernel in the tests.
 */
import { registerBatchMatMulWasm, registerFusedMatMulWasm } from './batchMatMul';
import { registerConv2dBackpropFilterWasm } from './conv2dBackpropFilter';
import { registerConv2dBackpropInputWasm } from './conv2dBackpropInput';
import { registerMaxPoolGradWasm } from './maxPoolGrad';
import { registerCopyKernelsWasm } from './copies';
import { registerBroadcastKernelsWasm } from './broadcast';

/** Register all of them (idempotent). Call after tfjs-backend-wasm is imported. */
export function registerWasmKernels(): void {
  registerConv2dBackpropFilterWasm();
  registerConv2dBackpropInputWasm();
  registerBatchMatMulWasm();
  registerFusedMatMulWasm();
  registerMaxPoolGradWasm();
  registerCopyKernelsWasm();
  registerBroadcastKernelsWasm();
}
