/**
 * WebAssembly SIMD (f64x2) kernels of the nested-dissection tile solve (dissection.ts), assembled from
 * opcodes (util/wasmAsm.ts), with the same arithmetic as the JavaScript kernels `subtractGramT` and
 * `forwardSubstituteCols` (spd.ts), bit for bit: every output sums its products in the same order, a
 * multiply then an add per term (JavaScript has no fused multiply-add, and baseline WebAssembly SIMD has
 * none either). The two lanes of a vector are two neighbouring outputs (columns), never two terms of one
 * sum, which is why the dissection stores the join's couplings X k-major (one row per interface midpoint).
 * Browser-safe.
 */
import {
  block,
  br,
  brIf,
  elseOp,
  end,
  f64add,
  f64c,
  f64loadAt,
  f64storeAt,
  f64sub,
  f64x2add,
  f64x2div,
  f64x2extractLane,
  f64x2mul,
  f64x2sub,
  get,
  I32,
  i32add,
  i32and,
  i32c,
  i32geU,
  i32gtU,
  i32load,
  i32load8U,
  i32ltU,
  i32mul,
  i32ne,
  i32eq,
  i32shl,
  i32shrU,
  i32sub,
  ifEmpty,
  instantiator,
  loop,
  select,
  set,
  V128,
  v128load,
  v128load64Splat,
  v128store,
  v128zero,
  whileLt,
  type WasmMemory,
} from '../util/wasmAsm';

/** The kernels; pointers are byte addresses into `mem`, counts are elements. */
export interface SpdSimdKernel {
  mem: WasmMemory;
  /**
   * s[r n + c] -= sum_{k < e} X[k ld + r] X[k ld + c] (float64; s n x n, X e x ld with ld >= n rounded up
   * to 4), on the 4 x 4 blocks on and above the diagonal whose row and column blocks do not share a
   * non-zero family byte (fam[block]); then the strict lower triangle of s is the upper one's mirror.
   * What `subtractGramT` computes.
   */
  gramUpdate(xPtr: number, ld: number, n: number, e: number, sPtr: number, famPtr: number): void;
  /**
   * X <- L^-1 X for the columns 0 .. cols - 1 of X (e x ld, cols a multiple of 4), L the Cholesky
   * factor in the lower triangle of l (e x e, row-major). What `forwardSubstituteCols` computes.
   */
  forwardSubstitute(lPtr: number, e: number, xPtr: number, ld: number, cols: number): void;
  /**
   * The copies of a join (dissection.ts, `join`): K = A_EE + B_EE (e x e, at kPtr) from the halves'
   * matrices A (na x na, interface from port ea) and B (nb, eb); per run (four i32 at runsPtr: fromB,
   * first, count, at) X's rows q < e at columns at .. at + count - 1 (X e x ld at xPtr, ld >= n) from row
   * ea + q (eb + q) of A (B), and the new matrix S's (n x n at sPtr) blocks of this run's rows and the
   * columns of it and every later run: copied from A (B), or 0 between A's and B's ports; X's columns n
   * .. ld - 1 are zeroed.
   */
  joinCopies(
    aPtr: number,
    na: number,
    ea: number,
    bPtr: number,
    nb: number,
    eb: number,
    e: number,
    runsPtr: number,
    nRuns: number,
    kPtr: number,
    xPtr: number,
    ld: number,
    sPtr: number,
    n: number,
  ): void;
}

const inc = (local: number, by: number) => [...get(local), ...i32c(by), ...i32add, ...set(local)];
const addLocal = (local: number, other: number) => [...get(local), ...get(other), ...i32add, ...set(local)];

/**
 * gramUpdate: per 4 x 4 block of outputs, 8 f64x2 accumulators (row i, columns c0 + 2h, c0 + 2h + 1) walk
 * k: two vector loads of X's row k at the block's columns, one splat per row. Eight accumulators and four
 * temporaries stay within the 16 vector registers of x86-64.
 */
