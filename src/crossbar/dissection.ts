/**
 * The general parasitic tile solve (row and column wires both resistive) by nested dissection: the
 * tile's grid of cells is cut in halves, recursively, and each rectangle of cells is reduced to its
 * ports, the admittance matrix (Schur complement) between the nodes where it meets the rest of the circuit.
 *
 * Ports are the midpoints of the wire segments a rectangle's border crosses (a segment of r Ohm is two
 * halves of r / 2 in series, exactly), plus the drivers and sense amplifiers on the tile's edges. A leaf
 * is one row of up to `leafCols` cells: its column nodes are eliminated in closed form (a star of three
 * conductances), its row wire as a tridiagonal chain. Two neighbouring rectangles are joined by
 * eliminating the midpoints they share: a dense Cholesky of that interface (its size is the length of the
 * cut) and a rank update of the remaining ports. Cutting the longer side keeps every interface short: for
 * a k x k tile the work is of order k^3 instead of the row-by-row sweep's k^4 (docs/parasitics.md).
 *
 * At the end only drivers and sense amplifiers are left; the sense-driver block of that Schur complement
 * is -M. Driver-driver and sense-sense blocks are never needed, so they are not updated. With drive or
 * sense 'both' a driver (sense amplifier) is two ports at the same voltage, whose blocks add at the end.
 */
import { choleskyInPlace, forwardSubstituteCols, type ParasiticWorkspace, subtractGramT } from './spd';
import type { SpdSimdKernel } from './spdSimd';

/** Conductances of the tile's wires and ends, in siemens (rowWire and colWire are > 0 here). */
export interface TileWires {
  /** One row-wire segment. */
  gRow: number;
  /** One column-wire segment. */
  gCol: number;
  /** A driver and the first row segment in series. */
  gDrive: number;
  /** The last column segment and a sense amplifier in series. */
  gSense: number;
  driveBoth: boolean;
  senseBoth: boolean;
}

/** A rectangle of cells [r0, r1) x [c0, c1) reduced to its ports, ordered left, right, top, bottom. */
interface Domain {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** n x n admittance between the ports (row-major, both triangles). */
  s: Float64Array;
  /** s's byte address in the SIMD kernels' memory (0 without them). */
  sPtr: number;
}

const portCount = (d: Domain) => d.left + d.right + d.top + d.bottom;

/** `sides`' result (reused: `shape` runs for each of the ~4000 domains of a 128 x 128 tile). */
const sideCounts = new Int32Array(4);

/** The rectangle's port counts (left, right, top, bottom) in a rows x cols tile, into `sideCounts`. */
function sides(r0: number, r1: number, c0: number, c1: number, rows: number, cols: number, wires: TileWires) {
  const h = r1 - r0;
  const wd = c1 - c0;
  sideCounts[0] = h; // drivers at the tile's left edge, midpoints elsewhere
  sideCounts[1] = c1 < cols || wires.driveBoth ? h : 0;
  sideCounts[2] = r0 > 0 || wires.senseBoth ? wd : 0;
  sideCounts[3] = wd; // sense amplifiers at the tile's bottom edge, midpoints elsewhere
  return sideCounts;
}

/** Whether a rectangle of h x wd cells is a leaf (one row), else whether it is cut across its rows. */
const isLeaf = (h: number, wd: number, leafCols: number) => h === 1 && wd <= leafCols;
const cutsRows = (h: number, wd: number, leafCols: number) => h > 1 && (wd <= leafCols || h >= wd);
/** Where a side [lo, hi) is cut: the recursion and `slotPlan`'s dry run must agree on it. */
const cutAt = (lo: number, hi: number) => lo + ((hi - lo) >> 1);

/**
 * The largest port count of each workspace slot (2 depth + slot: two per depth of the recursion, its two
 * halves) over the recursion, cached per tile shape: the buffers are laid out once, before the solve.
 */
