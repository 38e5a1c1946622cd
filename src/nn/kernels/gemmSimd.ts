/**
 * C = A . B (float32, row-major, no transposes) as a WebAssembly SIMD kernel working in place in the wasm
 * backend's memory, with XNNPACK's arithmetic: every c_ij starts at +0 and adds fround(a_ik b_kj) for
 * k = 0 .. K-1 in order, each addition rounded to float32 (f32x4.mul, then f32x4.add: no fused
 * multiply-add in WebAssembly SIMD). tfjs-backend-wasm's BatchMatMul (XNNPACK) computes exactly this
 * (tested: bit for bit), but it packs B into its own layout on every call with a new B, and in training
 * every B is new (weights after each step, output gradients); for a short A (a batch of 32 rows, or the 9
 * taps of a first convolution's filter gradient) the packing costs several times the products
 * (docs/performance.md). Blocks of up to 4 rows x 8 columns keep their sums in registers while they walk
 * K; narrower column tails use 4-wide vectors, then scalars.
 */
import {
  f32add,
  f32c,
  f32lt,
  f32load,
  f32mul,
  f32store,
  f32x4add,
  f32x4mul,
  f32x4pmax,
  f32x4splat,
  F32,
  get,
  I32,
  i32add,
  i32and,
  i32c,
  memoryInstantiator,
  select,
  set,
  elseOp,
  end,
  ifEmpty,
  v128load,
  v128store,
  v128zero,
  V128,
  whileLt,
} from '../../util/wasmAsm';

type BlockFn = (
  aPtr: number,
  bPtr: number,
  cPtr: number,
  k: number,
  aRowBytes: number,
  aStepBytes: number,
  bRowBytes: number,
  blocks: number,
  biasPtr: number,
  flags: number,
) => void;

/** `flags` of a block call: start the sums from the bias (biasPtr, one float per column); ReLU them. */
const FROM_BIAS = 1;
const RELU = 2;

/**
 * Exported functions `b{R}x{W}`: `blocks` consecutive blocks of R = 1..4 rows by W = 8, 4 or 1 columns.
 * a_rk is read at aPtr + r aRowBytes + k aStepBytes (A plain: k*4 and 4 bytes; A transposed: 4 and m*4),
 * B's row k at bPtr + k bRowBytes, C's row r at cPtr + r bRowBytes (both n floats wide); block b adds
 * 4 W b bytes to bPtr,
 * cPtr and biasPtr.
 */
type GemmKernel = Record<string, BlockFn>;

const WIDTHS = [8, 4, 1] as const;