// prettier-ignore
function gramUpdateBody() {
  const [x, ld, n, e, s, fam] = [0, 1, 2, 3, 4, 5];
  const [r0, c0, fr, k, p, q, o, ldb, nb] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const acc = [15, 16, 17, 18, 19, 20, 21, 22];
  const [y0, y1, t] = [23, 24, 25];
  const famAt = (blockStart: number) => [...get(fam), ...get(blockStart), ...i32c(2), ...i32shrU, ...i32add, ...i32load8U()];
  const kStep = [
    ...get(q), ...v128load(0), ...set(y0),
    ...get(q), ...v128load(16), ...set(y1),
    ...[0, 1, 2, 3].flatMap((i) => [
      ...get(p), ...v128load64Splat(8 * i), ...set(t),
      ...get(acc[2 * i]), ...get(t), ...get(y0), ...f64x2mul, ...f64x2add, ...set(acc[2 * i]),
      ...get(acc[2 * i + 1]), ...get(t), ...get(y1), ...f64x2mul, ...f64x2add, ...set(acc[2 * i + 1]),
    ]),
    ...addLocal(p, ldb), ...addLocal(q, ldb), ...inc(k, 1),
  ];
  // o = &s[r0 n + c0]
  const blockOrigin = [...get(s), ...get(r0), ...get(n), ...i32mul, ...get(c0), ...i32add, ...i32c(3), ...i32shl, ...i32add, ...set(o)];
  // A whole block (n - c0 >= 4, and c0 >= r0): s -= sum, two lanes at a time.
  const fullStore = [0, 1, 2, 3].flatMap((i) => [
    ...get(o), ...get(o), ...v128load(0), ...get(acc[2 * i]), ...f64x2sub, ...v128store(0),
    ...get(o), ...get(o), ...v128load(16), ...get(acc[2 * i + 1]), ...f64x2sub, ...v128store(16),
    ...addLocal(o, nb),
  ]);
  // The last block row or column: only the outputs inside s, one at a time.
  const partialStore = [0, 1, 2, 3].flatMap((i) => [
    ...get(n), ...get(r0), ...i32sub, ...i32c(i), ...i32gtU, ...ifEmpty,
    ...[0, 1, 2, 3].flatMap((c) => [
      ...get(n), ...get(c0), ...i32sub, ...i32c(c), ...i32gtU, ...ifEmpty,
      ...get(o), ...get(o), ...f64loadAt(8 * c), ...get(acc[2 * i + (c >> 1)]), ...f64x2extractLane(c & 1), ...f64sub, ...f64storeAt(8 * c),
      ...end,
    ]),
    ...end,
    ...addLocal(o, nb),
  ]);
  const perBlock = [
    ...block,
    // skip a block of two same-family (non-zero) port blocks
    ...famAt(c0), ...get(fr), ...i32eq, ...get(fr), ...i32c(0), ...i32ne, ...i32and, ...brIf(0),
    ...acc.flatMap((a) => [...v128zero, ...set(a)]),
    ...get(x), ...get(r0), ...i32c(3), ...i32shl, ...i32add, ...set(p),
    ...get(x), ...get(c0), ...i32c(3), ...i32shl, ...i32add, ...set(q),
    ...i32c(0), ...set(k),
    ...whileLt(k, e, kStep),
    ...blockOrigin,
    ...get(n), ...get(c0), ...i32sub, ...i32c(4), ...i32geU, ...ifEmpty, ...fullStore, ...elseOp, ...partialStore, ...end,
    ...end,
    ...inc(c0, 4),
  ];
  const perBlockRow = [
    ...famAt(r0), ...set(fr),
    ...get(r0), ...set(c0),
    ...whileLt(c0, n, perBlock),
    ...inc(r0, 4),
  ];
  // Mirror: s[r][c] = s[c][r] for c < r (p walks row r, q column r).
  const mirrorRow = [
    ...get(s), ...get(r0), ...get(n), ...i32mul, ...i32c(3), ...i32shl, ...i32add, ...set(p),
    ...get(s), ...get(r0), ...i32c(3), ...i32shl, ...i32add, ...set(q),
    ...i32c(0), ...set(c0),
    ...whileLt(c0, r0, [
      ...get(p), ...get(q), ...f64loadAt(0), ...f64storeAt(0),
      ...inc(p, 8), ...addLocal(q, nb), ...inc(c0, 1),
    ]),
    ...inc(r0, 1),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32],
    locals: [
      [9, I32],
      [11, V128],
    ] as Array<[number, number]>,
    code: [
      ...get(ld), ...i32c(3), ...i32shl, ...set(ldb),
      ...get(n), ...i32c(3), ...i32shl, ...set(nb),
      ...i32c(0), ...set(r0),
      ...whileLt(r0, n, perBlockRow),
      ...i32c(1), ...set(r0),
      ...whileLt(r0, n, mirrorRow),
    ],
  };
}