const slotPlans = new Map<string, number[]>();
function slotPlan(rows: number, cols: number, wires: TileWires, leafCols: number): number[] {
  const key = `${rows} ${cols} ${leafCols} ${wires.driveBoth} ${wires.senseBoth}`;
  let plan = slotPlans.get(key);
  if (plan) return plan;
  const maxN: number[] = [];
  const visit = (r0: number, r1: number, c0: number, c1: number, at: number): void => {
    const n = sides(r0, r1, c0, c1, rows, cols, wires).reduce((a, b) => a + b, 0);
    maxN[at] = Math.max(maxN[at] ?? 0, n);
    const h = r1 - r0;
    const wd = c1 - c0;
    if (isLeaf(h, wd, leafCols)) return;
    const child = 2 * ((at >> 1) + 1);
    if (cutsRows(h, wd, leafCols)) {
      const mid = cutAt(r0, r1);
      visit(r0, mid, c0, c1, child);
      visit(mid, r1, c0, c1, child + 1);
    } else {
      const mid = cutAt(c0, c1);
      visit(r0, r1, c0, mid, child);
      visit(r0, r1, mid, c1, child + 1);
    }
  };
  visit(0, rows, 0, cols, 0);
  plan = Array.from(maxN, (m) => m ?? 0);
  if (slotPlans.size >= 32) slotPlans.clear(); // a few tile shapes per study; bound it anyway
  slotPlans.set(key, plan);
  return plan;
}

/** X's row length for n ports: a multiple of 4 (the SIMD kernels work on whole 4-column blocks). */
const xStride = (n: number) => (n + 3) & ~3;

/** Port families: a midpoint (eliminated later), a driver, a sense amplifier. */
const MIDPOINT = 0;
const DRIVER = 1;
const SENSE = 2;

/** The runs array's length: at most six runs of four numbers (see `put`). */
const RUNS_LEN = 24;

/** Default leaf width: measured fastest at 128 x 128 and 256 x 256 (docs/parasitics.md). */
export const DEFAULT_LEAF_COLS = 8;

export class TileDissection {
  /** Per block of four ports of the domain being joined: DRIVER, SENSE, or MIDPOINT (mixed or midpoints). */
  private readonly blockFamily: Int8Array;
  // Scratch of a leaf (its row chain and ports) and of a join (interface and couplings), sized once.
  private readonly diag: Float64Array;
  private readonly pivot: Float64Array;
  private readonly tInv: Float64Array;
  private readonly gamma: Float64Array;
  /** The row node (0 .. w-1) a leaf's port is attached to. */
  private readonly node: Int32Array;
  /** The interface matrix K of a join, then its Cholesky factor. */
  private readonly k: Float64Array;
  /** The couplings X of a join, k-major: row q holds every new port's coupling to midpoint q. */
  private readonly xt: Float64Array;
  /** The SIMD kernels (null: the JavaScript ones) and the byte addresses of k, xt, blockFamily there. */
  private readonly kernel: SpdSimdKernel | null;
  private readonly kPtr: number = 0;
  private readonly xPtr: number = 0;
  private readonly famPtr: number = 0;
  private readonly runsPtr: number = 0;
  /** Each slot's matrix (2 depth + slot) and its byte address in the kernels' memory. */
  private readonly slotS: Float64Array[] = [];
  private readonly slotPtr: number[] = [];
  /** The current join's runs of ports (see `put`), at most six. */
  private readonly runs: Int32Array;
  private runCount = 0;
  /** The domain of each workspace slot (2 depth + slot). */
  private readonly domains: Domain[] = [];

