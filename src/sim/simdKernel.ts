/**
 * Two small WebAssembly SIMD kernels for the trial fast path, assembled here from opcodes
 * (util/wasmAsm.ts): `accumulateCodes` (column sums of a tile over each input row's active rows, f32x4 lanes
 * over columns, then each column's ADC code, or -1 where float32 rounding could change the code: the
 * caller recomputes those few conversions exactly) and `combine` (the digital sum over row tiles of
 * G+ minus G- currents, float64, in the reference's order). Browser-safe.
 *
 * Memory layout the kernels expect (byte addresses into the module's memory):
 * - a tile's conductances in column blocks of BLOCK_COLS floats: block b holds rows x BLOCK_COLS
 *   float32 values, row-major, so one active row of one block is 8 consecutive v128 loads;
 * - per input row n: active entries [rowStart[n], rowStart[n + 1]) of rowOffset (byte offset of the row
 *   inside a block) and u (the DAC fraction, float32);
 * - codes out, one row of `codeRowBytes` per input row (int32 per padded column).
 */
import {
  F32,
  I32,
  V128,
  bitselect,
  elseOp,
  end,
  f32add,
  f32c,
  f32convertI32,
  f32load,
  f32mul,
  f32x4add,
  f32x4eq,
  f32x4floor,
  f32x4gt,
  f32x4lt,
  f32x4mul,
  f32x4splat,
  f32x4sub,
  f64add,
  f64load,
  f64store,
  f64sub,
  get,
  i32add,
  i32c,
  i32eq,
  i32eqz,
  i32load,
  i32mul,
  i32shl,
  i32shrU,
  i32store,
  i32sub,
  i32x4allTrue,
  i32x4lane,
  i32x4splat,
  i32x4sub,
  i32x4truncSatF32,
  ifEmpty,
  instantiator,
  set,
  v128and,
  v128load,
  v128or,
  v128store,
  v128zero,
  whileLt,
  type WasmMemory,
} from '../util/wasmAsm';

/** Columns per block: 8 v128 accumulators, which stay in registers. */
export const BLOCK_COLS = 32;
export const BLOCK_BYTES_PER_ROW = BLOCK_COLS * 4;

export interface KernelExports {
  mem: WasmMemory;
  /**
   * For each column block b < nBlocks and input row n in [n0, n1): the column sums
   * s = sum over the row's entries k (in order) of (weighted ? u[k] : 1) * G[block b, row of k] in float32,
   * then each column's ADC code, written to codes[(n - n0) codeRowBytes / 4 + 32 b + c]: with
   * x = s k[p] (k: float32 per padded column) and e = x rho + eAbs, where rho = rhoA (terms + 1) + rhoB
   * for the row's number of terms, the code is round(x) when [x - e, x + e] holds no rounding boundary
   * and stays below `steps`; `steps` when x - e > steps (certainly clipped); else -1. Writes the element
   * index of each -1 to list[] and returns how many; adds the certainly clipped count to the i32 at clipPtr.
   */
  accumulateCodes(
    gBase: number,
    nBlocks: number,
    blockBytes: number,
    rowStartPtr: number,
    rowOffPtr: number,
    uPtr: number,
    n0: number,
    n1: number,
    codePtr: number,
    codeRowBytes: number,
    weighted: number,
    kPtr: number,
    rhoA: number,
    rhoB: number,
    eAbs: number,
    steps: number,
    listPtr: number,
    clipPtr: number,
  ): number;
  /**
   * acc[n][j] += table[codes[n][j]] - table[codes[n][ref(j)]] (float64, acc row stride cols) for
   * n < rows, j < cols; codes have row stride codeCols; ref(j) = refs[j], or cols + j when refPtr is 0.
   */
  combine(
    codePtr: number,
    rows: number,
    codeCols: number,
    cols: number,
    refPtr: number,
    tablePtr: number,
    accPtr: number,
  ): void;
}

/**
 * accumulateCodes(gBase, nBlocks, blockBytes, rowStartPtr, rowOffPtr, uPtr, n0, n1, codePtr, codeRowBytes,
 * weighted, kPtr, rhoA, rhoB, eAbs, steps, listPtr, clipPtr) -> ambiguous count. See KernelExports.
 */
