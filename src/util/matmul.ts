/**
 * C (n x m) = A (n x k) . B (k x m), all row-major Float32Array: the digital layers' arithmetic.
 *
 * Semantics, which both implementations below give bit for bit: c_ij starts at +0 and, for p = 0 .. k-1
 * in order, skipping a_ip === 0, becomes fround(c_ij + a_ip * b_pj), the sum taken in float64 (what the
 * plain loop `c[j] += a * b[j]` on Float32Arrays does). The product of two float32 values is exact in
 * float64, so the WebAssembly SIMD kernel reproduces it on f64x2 lanes: promote, multiply, add, demote
 * to float32, promote again. It holds 16 columns of a row in registers while it walks the row's non-zero
 * entries, and runs 4-15 times faster than the loop (docs/performance.md). The plain loop serves small
 * products and machines without WebAssembly SIMD. Browser-safe.
 */
import {
  f64load,
  f64x2add,
  f64x2mul,
  f64x2promoteLowF32x4,
  f64x2splat,
  f32x4demoteF64x2Zero,
  get,
  I32,
  i32add,
  i32c,
  i32load,
  i32mul,
  i32shl,
  ifEmpty,
  elseOp,
  end,
  instantiator,
  set,
  v128load,
  v128store,
  v128zero,
  V128,
  type WasmMemory,
  whileLt,
} from './wasmAsm';

/** The plain loop (the reference of the kernel; loop order i-k-j keeps B's rows and C's row contiguous). */
export function matmulPlain(
  a: Float32Array,
  b: Float32Array,
  n: number,
  k: number,
  m: number,
  c: Float32Array = new Float32Array(n * m),
): Float32Array {
  c.fill(0, 0, n * m);
  for (let i = 0; i < n; i++) {
    const aRow = i * k;
    const cRow = i * m;
    for (let p = 0; p < k; p++) {
      const av = a[aRow + p];
      if (av === 0) continue;
      const bRow = p * m;
      for (let j = 0; j < m; j++) c[cRow + j] += av * b[bRow + j];
    }
  }
  return c;
}

/** Below this many multiply-adds the plain loop is as fast (the kernel copies its operands). */
const SIMD_MIN_WORK = 1 << 14;

export function matmul(
  a: Float32Array,
  b: Float32Array,
  n: number,
  k: number,
  m: number,
  c: Float32Array = new Float32Array(n * m),
): Float32Array {
  if (n * k * m >= SIMD_MIN_WORK) {
    simd ??= SimdMatmul.create();
    if (simd) return simd.run(a, 0, k, b, n, k, m, c, true);
  }
  return matmulPlain(a, b, n, k, m, c);
}

/**
 * out (n x m, float64) = A . B without rounding to float32: out_ij = the float64 sum over p in order,
 * skipping a_ip === 0, of a_ip * b_pj (the column currents of a crossbar tile, as the reference trial
 * adds them). A's row i is a[aOffset + i aStride + p]. Returns false, computing nothing, where
 * WebAssembly SIMD is unavailable.
 */
export function sumRowsFloat64(
  a: Float32Array,
  aOffset: number,
  aStride: number,
  b: Float32Array,
  n: number,
  k: number,
  m: number,
  out: Float64Array,
): boolean {
  simd ??= SimdMatmul.create();
  if (!simd) return false;
  simd.run(a, aOffset, aStride, b, n, k, m, out, false);
  return true;
}

let simd: SimdMatmul | null | undefined;

/** Whether the SIMD kernel runs here (else every product takes the plain loop). */
export function simdMatmulAvailable(): boolean {
  simd ??= SimdMatmul.create();
  return simd !== null;
}

/** Columns a kernel pass holds in registers: 8 f64x2 accumulators. */
const BLOCK_COLS = 16;
const BLOCK_BYTES = BLOCK_COLS * 8;
/** Rows of A per chunk, and rows of B per slice: a slice's column block (128 x 128 bytes) stays in L1. */
const CHUNK_ROWS = 128;
const SLICE_ROWS = 128;