  constructor(
    private readonly cell: Float64Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly wires: TileWires,
    private readonly ws: ParasiticWorkspace,
    private readonly leafCols = DEFAULT_LEAF_COLS,
  ) {
    if (!(leafCols >= 1)) throw new RangeError(`TileDissection: leaf width ${leafCols}`);
    const w = Math.min(leafCols, cols);
    this.diag = ws.get('nd.diag', w);
    this.pivot = ws.get('nd.pivot', w);
    this.tInv = ws.get('nd.tinv', w * w);
    this.gamma = ws.get('nd.gamma', 2 * w + 2);
    this.node = new Int32Array(2 * w + 2);
    const side = Math.max(rows, cols); // no interface is longer, no domain has more than 4 sides' ports
    const kLen = side * side;
    const xLen = side * xStride(4 * side);
    const famLen = side + 2;
    const plan = slotPlan(rows, cols, wires, leafCols);
    this.kernel = ws.simd();
    if (!this.kernel) {
      this.k = ws.get('nd.k', kLen);
      this.xt = ws.get('nd.x', xLen);
      this.blockFamily = new Int8Array(famLen);
      this.runs = new Int32Array(RUNS_LEN);
      plan.forEach((m, at) => this.slotS.push(ws.get(`nd.${at >> 1}.${at & 1}`, m * m)));
      return;
    }
    // Everything the kernels touch lives in their memory, laid out (and grown) once, here: growing
    // detaches every view, so all of them are taken after it.
    let top = 0;
    const place = (bytes: number) => {
      const at = top;
      top += (bytes + 15) & ~15;
      return at;
    };
    this.kPtr = place(8 * kLen);
    this.xPtr = place(8 * xLen);
    this.famPtr = place(famLen);
    this.runsPtr = place(4 * RUNS_LEN);
    for (const m of plan) this.slotPtr.push(place(8 * m * m));
    const mem = this.kernel.mem;
    if (mem.buffer.byteLength < top) mem.grow(Math.ceil((top - mem.buffer.byteLength) / 65536));
    const buf = mem.buffer;
    this.k = new Float64Array(buf, this.kPtr, kLen);
    this.xt = new Float64Array(buf, this.xPtr, xLen);
    this.blockFamily = new Int8Array(buf, this.famPtr, famLen);
    this.runs = new Int32Array(buf, this.runsPtr, RUNS_LEN);
    plan.forEach((m, at) => this.slotS.push(new Float64Array(buf, this.slotPtr[at], m * m)));
  }

  /** M (rows x cols, row-major) into `out`. */
  solve(out: Float64Array): void {
    const { rows, cols } = this;
    const d = this.reduce(0, rows, 0, cols, 0, 0);
    const n = portCount(d);
    const s = d.s;
    const right = d.left; // ports: drivers (left), drivers (right, drive 'both'), senses (top, bottom)
    const top = right + d.right;
    const bottom = top + d.top;
    for (let i = 0; i < rows; i++)
      for (let c = 0; c < cols; c++) {
        let m = s[(bottom + c) * n + i];
        if (d.right) m += s[(bottom + c) * n + right + i];
        if (d.top) {
          m += s[(top + c) * n + i];
          if (d.right) m += s[(top + c) * n + right + i];
        }
        out[i * cols + c] = -m;
      }
  }

  /** The rectangle reduced to its ports; its matrix lives in the workspace slot (depth, slot). */
  private reduce(r0: number, r1: number, c0: number, c1: number, depth: number, slot: number): Domain {
    const h = r1 - r0;
    const wd = c1 - c0;
    if (isLeaf(h, wd, this.leafCols)) return this.leaf(r0, c0, c1, depth, slot);
    // Cut across the longer side, so the interface (the shorter side) stays small; a leaf is one row.
    if (cutsRows(h, wd, this.leafCols)) {
      const mid = cutAt(r0, r1);
      const a = this.reduce(r0, mid, c0, c1, depth + 1, 0);
      const b = this.reduce(mid, r1, c0, c1, depth + 1, 1);
      return this.joinStacked(a, b, depth, slot);
    }
    const mid = cutAt(c0, c1);
    const a = this.reduce(r0, r1, c0, mid, depth + 1, 0);
    const b = this.reduce(r0, r1, mid, c1, depth + 1, 1);
    return this.joinSideBySide(a, b, depth, slot);
  }