/**
 * forwardSubstitute: columns in chunks of 8 (then 4), two rows k, k + 1 at a time: each loaded vector of
 * X's row j serves both rows' sums; row k + 1 takes its last term from row k once that is solved.
 */
// prettier-ignore
function forwardSubstituteBody() {
  const [l, e, x, ld, cols] = [0, 1, 2, 3, 4];
  const [p0, k, j, rowK, pu, pv, xj, ldb, eb, col] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const a = [15, 16, 17, 18];
  const b = [19, 20, 21, 22];
  const [u, v, t] = [23, 24, 25];
  const chunk = (w: number) => {
    const hs = Array.from({ length: w }, (_, h) => h);
    const rowAddr = [...get(col), ...get(k), ...get(ldb), ...i32mul, ...i32add, ...set(rowK)];
    const lRow = [...get(l), ...get(k), ...get(eb), ...i32mul, ...i32add, ...set(pu)];
    // Two rows: sums over j < k share X's row j.
    const pairStep = [
      ...get(pu), ...v128load64Splat(0), ...set(u),
      ...get(pv), ...v128load64Splat(0), ...set(v),
      ...hs.flatMap((h) => [
        ...get(xj), ...v128load(16 * h), ...set(t),
        ...get(a[h]), ...get(u), ...get(t), ...f64x2mul, ...f64x2sub, ...set(a[h]),
        ...get(b[h]), ...get(v), ...get(t), ...f64x2mul, ...f64x2sub, ...set(b[h]),
      ]),
      ...addLocal(xj, ldb), ...inc(pu, 8), ...inc(pv, 8), ...inc(j, 1),
    ];
    const pair = [
      ...rowAddr, ...lRow,
      ...get(pu), ...get(eb), ...i32add, ...set(pv),
      ...hs.flatMap((h) => [
        ...get(rowK), ...v128load(16 * h), ...set(a[h]),
        ...get(rowK), ...get(ldb), ...i32add, ...v128load(16 * h), ...set(b[h]),
      ]),
      ...get(col), ...set(xj), ...i32c(0), ...set(j),
      ...whileLt(j, k, pairStep),
      // pu = &L[k][k], pv = &L[k + 1][k]
      ...get(pu), ...v128load64Splat(0), ...set(u),
      ...hs.flatMap((h) => [...get(rowK), ...get(a[h]), ...get(u), ...f64x2div, ...set(a[h]), ...get(a[h]), ...v128store(16 * h)]),
      ...get(pv), ...v128load64Splat(0), ...set(v),
      ...get(pv), ...v128load64Splat(8), ...set(u),
      ...get(rowK), ...get(ldb), ...i32add, ...set(rowK),
      ...hs.flatMap((h) => [
        ...get(rowK),
        ...get(b[h]), ...get(v), ...get(a[h]), ...f64x2mul, ...f64x2sub, ...get(u), ...f64x2div,
        ...v128store(16 * h),
      ]),
      ...inc(k, 2),
    ];
    const singleStep = [
      ...get(pu), ...v128load64Splat(0), ...set(u),
      ...hs.flatMap((h) => [
        ...get(a[h]), ...get(u), ...get(xj), ...v128load(16 * h), ...f64x2mul, ...f64x2sub, ...set(a[h]),
      ]),
      ...addLocal(xj, ldb), ...inc(pu, 8), ...inc(j, 1),
    ];
    const single = [
      ...rowAddr, ...lRow,
      ...hs.flatMap((h) => [...get(rowK), ...v128load(16 * h), ...set(a[h])]),
      ...get(col), ...set(xj), ...i32c(0), ...set(j),
      ...whileLt(j, k, singleStep),
      ...get(pu), ...v128load64Splat(0), ...set(u),
      ...hs.flatMap((h) => [...get(rowK), ...get(a[h]), ...get(u), ...f64x2div, ...v128store(16 * h)]),
      ...inc(k, 1),
    ];
    return [
      ...get(x), ...get(p0), ...i32c(3), ...i32shl, ...i32add, ...set(col),
      ...i32c(0), ...set(k),
      // while (k + 1 < e) pair; then one row if e is odd
      ...block, ...loop,
      ...get(k), ...i32c(1), ...i32add, ...get(e), ...i32geU, ...brIf(1),
      ...pair,
      ...br(0), ...end, ...end,
      ...get(k), ...get(e), ...i32ltU, ...ifEmpty, ...single, ...end,
      ...inc(p0, 2 * w),
    ];
  };
  return {
    params: [I32, I32, I32, I32, I32],
    locals: [
      [10, I32],
      [11, V128],
    ] as Array<[number, number]>,
    code: [
      ...get(ld), ...i32c(3), ...i32shl, ...set(ldb),
      ...get(e), ...i32c(3), ...i32shl, ...set(eb),
      ...i32c(0), ...set(p0),
      // chunks of 8 columns while p0 + 8 <= cols, then one of 4
      ...block, ...loop,
      ...get(p0), ...i32c(8), ...i32add, ...get(cols), ...i32gtU, ...brIf(1),
      ...chunk(4),
      ...br(0), ...end, ...end,
      ...get(p0), ...get(cols), ...i32ltU, ...ifEmpty, ...chunk(2), ...end,
    ],
  };
}