interface MatmulKernel {
  mem: WasmMemory;
  /**
   * For each column block b < nBlocks and row n < rows: out[n][16 b .. 16 b + 16) (float64, row stride
   * outRowBytes) = the sum over the row's entries e in [rowStart[n], rowStart[n + 1]), in order, of
   * u[e] * G[row at byte offset off[e]][16 b ..] (G float64, blocks of 16 columns at 128 b bytes), each
   * addition rounded to float32 when roundF32 is 1 (see the file header); the sums start from out's
   * values when accumulate is 1 (a later slice of B's rows), else from +0.
   */
  sumRows(
    gPtr: number,
    nBlocks: number,
    rowStartPtr: number,
    offPtr: number,
    uPtr: number,
    rows: number,
    outPtr: number,
    outRowBytes: number,
    roundF32: number,
    accumulate: number,
  ): void;
}

// prettier-ignore
function sumRowsBody(): { params: number[]; locals: Array<[number, number]>; code: number[] } {
  const [gPtr, nBlocks, rowStartPtr, offPtr, uPtr, rows, outPtr, outRowBytes, roundF32, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [b, gb, n, k, kEnd, addr, o] = [10, 11, 12, 13, 14, 15, 16];
  const acc = [17, 18, 19, 20, 21, 22, 23, 24];
  const us = 25;
  const lanes = acc.map((_, m) => m);
  const load = [
    ...get(gb), ...get(offPtr), ...get(k), ...i32c(2), ...i32shl, ...i32add, ...i32load(), ...i32add, ...set(addr),
    ...get(uPtr), ...get(k), ...i32c(3), ...i32shl, ...i32add, ...f64load, ...f64x2splat, ...set(us),
  ];
  const madd = (m: number) => [...get(acc[m]), ...get(us), ...get(addr), ...v128load(16 * m), ...f64x2mul, ...f64x2add];
  const incK = [...get(k), ...i32c(1), ...i32add, ...set(k)];
  const step = [...load, ...lanes.flatMap((m) => [...madd(m), ...set(acc[m])]), ...incK];
  const stepRounded = [
    ...load,
    ...lanes.flatMap((m) => [...madd(m), ...f32x4demoteF64x2Zero, ...f64x2promoteLowF32x4, ...set(acc[m])]),
    ...incK,
  ];
  const perRow = [
    ...get(rowStartPtr), ...get(n), ...i32c(2), ...i32shl, ...i32add, ...set(addr),
    ...get(addr), ...i32load(0), ...set(k),
    ...get(addr), ...i32load(4), ...set(kEnd),
    ...get(outPtr), ...get(n), ...get(outRowBytes), ...i32mul, ...i32add, ...get(b), ...i32c(BLOCK_BYTES), ...i32mul, ...i32add, ...set(o),
    ...get(accumulate), ...ifEmpty,
    ...lanes.flatMap((m) => [...get(o), ...v128load(16 * m), ...set(acc[m])]),
    ...elseOp,
    ...acc.flatMap((a) => [...v128zero, ...set(a)]),
    ...end,
    ...get(roundF32), ...ifEmpty, ...whileLt(k, kEnd, stepRounded), ...elseOp, ...whileLt(k, kEnd, step), ...end,
    ...lanes.flatMap((m) => [...get(o), ...get(acc[m]), ...v128store(16 * m)]),
    ...get(n), ...i32c(1), ...i32add, ...set(n),
  ];
  const perBlock = [
    ...get(gPtr), ...get(b), ...i32c(BLOCK_BYTES), ...i32mul, ...i32add, ...set(gb),
    ...i32c(0), ...set(n),
    ...whileLt(n, rows, perRow),
    ...get(b), ...i32c(1), ...i32add, ...set(b),
  ];
  return {
    params: new Array<number>(10).fill(I32),
    locals: [
      [7, I32],
      [9, V128],
    ],
    code: [...i32c(0), ...set(b), ...whileLt(b, nBlocks, perBlock)],
  };
}

const createKernel = instantiator<MatmulKernel>(() => [{ name: 'sumRows', ...sumRowsBody(), results: [] }]);

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

class SimdMatmul {
  private constructor(private readonly kernel: MatmulKernel) {}

  static create(): SimdMatmul | null {
    const kernel = createKernel();
    return kernel ? new SimdMatmul(kernel) : null;
  }

  /** c = A . B as the file header says, each addition rounded to float32 when `round`. */
  run<C extends Float32Array | Float64Array>(
    a: Float32Array,
    aOffset: number,
    aStride: number,
    b: Float32Array,
    n: number,
    k: number,
    m: number,
    c: C,
    round: boolean,
  ): C {
    const nBlocks = Math.ceil(m / BLOCK_COLS);
    const mPad = nBlocks * BLOCK_COLS;
    const rowBytes = mPad * 8;
    const chunkRows = Math.min(n, CHUNK_ROWS);
    const sliceRows = Math.min(k, SLICE_ROWS);
    const entries = chunkRows * sliceRows;
    // Memory: B in float64 (rows padded with zeros to whole blocks), then a chunk's lists and sums.
    const gPtr = 0;
    const rowStartPtr = align16(k * rowBytes);
    const offPtr = align16(rowStartPtr + (chunkRows + 1) * 4);
    const uPtr = align16(offPtr + entries * 4);
    const outPtr = align16(uPtr + entries * 8);
    this.reserve(outPtr + chunkRows * rowBytes);
    const buf = this.kernel.mem.buffer;
    const g = new Float64Array(buf, gPtr, k * mPad);
    for (let p = 0; p < k; p++) {
      const row = p * mPad;
      for (let j = 0; j < m; j++) g[row + j] = b[p * m + j];
      g.fill(0, row + m, row + mPad);
    }
    const rowStart = new Int32Array(buf, rowStartPtr, chunkRows + 1);
    const off = new Int32Array(buf, offPtr, entries);
    const u = new Float64Array(buf, uPtr, entries);
    const out = new Float64Array(buf, outPtr, chunkRows * mPad);
    for (let i0 = 0; i0 < n; i0 += chunkRows) {
      const rows = Math.min(chunkRows, n - i0);
      // B's rows in slices that, one column block at a time, stay in L1 while the chunk's rows use them;
      // the sums carry from slice to slice in float64, exactly, so the order of additions is unchanged.
      for (let p0 = 0; p0 < k; p0 += sliceRows) {
        const p1 = Math.min(k, p0 + sliceRows);
        let e = 0;
        for (let r = 0; r < rows; r++) {
          rowStart[r] = e;
          const aRow = aOffset + (i0 + r) * aStride;
          for (let p = p0; p < p1; p++) {
            const av = a[aRow + p];
            if (av === 0) continue;
            off[e] = (p - p0) * rowBytes;
            u[e++] = av;
          }
        }
        rowStart[rows] = e;
        const gSlice = gPtr + p0 * rowBytes;
        this.kernel.sumRows(
          gSlice,
          nBlocks,
          rowStartPtr,
          offPtr,
          uPtr,
          rows,
          outPtr,
          rowBytes,
          round ? 1 : 0,
          p0 > 0 ? 1 : 0,
        );
      }
      for (let r = 0; r < rows; r++) {
        const cRow = (i0 + r) * m;
        const oRow = r * mPad;
        for (let j = 0; j < m; j++) c[cRow + j] = out[oRow + j];
      }
    }
    return c;
  }

  private reserve(bytes: number): void {
    const mem = this.kernel.mem;
    const have = mem.buffer.byteLength;
    if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
  }
}