// prettier-ignore
function accumulateCodesBody(): { params: number[]; locals: Array<[number, number]>; code: number[] } {
  // params
  const [gBase, nBlocks, blockBytes, rowStartPtr, rowOffPtr, uPtr, n0, n1, codePtr, codeRowBytes, weighted, kPtr] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ];
  const [rhoA, rhoB, eAbs, steps, listPtr, clipPtr] = [12, 13, 14, 15, 16, 17];
  // i32 locals
  const [b, gb, n, k, kEnd, addr, cOut, kb, count, idx] = [18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
  // v128 locals
  const acc = [28, 29, 30, 31, 32, 33, 34, 35];
  const [w, x, e, lo, hi, cl, ok, sure, code, stepsV, stepsI, half, minusOne, rhoV, eAbsV, clip] = [
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
  ];
  const kStart = 52; // i32
  const okAll = 53; // v128
  const lanes = acc.map((_, m) => m);
  const rowAddr = [...get(gb), ...get(rowOffPtr), ...get(k), ...i32c(2), ...i32shl, ...i32add, ...i32load(), ...i32add, ...set(addr)];
  const incK = [...get(k), ...i32c(1), ...i32add, ...set(k)];
  const plainRow = [
    ...rowAddr,
    ...lanes.flatMap((m) => [...get(acc[m]), ...get(addr), ...v128load(16 * m), ...f32x4add, ...set(acc[m])]),
    ...incK,
  ];
  const weightedRow = [
    ...rowAddr,
    ...get(uPtr), ...get(k), ...i32c(2), ...i32shl, ...i32add, ...f32load, ...f32x4splat, ...set(w),
    ...lanes.flatMap((m) => [...get(acc[m]), ...get(addr), ...v128load(16 * m), ...get(w), ...f32x4mul, ...f32x4add, ...set(acc[m])]),
    ...incK,
  ];
  // The ADC code of 4 column sums (acc[m]): x = sum k, e = x rho + eAbs; code round(x) if [x - e, x + e]
  // holds no rounding boundary and stays below steps; steps if x - e > steps (certainly clipped); else -1.
  const codes = (m: number) => [
    ...get(acc[m]), ...get(kb), ...v128load(16 * m), ...f32x4mul, ...set(x),
    ...get(x), ...get(rhoV), ...f32x4mul, ...get(eAbsV), ...f32x4add, ...set(e),
    ...get(x), ...get(e), ...f32x4sub, ...set(lo),
    ...get(x), ...get(e), ...f32x4add, ...set(hi),
    ...get(lo), ...get(stepsV), ...f32x4gt, ...set(sure),
    ...get(lo), ...get(half), ...f32x4add, ...f32x4floor, ...set(cl),
    ...get(cl), ...get(hi), ...get(half), ...f32x4add, ...f32x4floor, ...f32x4eq, ...get(hi), ...get(stepsV), ...f32x4lt, ...v128and, ...set(ok),
    ...get(stepsI), ...get(cl), ...i32x4truncSatF32, ...get(minusOne), ...get(ok), ...bitselect, ...get(sure), ...bitselect, ...set(code),
    ...get(cOut), ...get(code), ...v128store(16 * m),
    ...get(clip), ...get(sure), ...i32x4sub, ...set(clip), // a true lane is -1
    // Lanes with a certain code (ok or sure); the rare others are listed after the 8 vectors.
    ...get(okAll), ...get(ok), ...get(sure), ...v128or, ...v128and, ...set(okAll),
  ];
  // Rare: list the element index of each -1 lane of this row's block for the exact recomputation.
  const listAmbiguous = [
    ...get(okAll), ...i32x4allTrue, ...i32eqz, ...ifEmpty,
    ...lanes.flatMap((m) => [
      ...get(cOut), ...v128load(16 * m), ...set(code),
      ...[0, 1, 2, 3].flatMap((l) => [
        ...get(code), ...i32x4lane(l), ...i32c(-1), ...i32eq, ...ifEmpty,
        ...get(listPtr), ...get(count), ...i32c(2), ...i32shl, ...i32add,
        ...get(idx), ...i32c(4 * m + l), ...i32add, ...i32store(),
        ...get(count), ...i32c(1), ...i32add, ...set(count),
        ...end,
      ]),
    ]),
    ...end,
  ];
  const perRow = [
    ...get(rowStartPtr), ...get(n), ...i32c(2), ...i32shl, ...i32add, ...set(addr),
    ...get(addr), ...i32load(0), ...set(k),
    ...get(addr), ...i32load(4), ...set(kEnd),
    ...get(k), ...set(kStart),
    ...acc.flatMap((a) => [...v128zero, ...set(a)]),
    ...get(weighted), ...ifEmpty, ...whileLt(k, kEnd, weightedRow), ...elseOp, ...whileLt(k, kEnd, plainRow), ...end,
    // rho for this input row: the error bound grows with its number of terms (kEnd - kStart + 1).
    ...get(kEnd), ...get(kStart), ...i32sub, ...i32c(1), ...i32add, ...f32convertI32, ...get(rhoA), ...f32mul, ...get(rhoB), ...f32add, ...f32x4splat, ...set(rhoV),
    // element index of this row's block in the code array, and its address
    ...get(n), ...get(n0), ...i32sub, ...get(codeRowBytes), ...i32mul, ...get(b), ...i32c(BLOCK_BYTES_PER_ROW), ...i32mul, ...i32add, ...set(idx),
    ...get(codePtr), ...get(idx), ...i32add, ...set(cOut),
    ...get(idx), ...i32c(2), ...i32shrU, ...set(idx),
    ...get(minusOne), ...set(okAll),
    ...lanes.flatMap(codes),
    ...listAmbiguous,
    ...get(n), ...i32c(1), ...i32add, ...set(n),
  ];
  const perBlock = [
    ...get(gBase), ...get(b), ...get(blockBytes), ...i32mul, ...i32add, ...set(gb),
    ...get(kPtr), ...get(b), ...i32c(BLOCK_BYTES_PER_ROW), ...i32mul, ...i32add, ...set(kb),
    ...get(n0), ...set(n),
    ...whileLt(n, n1, perRow),
    ...get(b), ...i32c(1), ...i32add, ...set(b),
  ];
  return {
    params: [...new Array<number>(12).fill(I32), F32, F32, F32, F32, I32, I32],
    locals: [
      [10, I32],
      [24, V128],
      [1, I32],
      [1, V128],
    ],
    code: [
      ...get(steps), ...f32x4splat, ...set(stepsV),
      ...get(stepsV), ...i32x4truncSatF32, ...set(stepsI),
      ...get(eAbs), ...f32x4splat, ...set(eAbsV),
      ...f32c(0.5), ...f32x4splat, ...set(half),
      ...i32c(-1), ...i32x4splat, ...set(minusOne),
      ...v128zero, ...set(clip),
      ...i32c(0), ...set(count),
      ...i32c(0), ...set(b),
      ...whileLt(b, nBlocks, perBlock),
      ...get(clipPtr),
      ...get(clipPtr), ...i32load(),
      ...get(clip), ...i32x4lane(0), ...i32add, ...get(clip), ...i32x4lane(1), ...i32add,
      ...get(clip), ...i32x4lane(2), ...i32add, ...get(clip), ...i32x4lane(3), ...i32add,
      ...i32store(),
      ...get(count),
    ],
  };
}

