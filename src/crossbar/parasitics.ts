/**
 * Exact column currents of a crossbar tile with wire, access, driver and sense resistances.
 *
 * With linear cells the column currents are a linear map of the row voltages, I = M^T V, so one solve
 * per programmed tile gives the effective matrix M (rows x cols, row-major: M[i * cols + c] is the
 * current into column c's sense node per volt on row i's driver, every other driver at 0 V). Every image
 * then runs through M like through the ideal conductances G (for which M = G). The circuit (docs/cards.md):
 *
 * - row i: its driver (a source V_i behind `driverOhms`) feeds the row wire at the left end (and, with
 *   drive 'both', again at the right end); the wire has one segment of `rowWireOhms` per cell, the first
 *   between the driver and cell 0;
 * - cell (i, c): `accessOhms` in series with 1/G, from the row wire to the column wire;
 * - column c: one segment of `colWireOhms` per cell, the last between cell R-1 and the sense amplifier
 *   (`senseOhms` to a virtual ground) at the bottom (and, with sense 'both', again at the top).
 *
 * The solve is direct and exact up to float64 rounding (no iteration, nothing to converge): each row
 * wire is eliminated on its own (tridiagonal), which leaves a block-tridiagonal system over the column
 * nodes, one block per row, that block Gaussian elimination sweeps from top to bottom. Cost: about
 * R C^3 / 2 + R^2 C^2 / 2 multiply-adds for R rows and C columns (docs/parasitics.md). A zero
 * resistance merges its nodes instead of dividing by zero; all zero gives M = G.
 */

export type DriveSide = 'left' | 'both';
export type SenseSide = 'bottom' | 'both';

export interface Parasitics {
  rowWireOhms: number;
  colWireOhms: number;
  accessOhms: number;
  driverOhms: number;
  senseOhms: number;
  drive: DriveSide;
  sense: SenseSide;
}

export const NO_PARASITICS: Parasitics = {
  rowWireOhms: 0,
  colWireOhms: 0,
  accessOhms: 0,
  driverOhms: 0,
  senseOhms: 0,
  drive: 'left',
  sense: 'bottom',
};

/** Whether any resistance is non-zero (else the tile is ideal: M = G). */
export function hasParasitics(p: Parasitics | undefined | null): p is Parasitics {
  return !!p && p.rowWireOhms + p.colWireOhms + p.accessOhms + p.driverOhms + p.senseOhms > 0;
}

/** Reusable float64 buffers of the solve (no allocation per tile once warm). */
export class ParasiticWorkspace {
  private readonly buffers = new Map<string, Float64Array<ArrayBuffer>>();
  get(key: string, size: number): Float64Array<ArrayBuffer> {
    let b = this.buffers.get(key);
    if (!b || b.length < size) this.buffers.set(key, (b = new Float64Array(size)));
    return b;
  }
}

/**
 * M for a tile of `rows` x `cols` cells with conductances g (siemens, row-major; 0 for an absent cell).
 * Writes into `out` (rows * cols) when given.
 */
export function effectiveConductances(
  g: ArrayLike<number>,
  rows: number,
  cols: number,
  p: Parasitics,
  out = new Float64Array(rows * cols),
  ws = new ParasiticWorkspace(),
): Float64Array {
  if (g.length < rows * cols)
    throw new RangeError(`effectiveConductances: ${g.length} cells for ${rows} x ${cols}`);
  const cell = ws.get('cell', rows * cols);
  for (let k = 0; k < rows * cols; k++) {
    const gk = g[k];
    // Access resistance in series with the cell; exact for the ideal case (1 / (1/G + 0) = G).
    cell[k] = p.accessOhms > 0 && gk > 0 ? gk / (1 + gk * p.accessOhms) : gk;
  }
  const rowsFixed = p.rowWireOhms === 0 && p.driverOhms === 0;
  const colsFixed = p.colWireOhms === 0 && p.senseOhms === 0;
  if (rowsFixed && colsFixed) {
    out.set(cell.subarray(0, rows * cols));
    return out;
  }
  const rowModel = new RowElimination(cols, p, ws);
  if (p.colWireOhms > 0) {
    sweepColumns(cell, rows, cols, p, rowModel, out, ws);
  } else if (p.senseOhms > 0) {
    singleNodeColumns(cell, rows, cols, p, rowModel, out, ws);
  } else {
    // Columns held at 0 V: each row's cell currents are its Norton currents h.
    for (let i = 0; i < rows; i++) rowModel.eliminate(cell, i, null, out.subarray(i * cols, (i + 1) * cols));
  }
  for (let k = 0; k < rows * cols; k++) if (out[k] < 0) out[k] = 0; // M >= 0 exactly; only rounding dips below
  return out;
}