  private shape(r0: number, r1: number, c0: number, c1: number, depth: number, slot: number): Domain {
    const counts = sides(r0, r1, c0, c1, this.rows, this.cols, this.wires);
    const left = counts[0];
    const right = counts[1];
    const top = counts[2];
    const bottom = counts[3];
    // One Domain object per slot, reused: a slot's domain is consumed by its parent's join before the
    // slot is reduced again (no garbage for the ~4000 domains of a 128 x 128 tile).
    const at = 2 * depth + slot;
    const s = this.slotS[at];
    const sPtr = this.kernel ? this.slotPtr[at] : 0;
    let d = this.domains[at];
    if (!d) this.domains[at] = d = { r0, r1, c0, c1, left, right, top, bottom, s, sPtr };
    else {
      d.r0 = r0;
      d.r1 = r1;
      d.c0 = c0;
      d.c1 = c1;
      d.left = left;
      d.right = right;
      d.top = top;
      d.bottom = bottom;
      d.s = s;
      d.sPtr = sPtr;
    }
    return d;
  }

  /**
   * One row of cells: each column node is a star (cell to the row node, half segments or the ends up and
   * down) eliminated in closed form; then the row nodes, a tridiagonal chain T, give
   * S = P - gamma gamma^T T^-1 over the ports, gamma a port's conductance to its row node.
   */
  private leaf(i: number, c0: number, c1: number, depth: number, slot: number): Domain {
    const { gRow, gCol, gDrive, gSense } = this.wires;
    const d = this.shape(i, i + 1, c0, c1, depth, slot);
    const w = c1 - c0;
    const n = portCount(d);
    const s = d.s;
    s.fill(0, 0, n * n);
    const aLeft = c0 === 0 ? gDrive : 2 * gRow;
    const aRight = d.right ? (c1 < this.cols ? 2 * gRow : gDrive) : 0;
    const aTop = d.top ? (i > 0 ? 2 * gCol : gSense) : 0;
    const aBottom = i < this.rows - 1 ? 2 * gCol : gSense;
    const { diag, gamma, node, tInv } = this;
    const top = d.left + d.right;
    const bottom = top + d.top;
    gamma[0] = aLeft;
    node[0] = 0;
    s[0] = aLeft;
    if (d.right) {
      gamma[1] = aRight;
      node[1] = w - 1;
      s[n + 1] = aRight;
    }
    for (let j = 0; j < w; j++) {
      const g = this.cell[i * this.cols + c0 + j];
      const sigma = g + aTop + aBottom;
      // The star's three conductances become a triangle (products, so no difference of large terms).
      diag[j] = (g * (aTop + aBottom)) / sigma + (j > 0 ? gRow : aLeft) + (j < w - 1 ? gRow : aRight);
      const b = bottom + j;
      gamma[b] = (g * aBottom) / sigma;
      node[b] = j;
      s[b * n + b] = (aBottom * (g + aTop)) / sigma;
      if (d.top) {
        const t = top + j;
        gamma[t] = (g * aTop) / sigma;
        node[t] = j;
        s[t * n + t] = (aTop * (g + aBottom)) / sigma;
        s[t * n + b] = s[b * n + t] = -(aTop * aBottom) / sigma;
      }
    }
    invertChain(diag, gRow, w, tInv, this.pivot);
    // The update is symmetric (T^-1 is): the upper triangle, mirrored.
    for (let p = 0; p < n; p++) {
      const gp = gamma[p];
      if (gp === 0) continue;
      const row = node[p] * w;
      for (let q = p; q < n; q++) {
        const v = s[p * n + q] - gp * gamma[q] * tInv[row + node[q]];
        s[p * n + q] = v;
        s[q * n + p] = v;
      }
    }
    return d;
  }