// prettier-ignore
function blockFunc(rows: number, width: (typeof WIDTHS)[number]) {
  const [aPtr, bPtr, cPtr, kCount, aRowBytes, aStepBytes, bRowBytes, blocks, biasPtr, flags] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [k, blk, bBase, cBase, biasBase] = [10, 11, 12, 13, 14];
  const pa = Array.from({ length: rows }, (_, r) => 15 + r); // A's rows at column k
  const pb = 15 + rows;
  const vectors = width === 1 ? 0 : width / 4;
  const bv = Array.from({ length: vectors }, (_, v) => 16 + rows + v); // B's row k, v128 each
  const accBase = 16 + rows + vectors;
  const accs = width === 1 ? rows : rows * vectors;
  const acc = (r: number, v: number) => accBase + r * Math.max(1, vectors) + v;
  const scalar = width === 1;
  const lanes = Math.max(1, vectors);
  const fromBias = Array.from({ length: accs }, (_, i) => [
    ...get(biasBase), ...(scalar ? f32load : v128load(16 * (i % lanes))), ...set(accBase + i),
  ]).flat();
  const fromZero = Array.from({ length: accs }, (_, i) => [...(scalar ? f32c(0) : v128zero), ...set(accBase + i)]).flat();
  const init = [
    ...get(aPtr), ...set(pa[0]),
    ...pa.slice(1).flatMap((p, r) => [...get(pa[r]), ...get(aRowBytes), ...i32add, ...set(p)]),
    ...get(bBase), ...set(pb),
    ...get(flags), ...i32c(FROM_BIAS), ...i32and, ...ifEmpty, ...fromBias, ...elseOp, ...fromZero, ...end,
  ];
  // ReLU as XNNPACK clamps: max(0, x) by "0 < x ? x : 0" (f32x4.pmax), so NaN gives 0 and -0 gives +0.
  const relu = Array.from({ length: accs }, (_, i) =>
    scalar
      ? [...get(accBase + i), ...f32c(0), ...f32c(0), ...get(accBase + i), ...f32lt, ...select, ...set(accBase + i)]
      : [...f32c(0), ...f32x4splat, ...get(accBase + i), ...f32x4pmax, ...set(accBase + i)],
  ).flat();
  const step = scalar
    ? [
        ...pa.flatMap((p, r) => [
          ...get(acc(r, 0)), ...get(p), ...f32load, ...get(pb), ...f32load, ...f32mul, ...f32add, ...set(acc(r, 0)),
        ]),
      ]
    : [
        ...bv.flatMap((b, v) => [...get(pb), ...v128load(16 * v), ...set(b)]),
        ...pa.flatMap((p, r) => [
          ...get(p), ...f32load, ...f32x4splat, ...set(accBase + accs), // the splat of a_rk
          ...bv.flatMap((b, v) => [
            ...get(acc(r, v)), ...get(accBase + accs), ...get(b), ...f32x4mul, ...f32x4add, ...set(acc(r, v)),
          ]),
        ]),
      ];
  const advance = [
    ...pa.flatMap((p) => [...get(p), ...get(aStepBytes), ...i32add, ...set(p)]),
    ...get(pb), ...get(bRowBytes), ...i32add, ...set(pb),
    ...get(k), ...i32c(1), ...i32add, ...set(k),
  ];
  // Rows of C: cBase + r bRowBytes, kept in pa[0] after the loop (A's pointers are done with by then).
  const store = Array.from({ length: rows }, (_, r) => [
    ...get(cBase), ...(r === 0 ? [] : Array.from({ length: r }, () => [...get(bRowBytes), ...i32add]).flat()), ...set(pa[0]),
    ...(scalar
      ? [...get(pa[0]), ...get(acc(r, 0)), ...f32store]
      : bv.flatMap((_, v) => [...get(pa[0]), ...get(acc(r, v)), ...v128store(16 * v)])),
  ]).flat();
  const perBlock = [
    ...init, ...i32c(0), ...set(k), ...whileLt(k, kCount, [...step, ...advance]),
    ...get(flags), ...i32c(RELU), ...i32and, ...ifEmpty, ...relu, ...end,
    ...store,
    ...get(bBase), ...i32c(4 * width), ...i32add, ...set(bBase),
    ...get(biasBase), ...i32c(4 * width), ...i32add, ...set(biasBase),
    ...get(cBase), ...i32c(4 * width), ...i32add, ...set(cBase),
    ...get(blk), ...i32c(1), ...i32add, ...set(blk),
  ];
  return {
    name: `b${rows}x${width}`,
    params: new Array<number>(10).fill(I32),
    results: [],
    locals: [
      [6 + rows, I32],
      ...(scalar ? ([[accs, F32]] as Array<[number, number]>) : ([[vectors + accs + 1, V128]] as Array<[number, number]>)),
    ] as Array<[number, number]>,
    code: [
      ...get(bPtr), ...set(bBase), ...get(cPtr), ...set(cBase), ...get(biasPtr), ...set(biasBase), ...i32c(0), ...set(blk),
      ...whileLt(blk, blocks, perBlock),
    ],
  };
}

const compile = memoryInstantiator<GemmKernel>(() =>
  [1, 2, 3, 4].flatMap((rows) => WIDTHS.map((w) => blockFunc(rows, w))),
);

export interface GemmOptions {
  /** a is stored k x m and op(a) is its transpose. */
  transposeA?: boolean;
  /** Byte offset of n floats that the sums of each row start from (a dense layer's bias), as XNNPACK does. */
  biasPtr?: number;
  /** Then max(0, c) as XNNPACK's ReLU clamp (NaN gives 0). */
  relu?: boolean;
}

/**
 * c (m x n) = op(a) . b (+ bias, ReLU: see GemmOptions), float32 at these byte offsets in `memory`, rows
 * contiguous; op(a) is a (m x k) or, transposed, a stored as k x m. Returns false, computing nothing,
 * where the kernel cannot run there.
 */
export function gemmSimd(
  memory: unknown,
  ptrs: { a: number; b: number; c: number },
  m: number,
  k: number,
  n: number,
  opts: GemmOptions = {},
): boolean {
  const kernel = compile(memory);
  if (!kernel) return false;
  const aRow = opts.transposeA ? 4 : k * 4;
  const aStep = opts.transposeA ? m * 4 : 4;
  const bRow = n * 4;
  const bias = opts.biasPtr ?? 0;
  const flags = (opts.biasPtr !== undefined ? FROM_BIAS : 0) | (opts.relu ? RELU : 0);
  for (let i0 = 0; i0 < m; i0 += 4) {
    const rows = Math.min(4, m - i0);
    const a = ptrs.a + i0 * aRow;
    const c = ptrs.c + i0 * bRow;
    let j = 0;
    for (const w of WIDTHS) {
      const blocks = Math.floor((n - j) / w);
      if (blocks > 0)
        kernel[`b${rows}x${w}`](
          a,
          ptrs.b + 4 * j,
          c + 4 * j,
          k,
          aRow,
          aStep,
          bRow,
          blocks,
          bias + 4 * j,
          flags,
        );
      j += blocks * w;
    }
  }
  return true;
}