/**
 * One row wire with its cells, eliminated against the column nodes: adds L = Dg - Dg T^-1 Dg (the row's
 * admittance between column nodes) into `a` (cols x cols, row-major) when given, and writes h = the
 * current the row drives into each column node per volt of V_i with the column nodes at 0 V.
 */
class RowElimination {
  private readonly kind: 'fixed' | 'single' | 'chain';
  private readonly gRow: number;
  private readonly gEdge: number;
  private readonly both: boolean;
  private readonly x: Float64Array;
  private readonly diag: Float64Array;
  private readonly cp: Float64Array;
  private readonly rhs: Float64Array;

  constructor(
    private readonly cols: number,
    p: Parasitics,
    ws: ParasiticWorkspace,
  ) {
    this.both = p.drive === 'both';
    if (p.rowWireOhms > 0) {
      this.kind = 'chain';
      this.gRow = 1 / p.rowWireOhms;
      this.gEdge = 1 / (p.driverOhms + p.rowWireOhms); // driver and the first segment in series
    } else {
      this.kind = p.driverOhms > 0 ? 'single' : 'fixed';
      this.gRow = 0;
      this.gEdge = p.driverOhms > 0 ? (this.both ? 2 : 1) / p.driverOhms : Infinity;
    }
    this.x = ws.get('row.x', cols * cols);
    this.diag = ws.get('row.diag', cols);
    this.cp = ws.get('row.cp', cols);
    this.rhs = ws.get('row.rhs', cols);
  }

  eliminate(cell: Float64Array, i: number, a: Float64Array | null, h: Float64Array): void {
    const n = this.cols;
    const g = cell.subarray(i * n, (i + 1) * n);
    if (this.kind === 'fixed') {
      if (a) for (let c = 0; c < n; c++) a[c * n + c] += g[c];
      h.set(g);
      return;
    }
    if (this.kind === 'single') {
      let t = this.gEdge;
      for (let c = 0; c < n; c++) t += g[c];
      for (let c = 0; c < n; c++) h[c] = (g[c] * this.gEdge) / t;
      if (a)
        for (let r = 0; r < n; r++) {
          const gr = g[r];
          if (gr === 0) continue;
          const row = r * n;
          a[row + r] += gr;
          const f = gr / t;
          for (let c = 0; c < n; c++) a[row + c] -= f * g[c];
        }
      return;
    }
    // Chain: T = tridiag(-gRow) with diag g_c + wire segments + edge; LU (Thomas) once per row.
    const { diag, cp, rhs, x, gRow, gEdge } = this;
    for (let c = 0; c < n; c++) {
      diag[c] = g[c] + (c > 0 ? gRow : gEdge) + (c < n - 1 ? gRow : this.both ? gEdge : 0);
    }
    // Forward elimination of the tridiagonal matrix: T = L U with U's diagonal in cp (pivots).
    cp[0] = diag[0];
    for (let c = 1; c < n; c++) cp[c] = diag[c] - (gRow * gRow) / cp[c - 1];
    // h = Dg T^-1 s, s = gEdge at the driven ends.
    rhs.fill(0, 0, n);
    rhs[0] += gEdge;
    if (this.both) rhs[n - 1] += gEdge;
    this.solveInPlace(rhs, n);
    for (let c = 0; c < n; c++) h[c] = g[c] * rhs[c];
    if (!a) return;
    // X = T^-1 Dg column by column (only columns with a cell), then L = Dg - Dg X.
    for (let c = 0; c < n; c++) {
      const gc = g[c];
      if (gc === 0) continue;
      const col = x.subarray(c * n, (c + 1) * n); // column c of X, stored contiguously
      col.fill(0);
      col[c] = gc;
      this.solveInPlace(col, n);
      a[c * n + c] += gc;
      for (let r = 0; r < n; r++) a[r * n + c] -= g[r] * col[r];
    }
  }