/** combine(codePtr, rows, codeCols, cols, refPtr, tablePtr, accPtr). See KernelExports. */
// prettier-ignore
function combineBody(): { params: number[]; locals: Array<[number, number]>; code: number[] } {
  const [codePtr, rows, codeCols, cols, refPtr, tablePtr, accPtr] = [0, 1, 2, 3, 4, 5, 6];
  const [n, pc, pr, pa, pcEnd, rowBase] = [7, 8, 9, 10, 11, 12];
  const tableAt = (codeAddr: number[]) => [...get(tablePtr), ...codeAddr, ...i32load(), ...i32c(3), ...i32shl, ...i32add, ...f64load];
  const next = (p: number, by: number) => [...get(p), ...i32c(by), ...i32add, ...set(p)];
  // acc[pa] += table[code at pc] - table[code at pr]; pc walks the row's codes, pa the accumulators.
  const step = (refCode: number[]) => [
    ...get(pa), ...get(pa), ...f64load, ...tableAt(get(pc)), ...tableAt(refCode), ...f64sub, ...f64add, ...f64store,
    ...next(pa, 8), ...next(pc, 4),
  ];
  // Differential: the reference of column j is column cols + j, walked by pr alongside pc.
  const differential = [...step(get(pr)), ...next(pr, 4)];
  // Offset: the reference column of j is refs[j] (pr walks refs).
  const offset = [...step([...get(rowBase), ...get(pr), ...i32load(), ...i32c(2), ...i32shl, ...i32add]), ...next(pr, 4)];
  const perRow = (body: number[], prStart: number[]) => [
    ...get(codePtr), ...get(n), ...get(codeCols), ...i32mul, ...i32c(2), ...i32shl, ...i32add, ...set(pc),
    ...get(pc), ...set(rowBase),
    ...get(pc), ...get(cols), ...i32c(2), ...i32shl, ...i32add, ...set(pcEnd),
    ...prStart, ...set(pr),
    ...whileLt(pc, pcEnd, body),
    ...get(n), ...i32c(1), ...i32add, ...set(n),
  ];
  return {
    params: new Array<number>(7).fill(I32),
    locals: [[6, I32]],
    code: [
      ...get(accPtr), ...set(pa),
      ...i32c(0), ...set(n),
      ...get(refPtr), ...ifEmpty,
      ...whileLt(n, rows, perRow(offset, get(refPtr))),
      ...elseOp,
      ...whileLt(n, rows, perRow(differential, [...get(pc), ...get(cols), ...i32c(2), ...i32shl, ...i32add])),
      ...end,
    ],
  };
}

const createInstance = instantiator<KernelExports>(() => [
  { name: 'accumulateCodes', ...accumulateCodesBody(), results: [I32] },
  { name: 'combine', ...combineBody(), results: [] },
]);

/** A fresh kernel instance (own memory), or null where WebAssembly SIMD is unavailable. */
export function createKernel(): KernelExports | null {
  return createInstance();
}
