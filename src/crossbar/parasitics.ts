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
 * The solve is direct and exact up to float64 rounding (no iteration, nothing to converge). With both
 * wires resistive (the general case) it is a nested dissection (crossbar/dissection.ts): the tile is cut
 * in halves recursively, each rectangle reduced to the admittance between its ports, and the halves joined
 * by eliminating the nodes they share; what is left at the end, between drivers and sense amplifiers, is
 * -M. Under 20 k^3 multiply-adds for a k x k tile (docs/parasitics.md). With ideal row wires and
 * resistive column wires each column is a resistor ladder (crossbar/columnLadders.ts). The other cases,
 * and both of those with { method: 'sweep' }, eliminate each row wire on its own (tridiagonal), which
 * leaves a block-tridiagonal system over the column nodes, one block per row, that block Gaussian
 * elimination sweeps from top to bottom: about R C^3 / 2 + R^2 C^2 / 2 multiply-adds for R rows and C
 * columns (with ideal column wires it is one C x C inverse). A zero resistance merges its nodes instead
 * of dividing by zero; all zero gives M = G.
 */

import { type ColumnLadders, solveColumnLadders } from './columnLadders';
import { DEFAULT_LEAF_COLS, TileDissection, type TileWires } from './dissection';
import { invertSpd, ParasiticWorkspace, rowDots } from './spd';

export { ParasiticWorkspace };

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

/**
 * How tiles with resistive column wires are solved: by nested dissection (resistive row wires) or column
 * ladders (ideal row wires), the default; or by the row-by-row block sweep they replaced (kept as an
 * independent check and for the bench).
 */
export interface TileSolver {
  method: 'dissection' | 'sweep';
  /** Dissection's leaf: one row of at most this many cells. */
  leafCols: number;
}

export const DEFAULT_SOLVER: TileSolver = { method: 'dissection', leafCols: DEFAULT_LEAF_COLS };

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
  solver: TileSolver = DEFAULT_SOLVER,
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
  if (p.rowWireOhms > 0 && p.colWireOhms > 0 && solver.method === 'dissection') {
    new TileDissection(cell, rows, cols, tileWires(p), ws, solver.leafCols).solve(out);
    return clampRounding(out, rows * cols);
  }
  if (p.rowWireOhms === 0 && p.colWireOhms > 0 && solver.method === 'dissection') {
    solveColumnLadders(cell, rows, cols, columnLadders(p), out, ws);
    return clampRounding(out, rows * cols);
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
  return clampRounding(out, rows * cols);
}

/** M >= 0 exactly; only rounding dips below. */
function clampRounding(out: Float64Array, size: number): Float64Array {
  for (let k = 0; k < size; k++) if (out[k] < 0) out[k] = 0;
  return out;
}

/** The last column segment and the sense amplifier in series, at each sensed end. */
const gSenseEnd = (p: Parasitics) => 1 / (p.senseOhms + p.colWireOhms);

/** A row's driver (both drivers with drive 'both') when the row wire has no resistance. */
const gDriveIdealRow = (p: Parasitics) =>
  p.driverOhms > 0 ? (p.drive === 'both' ? 2 : 1) / p.driverOhms : Infinity;

/** The wire and end conductances of the general case (both wires resistive). */
function tileWires(p: Parasitics): TileWires {
  return {
    gRow: 1 / p.rowWireOhms,
    gCol: 1 / p.colWireOhms,
    gDrive: 1 / (p.driverOhms + p.rowWireOhms), // the driver and the first segment in series
    gSense: gSenseEnd(p),
    driveBoth: p.drive === 'both',
    senseBoth: p.sense === 'both',
  };
}

/** The ladders of a tile with ideal row wires and resistive column wires. */
function columnLadders(p: Parasitics): ColumnLadders {
  const gEnd = gSenseEnd(p);
  return {
    gCol: 1 / p.colWireOhms,
    gBottom: gEnd,
    gTop: p.sense === 'both' ? gEnd : 0,
    gDrive: gDriveIdealRow(p),
  };
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
      this.gEdge = gDriveIdealRow(p);
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
  const gEnd = gSenseEnd(p);
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
  rowDots(y, count, pm, n, n, out, n, { scale });
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