  /** Solve T y = b in place with the pivots in cp (off-diagonals all -gRow). */
  private solveInPlace(b: Float64Array, n: number): void {
    const { cp, gRow } = this;
    for (let c = 1; c < n; c++) b[c] += (gRow * b[c - 1]) / cp[c - 1];
    b[n - 1] /= cp[n - 1];
    for (let c = n - 2; c >= 0; c--) b[c] = (b[c] + gRow * b[c + 1]) / cp[c];
  }
}

/** Columns without wire resistance but with sense resistance: one node per column. */
function singleNodeColumns(
  cell: Float64Array,
  rows: number,
  cols: number,
  p: Parasitics,
  rowModel: RowElimination,
  out: Float64Array,
  ws: ParasiticWorkspace,
): void {
  const n = cols;
  const gSense = (p.sense === 'both' ? 2 : 1) / p.senseOhms;
  const a = ws.get('a', n * n);
  a.fill(0, 0, n * n);
  for (let c = 0; c < n; c++) a[c * n + c] = gSense;
  for (let i = 0; i < rows; i++) rowModel.eliminate(cell, i, a, out.subarray(i * n, (i + 1) * n));
  const inv = ws.get('inv', n * n);
  invertSpd(a, n, inv, ws);
  const y = ws.get('y', n);
  for (let i = 0; i < rows; i++) {
    const h = out.subarray(i * n, (i + 1) * n);
    symmetricTimes(inv, n, h, y);
    for (let c = 0; c < n; c++) h[c] = gSense * y[c];
  }
}

/**
 * Columns with wire resistance: block Gaussian elimination over the rows (layers). S_0 = A_00,
 * S_i = A_ii - gCol^2 S_{i-1}^-1; each input's right-hand side enters at its own row and is carried down
 * as y <- gCol S^-1 y; the bottom row's voltages are S_{R-1}^-1 y. With sense 'both' the same sweep from
 * the bottom up gives the top row's voltages, and the two sense currents add.
 */
function sweepColumns(
  cell: Float64Array,
  rows: number,
  cols: number,
  p: Parasitics,
  rowModel: RowElimination,
  out: Float64Array,
  ws: ParasiticWorkspace,
): void {
  const gEnd = 1 / (p.senseOhms + p.colWireOhms); // the last segment and the sense amplifier in series
  const both = p.sense === 'both';
  out.fill(0, 0, rows * cols);
  sweepOnce(cell, rows, cols, p, rowModel, out, ws, false, gEnd, both ? gEnd : 0);
  if (both) sweepOnce(cell, rows, cols, p, rowModel, out, ws, true, gEnd, gEnd);
}

function sweepOnce(
  cell: Float64Array,
  rows: number,
  cols: number,
  p: Parasitics,
  rowModel: RowElimination,
  out: Float64Array,
  ws: ParasiticWorkspace,
  upward: boolean,
  gBottom: number,
  gTop: number,
): void {
  const n = cols;
  const gCol = 1 / p.colWireOhms;
  const s = ws.get('s', n * n);
  const inv = ws.get('inv', n * n);
  // y: one row of n per input (inputs in the sweep's order); tmp for the product.
  const y = ws.get('y', rows * n);
  const tmp = ws.get('tmp', rows * n);
  const h = ws.get('h', n);
  // The sweep's k-th layer is row layerRow(k); the last one sensed is gOut's end.
  const layerRow = (k: number) => (upward ? rows - 1 - k : k);
  const gOut = upward ? gTop : gBottom;
  for (let k = 0; k < rows; k++) {
    const i = layerRow(k);
    // A_ii: the row's admittance plus the column segments at this layer.
    s.fill(0, 0, n * n);
    const wire = (i > 0 ? gCol : gTop) + (i < rows - 1 ? gCol : gBottom);
    for (let c = 0; c < n; c++) s[c * n + c] = wire;
    rowModel.eliminate(cell, i, s, h);
    if (k > 0) {
      // S_k = A - gCol^2 S_{k-1}^-1, carried RHS y <- gCol S_{k-1}^-1 y (inv holds S_{k-1}^-1).
      const g2 = gCol * gCol;
      for (let e = 0; e < n * n; e++) s[e] -= g2 * inv[e];
      multiplyRows(y, k, inv, n, tmp, gCol);
      y.set(tmp.subarray(0, k * n));
    }
    y.set(h.subarray(0, n), k * n);
    invertSpd(s, n, inv, ws);
  }
  // Last layer's voltages x = S^-1 y, sense current gOut x, scattered to the inputs' rows of M.
  multiplyRows(y, rows, inv, n, tmp, gOut);
  for (let k = 0; k < rows; k++) {
    const i = layerRow(k);
    const src = k * n;
    const dst = i * n;
    for (let c = 0; c < n; c++) out[dst + c] += tmp[src + c];
  }
}

