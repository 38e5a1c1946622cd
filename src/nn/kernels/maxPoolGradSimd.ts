/**
 * The non-overlapping MaxPoolGrad of maxPoolGrad.ts as a WebAssembly SIMD kernel that works in place on
 * the wasm backend's heap, four channels per vector: for each window the taps are compared with
 * f32x4.gt from -Infinity (the first maximum wins, NaN never does, as in the loop), and each tap's dx is
 * dy masked by "this tap won", so there are no branches and no scatter. Every number is a copy of dy or
 * +0, so the result is the loop's bit for bit (tested). Built per pool shape, the taps unrolled.
 */
import {
  bitselect,
  f32c,
  f32x4gt,
  f32x4splat,
  get,
  I32,
  i32add,
  i32c,
  i32mul,
  i32x4eq,
  i32x4splat,
  memoryInstantiator,
  set,
  v128and,
  v128load,
  v128store,
  V128,
  whileLt,
} from '../../util/wasmAsm';

interface StripKernel {
  /**
   * One row of windows: for ox < outW and channel group g < groups, the window at
   * xPtr + ox winBytes + g 16 (taps at + i rowBytes + j cBytes) and its dy at dyPtr + (ox groups + g) 16;
   * dx is written at the same offsets from dxPtr as x is read from xPtr.
   */
  strip(
    xPtr: number,
    dyPtr: number,
    dxPtr: number,
    outW: number,
    groups: number,
    rowBytes: number,
    cBytes: number,
    winBytes: number,
  ): void;
}

// prettier-ignore
function stripFunc(fH: number, fW: number) {
  const [xPtr, dyPtr, dxPtr, outW, groups, rowBytes, cBytes, winBytes] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [ox, g, xw, xa, dya, delta] = [8, 9, 10, 11, 12, 13];
  const taps = fH * fW;
  const tapOff = Array.from({ length: taps }, (_, t) => 14 + t);
  const [best, idx, v, d, m] = [14 + taps, 15 + taps, 16 + taps, 17 + taps, 18 + taps];
  const tapInit = tapOff.flatMap((local, t) => [
    ...i32c(Math.floor(t / fW)), ...get(rowBytes), ...i32mul,
    ...i32c(t % fW), ...get(cBytes), ...i32mul, ...i32add, ...set(local),
  ]);
  const compare = tapOff.flatMap((local, t) => [
    ...get(xa), ...get(local), ...i32add, ...v128load(), ...set(v),
    ...get(v), ...get(best), ...f32x4gt, ...set(m),
    ...get(v), ...get(best), ...get(m), ...bitselect, ...set(best),
    ...i32c(t), ...i32x4splat, ...get(idx), ...get(m), ...bitselect, ...set(idx),
  ]);
  const scatter = tapOff.flatMap((local, t) => [
    ...get(xa), ...get(local), ...i32add, ...get(delta), ...i32add,
    ...get(d), ...get(idx), ...i32c(t), ...i32x4splat, ...i32x4eq, ...v128and, ...v128store(),
  ]);
  const perGroup = [
    ...get(xw), ...get(g), ...i32c(16), ...i32mul, ...i32add, ...set(xa),
    ...f32c(-Infinity), ...f32x4splat, ...set(best),
    ...i32c(-1), ...i32x4splat, ...set(idx),
    ...compare,
    ...get(dya), ...v128load(), ...set(d),
    ...get(dya), ...i32c(16), ...i32add, ...set(dya),
    ...scatter,
    ...get(g), ...i32c(1), ...i32add, ...set(g),
  ];
  const perWindow = [
    ...get(xPtr), ...get(ox), ...get(winBytes), ...i32mul, ...i32add, ...set(xw),
    ...i32c(0), ...set(g),
    ...whileLt(g, groups, perGroup),
    ...get(ox), ...i32c(1), ...i32add, ...set(ox),
  ];
  return {
    name: 'strip',
    params: new Array<number>(8).fill(I32),
    results: [],
    locals: [
      [6 + taps, I32],
      [5, V128],
    ] as Array<[number, number]>,
    code: [
      ...tapInit,
      ...get(dxPtr), ...get(xPtr), ...i32c(-1), ...i32mul, ...i32add, ...set(delta),
      ...get(dyPtr), ...set(dya),
      ...i32c(0), ...set(ox),
      ...whileLt(ox, outW, perWindow),
    ],
  };
}

/** One compiler per pool shape (the taps are unrolled); each keeps its instance per memory. */
const compilers = new Map<string, (memory: unknown) => StripKernel | null>();

function stripKernel(memory: unknown, fH: number, fW: number): StripKernel | null {
  const key = `${fH}x${fW}`;
  let compile = compilers.get(key);
  if (!compile) {
    compile = memoryInstantiator<StripKernel>(() => [stripFunc(fH, fW)]);
    compilers.set(key, compile);
  }
  return compile(memory);
}

export interface PoolShape {
  n: number;
  h: number;
  w: number;
  c: number;
  fH: number;
  fW: number;
  outH: number;
  outW: number;
}

/**
 * dx = the non-overlapping MaxPoolGrad of x and dy, all float32 tensors at these byte offsets in
 * `memory` (c a multiple of 4). Returns false, writing nothing, where the kernel cannot run.
 */
export function maxPoolGradSimd(
  memory: unknown,
  heap: { xPtr: number; dyPtr: number; dxPtr: number; dx: Float32Array },
  s: PoolShape,
): boolean {
  if (s.c % 4 !== 0) return false;
  const kernel = stripKernel(memory, s.fH, s.fW);
  if (!kernel) return false;
  // Cells outside every window (an image side that is not a multiple of the pool) get no gradient.
  if (s.outH * s.fH < s.h || s.outW * s.fW < s.w) heap.dx.fill(0);
  const rowBytes = s.w * s.c * 4;
  const cBytes = s.c * 4;
  const winBytes = s.fW * cBytes;
  for (let b = 0; b < s.n; b++)
    for (let oy = 0; oy < s.outH; oy++) {
      const xOff = (b * s.h + oy * s.fH) * rowBytes;
      const dyOff = (b * s.outH + oy) * s.outW * cBytes;
      kernel.strip(
        heap.xPtr + xOff,
        heap.dyPtr + dyOff,
        heap.dxPtr + xOff,
        s.outW,
        s.c / 4,
        rowBytes,
        cBytes,
        winBytes,
      );
    }
  return true;
}