  /** a above b: their shared midpoints (a's bottom, b's top) eliminated. */
  private joinStacked(a: Domain, b: Domain, depth: number, slot: number): Domain {
    const d = this.shape(a.r0, b.r1, a.c0, a.c1, depth, slot);
    // New ports: left (a's, then b's), right (a's, then b's), top (a's), bottom (b's).
    this.runCount = 0;
    this.put(0, 0, a.left);
    this.put(1, 0, b.left);
    this.put(0, a.left, a.right);
    this.put(1, b.left, b.right);
    this.put(0, a.left + a.right, a.top);
    this.put(1, b.left + b.right + b.top, b.bottom);
    this.join(a, a.left + a.right + a.top, b, b.left + b.right, a.bottom, d);
    return d;
  }

  /** a left of b: their shared midpoints (a's right, b's left) eliminated. */
  private joinSideBySide(a: Domain, b: Domain, depth: number, slot: number): Domain {
    const d = this.shape(a.r0, a.r1, a.c0, b.c1, depth, slot);
    // New ports: left (a's), right (b's), top (a's, then b's), bottom (a's, then b's).
    this.runCount = 0;
    this.put(0, 0, a.left);
    this.put(1, b.left, b.right);
    this.put(0, a.left + a.right, a.top);
    this.put(1, b.left + b.right, b.top);
    this.put(0, a.left + a.right + a.top, a.bottom);
    this.put(1, b.left + b.right + b.top, b.bottom);
    this.join(a, a.left, b, 0, a.right, d);
    return d;
  }

  /**
   * Appends a run of `count` consecutive ports of a (fromB 0) or b (1), from `first` there, to the new
   * domain's ports. Runs live in a reused Int32Array (fromB, first, count, at): no allocation per join,
   * which matters for the ~2000 small joins at the bottom of the recursion.
   */
  private put(fromB: number, first: number, count: number): void {
    const runs = this.runs;
    const k = this.runCount;
    const at = k === 0 ? 0 : runs[4 * k - 1] + runs[4 * k - 2];
    runs[4 * k] = fromB;
    runs[4 * k + 1] = first;
    runs[4 * k + 2] = count;
    runs[4 * k + 3] = at;
    this.runCount = k + 1;
  }

  /**
   * d.s = Z_PP - Z_PE K^-1 Z_EP over the new ports P (the runs of a's and b's ports), with K = Z_EE on the
   * e shared midpoints E (a's ports ea, ... and b's eb, ...; K is a's block plus b's) and Z the two domains
   * side by side: K = L L^T, X = L^-1 Z_EP, d.s = Z_PP - X^T X.
   */
  private join(a: Domain, ea: number, b: Domain, eb: number, e: number, d: Domain): void {
    const n = portCount(d);
    const na = portCount(a);
    const nb = portCount(b);
    const k = this.k;
    const ld = xStride(n);
    const kernel = this.kernel;
    if (kernel) {
      // The same copies as below, in the kernels' memory (two doubles per move): in JavaScript they
      // weighed as much as the SIMD arithmetic.
      kernel.joinCopies(
        a.sPtr,
        na,
        ea,
        b.sPtr,
        nb,
        eb,
        e,
        this.runsPtr,
        this.runCount,
        this.kPtr,
        this.xPtr,
        ld,
        d.sPtr,
        n,
      );
      choleskyInPlace(k, e);
      this.blockFamilies(d);
      kernel.forwardSubstitute(this.kPtr, e, this.xPtr, ld, ld);
      kernel.gramUpdate(this.xPtr, ld, n, e, d.sPtr, this.famPtr);
      return;
    }
    const as = a.s;
    const bs = b.s;
    for (let p = 0; p < e; p++) {
      const ra = (ea + p) * na + ea;
      const rb = (eb + p) * nb + eb;
      const kp = p * e;
      for (let q = 0; q < e; q++) k[kp + q] = as[ra + q] + bs[rb + q];
    }
    // xt, k-major: row q = the new ports' couplings to midpoint q (then L^-1 of them), a contiguous
    // piece of row q of a's (b's) matrix, which is symmetric; s: a's and b's blocks, 0 between. Only
    // the blocks of runs on or right of the diagonal are written: subtractGramT mirrors the upper
    // triangle into the lower one, so the lower is never read (this copy weighs as much as the
    // arithmetic in the many small joins).
    const xt = this.xt;
    const s = d.s;
    const runs = this.runs;
    const nRuns = this.runCount;
    for (let u = 0; u < nRuns; u++) {
      const fromB = runs[4 * u];
      const src = fromB ? bs : as;
      const ns = fromB ? nb : na;
      const first = runs[4 * u + 1];
      const count = runs[4 * u + 2];
      const at = runs[4 * u + 3];
      const iface = fromB ? eb : ea;
      for (let q = 0; q < e; q++) {
        const xq = q * ld + at;
        const from = (iface + q) * ns + first;
        for (let r = 0; r < count; r++) xt[xq + r] = src[from + r];
      }
      for (let v = u; v < nRuns; v++) {
        const oFirst = runs[4 * v + 1];
        const oCount = runs[4 * v + 2];
        const oAt = runs[4 * v + 3];
        if (runs[4 * v] !== fromB) {
          // a and b meet only through the interface
          for (let r = 0; r < count; r++) {
            const dst = (at + r) * n + oAt;
            for (let q = 0; q < oCount; q++) s[dst + q] = 0;
          }
          continue;
        }
        for (let r = 0; r < count; r++) {
          const dst = (at + r) * n + oAt;
          const from = (first + r) * ns + oFirst;
          for (let q = 0; q < oCount; q++) s[dst + q] = src[from + q];
        }
      }
    }
    choleskyInPlace(k, e);
    forwardSubstituteCols(k, e, xt, ld, n);
    subtractGramT(xt, ld, n, e, s, this.blockFamilies(d));
  }