/** out[r, :] = scale * y[r, :] P for r < count (P symmetric n x n, so out[r][c] = scale y_r . P_c). */
function multiplyRows(
  y: Float64Array,
  count: number,
  pm: Float64Array,
  n: number,
  out: Float64Array,
  scale: number,
): void {
  rowDots(y, count, pm, n, n, out, n, scale, false);
}

/**
 * out[r * outStride + c] = scale * sum_{k >= from(c)} a[r * n + k] b[c * n + k] for r < rowsA, c < rowsB:
 * the products of rows, 4 x 4 outputs at a time so that each loaded value serves four sums (the solve's
 * time is in these products and the Cholesky factorisation). from(c) is 0, or c's block start when
 * `upperFrom` (a = b, upper triangular: earlier terms vanish, and only the upper blocks are computed,
 * the lower mirrored).
 */
function rowDots(
  a: Float64Array,
  rowsA: number,
  b: Float64Array,
  rowsB: number,
  n: number,
  out: Float64Array,
  outStride: number,
  scale: number,
  upperFrom: boolean,
): void {
  for (let r0 = 0; r0 < rowsA; r0 += 4) {
    const rn = Math.min(4, rowsA - r0);
    for (let c0 = 0; c0 < rowsB; c0 += 4) {
      const cn = Math.min(4, rowsB - c0);
      if (upperFrom && c0 < r0) continue; // a = b: the lower blocks are mirrored below
      const k0 = upperFrom ? c0 : 0;
      if (rn === 4 && cn === 4) {
        const a0 = r0 * n,
          a1 = a0 + n,
          a2 = a1 + n,
          a3 = a2 + n;
        const b0 = c0 * n,
          b1 = b0 + n,
          b2 = b1 + n,
          b3 = b2 + n;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let k = k0; k < n; k++) {
          const x0 = a[a0 + k],
            x1 = a[a1 + k],
            x2 = a[a2 + k],
            x3 = a[a3 + k];
          const y0 = b[b0 + k],
            y1 = b[b1 + k],
            y2 = b[b2 + k],
            y3 = b[b3 + k];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        let o = r0 * outStride + c0;
        out[o] = scale * s00;
        out[o + 1] = scale * s01;
        out[o + 2] = scale * s02;
        out[o + 3] = scale * s03;
        o += outStride;
        out[o] = scale * s10;
        out[o + 1] = scale * s11;
        out[o + 2] = scale * s12;
        out[o + 3] = scale * s13;
        o += outStride;
        out[o] = scale * s20;
        out[o + 1] = scale * s21;
        out[o + 2] = scale * s22;
        out[o + 3] = scale * s23;
        o += outStride;
        out[o] = scale * s30;
        out[o + 1] = scale * s31;
        out[o + 2] = scale * s32;
        out[o + 3] = scale * s33;
        continue;
      }
      for (let r = r0; r < r0 + rn; r++)
        for (let c = c0; c < c0 + cn; c++) {
          let s = 0;
          const ar = r * n;
          const bc = c * n;
          for (let k = k0; k < n; k++) s += a[ar + k] * b[bc + k];
          out[r * outStride + c] = scale * s;
        }
    }
  }
  if (upperFrom)
    for (let r = 1; r < rowsA; r++)
      for (let c = 0; c < Math.min(r, rowsB); c++) out[r * outStride + c] = out[c * outStride + r];
}

/** y = P x for a symmetric n x n P. */
function symmetricTimes(pm: Float64Array, n: number, x: Float64Array, y: Float64Array): void {
  for (let r = 0; r < n; r++) {
    let sum = 0;
    const pr = r * n;
    for (let c = 0; c < n; c++) sum += pm[pr + c] * x[c];
    y[r] = sum;
  }
}