/**
 * joinCopies: rows of doubles moved two at a time (v128), the odd last one alone; nothing but copies,
 * zeros and K's sums (f64x2.add: the same rounding per lane as a scalar add).
 */
// prettier-ignore
function joinCopiesBody() {
  const [aPtr, na, ea, bPtr, nb, eb, e, runsPtr, nRuns, kPtr, xPtr, ld, sPtr, n] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const [from, from2, to, stop, q, r, ru, rv, fromB, src, ns, iface, first, count, at, oFirst, oCount, oAt] = [
    14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
  ];
  const bytes = (...terms: number[][]) => [...terms.flat(), ...i32c(3), ...i32shl];
  // stop = to + 8 count
  const setStop = (countCode: number[]) => [...get(to), ...countCode, ...i32c(3), ...i32shl, ...i32add, ...set(stop)];
  // while (to + 16 <= stop) pair; if (to < stop) single
  const row = (pair: number[], single: number[]) => [
    ...block, ...loop,
    ...get(to), ...i32c(16), ...i32add, ...get(stop), ...i32gtU, ...brIf(1),
    ...pair,
    ...inc(to, 16),
    ...br(0), ...end, ...end,
    ...get(to), ...get(stop), ...i32ltU, ...ifEmpty, ...single, ...end,
  ];
  const copyRow = row(
    [...get(to), ...get(from), ...v128load(0), ...v128store(0), ...inc(from, 16)],
    [...get(to), ...get(from), ...f64loadAt(0), ...f64storeAt(0)],
  );
  const zeroRow = row([...get(to), ...v128zero, ...v128store(0)], [...get(to), ...f64c(0), ...f64storeAt(0)]);
  const sumRow = row(
    [...get(to), ...get(from), ...v128load(0), ...get(from2), ...v128load(0), ...f64x2add, ...v128store(0), ...inc(from, 16), ...inc(from2, 16)],
    [...get(to), ...get(from), ...f64loadAt(0), ...get(from2), ...f64loadAt(0), ...f64add, ...f64storeAt(0)],
  );
  const kRows = [
    ...get(aPtr), ...bytes([...get(ea), ...get(q), ...i32add, ...get(na), ...i32mul, ...get(ea), ...i32add]), ...i32add, ...set(from),
    ...get(bPtr), ...bytes([...get(eb), ...get(q), ...i32add, ...get(nb), ...i32mul, ...get(eb), ...i32add]), ...i32add, ...set(from2),
    ...get(kPtr), ...bytes([...get(q), ...get(e), ...i32mul]), ...i32add, ...set(to),
    ...setStop(get(e)),
    ...sumRow,
    ...inc(q, 1),
  ];
  const xRows = [
    ...get(src), ...bytes([...get(iface), ...get(q), ...i32add, ...get(ns), ...i32mul, ...get(first), ...i32add]), ...i32add, ...set(from),
    ...get(xPtr), ...bytes([...get(q), ...get(ld), ...i32mul, ...get(at), ...i32add]), ...i32add, ...set(to),
    ...setStop(get(count)),
    ...copyRow,
    ...inc(q, 1),
  ];
  const sRowTo = [...get(sPtr), ...bytes([...get(at), ...get(r), ...i32add, ...get(n), ...i32mul, ...get(oAt), ...i32add]), ...i32add, ...set(to)];
  const sBlock = [
    ...get(rv), ...i32load(4), ...set(oFirst),
    ...get(rv), ...i32load(8), ...set(oCount),
    ...get(rv), ...i32load(12), ...set(oAt),
    ...i32c(0), ...set(r),
    ...get(rv), ...i32load(0), ...get(fromB), ...i32ne, ...ifEmpty,
    // a's and b's ports meet only through the interface
    ...whileLt(r, count, [...sRowTo, ...setStop(get(oCount)), ...zeroRow, ...inc(r, 1)]),
    ...elseOp,
    ...whileLt(r, count, [
      ...get(src), ...bytes([...get(first), ...get(r), ...i32add, ...get(ns), ...i32mul, ...get(oFirst), ...i32add]), ...i32add, ...set(from),
      ...sRowTo, ...setStop(get(oCount)), ...copyRow, ...inc(r, 1),
    ]),
    ...end,
    ...inc(rv, 16),
  ];
  const runsEnd = [...get(runsPtr), ...get(nRuns), ...i32c(4), ...i32shl, ...i32add];
  const perRun = [
    ...get(ru), ...i32load(0), ...set(fromB),
    ...get(ru), ...i32load(4), ...set(first),
    ...get(ru), ...i32load(8), ...set(count),
    ...get(ru), ...i32load(12), ...set(at),
    ...get(bPtr), ...get(aPtr), ...get(fromB), ...select, ...set(src),
    ...get(nb), ...get(na), ...get(fromB), ...select, ...set(ns),
    ...get(eb), ...get(ea), ...get(fromB), ...select, ...set(iface),
    ...i32c(0), ...set(q),
    ...whileLt(q, e, xRows),
    ...get(ru), ...set(rv),
    ...block, ...loop, ...get(rv), ...runsEnd, ...i32geU, ...brIf(1), ...sBlock, ...br(0), ...end, ...end,
    ...inc(ru, 16),
  ];
  const padRows = [
    ...get(xPtr), ...bytes([...get(q), ...get(ld), ...i32mul, ...get(n), ...i32add]), ...i32add, ...set(to),
    ...setStop([...get(ld), ...get(n), ...i32sub]),
    ...zeroRow,
    ...inc(q, 1),
  ];
  return {
    params: new Array<number>(14).fill(I32),
    locals: [[18, I32]] as Array<[number, number]>,
    code: [
      ...i32c(0), ...set(q),
      ...whileLt(q, e, kRows),
      ...get(runsPtr), ...set(ru),
      ...block, ...loop, ...get(ru), ...runsEnd, ...i32geU, ...brIf(1), ...perRun, ...br(0), ...end, ...end,
      ...i32c(0), ...set(q),
      ...whileLt(q, e, padRows),
    ],
  };
}

const createInstance = instantiator<SpdSimdKernel>(() => [
  { name: 'gramUpdate', ...gramUpdateBody(), results: [] },
  { name: 'forwardSubstitute', ...forwardSubstituteBody(), results: [] },
  { name: 'joinCopies', ...joinCopiesBody(), results: [] },
]);

/** A fresh kernel instance with its own memory (one page, grown by the caller), or null without SIMD. */
export function createSpdSimdKernel(): SpdSimdKernel | null {
  return createInstance();
}