  /**
   * Per block of four ports of d: DRIVER, SENSE, or MIDPOINT (mixed or midpoints). Driver-driver and
   * sense-sense blocks never reach M, so the Schur update does not update them.
   */
  private blockFamilies(d: Domain): Int8Array {
    const n = portCount(d);
    const blocks = (n + 3) >> 2;
    const fam = this.blockFamily;
    fam.fill(MIDPOINT, 0, blocks);
    let start = 0;
    start = markSide(fam, start, d.left, d.c0 === 0 ? DRIVER : MIDPOINT);
    start = markSide(fam, start, d.right, d.c1 === this.cols ? DRIVER : MIDPOINT);
    start = markSide(fam, start, d.top, d.r0 === 0 ? SENSE : MIDPOINT);
    markSide(fam, start, d.bottom, d.r1 === this.rows ? SENSE : MIDPOINT);
    return fam;
  }
}

/** Marks the blocks lying wholly within a side's ports [start, start + count); returns the side's end. */
function markSide(fam: Int8Array, start: number, count: number, family: number): number {
  for (let bl = (start + 3) >> 2; 4 * bl + 4 <= start + count; bl++) fam[bl] = family;
  return start + count;
}

/**
 * inv = T^-1 for the w x w tridiagonal chain with diagonal `diag` and off-diagonals -g (a row wire with its
 * row nodes' loads): LU once, then one forward and back substitution per column.
 */
function invertChain(diag: Float64Array, g: number, w: number, inv: Float64Array, pivot: Float64Array): void {
  pivot[0] = diag[0];
  for (let c = 1; c < w; c++) pivot[c] = diag[c] - (g * g) / pivot[c - 1];
  for (let j = 0; j < w; j++) {
    const o = j * w; // T^-1 is symmetric: column j stored as row j
    inv.fill(0, o, o + w);
    inv[o + j] = 1;
    for (let c = j + 1; c < w; c++) inv[o + c] = (g * inv[o + c - 1]) / pivot[c - 1];
    inv[o + w - 1] /= pivot[w - 1];
    for (let c = w - 2; c >= 0; c--) inv[o + c] = (inv[o + c] + g * inv[o + c + 1]) / pivot[c];
  }
}