/**
 * inv = a^-1 for a symmetric positive definite n x n matrix (row-major, full storage), by Cholesky:
 * a = L L^T, U = L^-T (upper), a^-1 = U U^T. About n^3 / 2 multiply-adds, all on contiguous rows.
 * `a` is overwritten by L.
 */
export function invertSpd(
  a: Float64Array,
  n: number,
  inv: Float64Array,
  ws = new ParasiticWorkspace(),
): void {
  // Cholesky, four rows at a time: L[i][j] = (a[i][j] - sum_{k<j} L[i][k] L[j][k]) / L[j][j].
  for (let i0 = 0; i0 < n; i0 += 4) {
    const iEnd = Math.min(n, i0 + 4);
    if (iEnd - i0 === 4) {
      const r0 = i0 * n,
        r1 = r0 + n,
        r2 = r1 + n,
        r3 = r2 + n;
      for (let j = 0; j < i0; j++) {
        const rj = j * n;
        let s0 = a[r0 + j],
          s1 = a[r1 + j],
          s2 = a[r2 + j],
          s3 = a[r3 + j];
        for (let k = 0; k < j; k++) {
          const l = a[rj + k];
          s0 -= a[r0 + k] * l;
          s1 -= a[r1 + k] * l;
          s2 -= a[r2 + k] * l;
          s3 -= a[r3 + k] * l;
        }
        const d = a[rj + j];
        a[r0 + j] = s0 / d;
        a[r1 + j] = s1 / d;
        a[r2 + j] = s2 / d;
        a[r3 + j] = s3 / d;
      }
    }
    for (let i = i0; i < iEnd; i++) {
      const ri = i * n;
      for (let j = iEnd - i0 === 4 ? i0 : 0; j <= i; j++) {
        const rj = j * n;
        let sum = a[ri + j];
        for (let k = 0; k < j; k++) sum -= a[ri + k] * a[rj + k];
        if (j < i) a[ri + j] = sum / a[rj + j];
        else {
          if (!(sum > 0))
            throw new RangeError(`invertSpd: matrix not positive definite at pivot ${i} (${sum})`);
          a[ri + i] = Math.sqrt(sum);
        }
      }
    }
  }
  // U = L^-T, row-major upper: U[j][i] = -(sum_{k=j}^{i-1} L[i][k] U[j][k]) / L[i][i], four rows j at a
  // time (U is zero left of its diagonal, so the sums may start at the block's first row).
  const u = ws.get('spd.u', n * n);
  u.fill(0, 0, n * n);
  for (let j0 = 0; j0 < n; j0 += 4) {
    const jEnd = Math.min(n, j0 + 4);
    for (let j = j0; j < jEnd; j++) {
      const rj = j * n;
      u[rj + j] = 1 / a[rj + j];
      for (let i = j + 1; i < jEnd; i++) {
        const ri = i * n;
        let sum = 0;
        for (let k = j; k < i; k++) sum += a[ri + k] * u[rj + k];
        u[rj + i] = -sum / a[ri + i];
      }
    }
    if (jEnd - j0 < 4) {
      for (let j = j0; j < jEnd; j++)
        for (let i = jEnd; i < n; i++) {
          const ri = i * n;
          const rj = j * n;
          let sum = 0;
          for (let k = j0; k < i; k++) sum += a[ri + k] * u[rj + k];
          u[rj + i] = -sum / a[ri + i];
        }
      continue;
    }
    const u0 = j0 * n,
      u1 = u0 + n,
      u2 = u1 + n,
      u3 = u2 + n;
    for (let i = jEnd; i < n; i++) {
      const ri = i * n;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = j0; k < i; k++) {
        const l = a[ri + k];
        s0 += l * u[u0 + k];
        s1 += l * u[u1 + k];
        s2 += l * u[u2 + k];
        s3 += l * u[u3 + k];
      }
      const d = -a[ri + i];
      u[u0 + i] = s0 / d;
      u[u1 + i] = s1 / d;
      u[u2 + i] = s2 / d;
      u[u3 + i] = s3 / d;
    }
  }
  // inv[r][c] = sum_k U[r][k] U[c][k] (U is zero left of its diagonal): the upper blocks, mirrored.
  rowDots(u, n, u, n, n, inv, n, 1, true);
}
