/**
 * Tiles whose row wires have no resistance but whose column wires do. Each row is then one node, and
 * each column wire with its cells is a resistor ladder; the ladders meet only at the row nodes.
 *
 * - Rows held at their voltages (ideal drivers): the ladders are independent. By reciprocity the current
 *   into column c's sense amplifier per volt on row i is g_ic w_i, where w is the ladder's node voltages
 *   with every row at 0 V and the sense amplifier's side raised to 1 V: a voltage divider walked along the
 *   ladder. O(R) per column, all in sums and ratios of positive conductances (no cancellation).
 * - Rows behind a driver resistance: the row voltages u solve A u = g_D V, with
 *   A = diag(g_D + sum_c g_ic) - sum_c G_c T_c^-1 G_c (the ladders eliminated; T_c^-1 walked like w),
 *   and M = g_D A^-1 M_held. About R^2 C / 2 + R^3 / 2 + R^2 C multiply-adds.
 *
 * The row-by-row sweep (parasitics.ts) solves the same circuit in R C^3 / 2: 140 ms instead of about 2 ms
 * for a 128 x 128 tile; it stays as the independent check (`{ method: 'sweep' }`).
 */
import { invertSpd, type ParasiticWorkspace, rowDots } from './spd';

/** The ladders' conductances in siemens (gCol > 0). */
export interface ColumnLadders {
  /** One column-wire segment. */
  gCol: number;
  /** The last segment and the bottom sense amplifier in series. */
  gBottom: number;
  /** The first segment and the top sense amplifier in series (sense 'both'), else 0. */
  gTop: number;
  /** The row's driver (both drivers with drive 'both'); Infinity when rows are held at their voltages. */
  gDrive: number;
}

/** M (rows x cols, row-major) of a tile with ideal row wires and resistive column wires into `out`. */
export function solveColumnLadders(
  cell: Float64Array,
  rows: number,
  cols: number,
  w: ColumnLadders,
  out: Float64Array,
  ws: ParasiticWorkspace,
): void {
  const held = w.gDrive === Infinity;
  // Per node of one ladder: what it sees above and below through the wire, its admittance to ground
  // looking up (y: its cell and everything above) and down (z), and the voltage-divider ratios.
  const above = ws.get('ladder.above', rows);
  const below = ws.get('ladder.below', rows);
  const y = ws.get('ladder.y', rows);
  const z = ws.get('ladder.z', rows);
  const up = ws.get('ladder.up', rows); // gCol / (gCol + y_i): node i's voltage per volt at node i+1
  const down = ws.get('ladder.down', rows); // gCol / (gCol + z_i): per volt at node i-1
  const wv = ws.get('ladder.w', rows);
  const a = held ? null : ws.get('ladder.a', rows * rows);
  if (a) {
    a.fill(0, 0, rows * rows);
    for (let i = 0; i < rows; i++) a[i * rows + i] = w.gDrive;
  }
  const { gCol, gBottom, gTop } = w;
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < rows; i++) {
      above[i] = i === 0 ? gTop : (gCol * y[i - 1]) / (gCol + y[i - 1]);
      y[i] = cell[i * cols + c] + above[i];
      up[i] = gCol / (gCol + y[i]);
    }
    for (let i = rows - 1; i >= 0; i--) {
      below[i] = i === rows - 1 ? gBottom : (gCol * z[i + 1]) / (gCol + z[i + 1]);
      z[i] = cell[i * cols + c] + below[i];
      down[i] = gCol / (gCol + z[i]);
    }
    // w: the bottom amplifier's side at 1 V, divided up the ladder; plus the top's, divided down.
    wv[rows - 1] = gBottom / (gBottom + y[rows - 1]);
    for (let i = rows - 2; i >= 0; i--) wv[i] = wv[i + 1] * up[i];
    if (gTop > 0) {
      let t = gTop / (gTop + z[0]);
      wv[0] += t;
      for (let i = 1; i < rows; i++) wv[i] += t *= down[i];
    }
    for (let i = 0; i < rows; i++) out[i * cols + c] = cell[i * cols + c] * wv[i];
    if (a) subtractLadder(cell, rows, cols, c, above, below, up, a);
  }
  if (!a) return;
  // M = g_D A^-1 M_held: A^-1 once, then rows of A^-1 against columns of M_held.
  const inv = ws.get('ladder.inv', rows * rows);
  invertSpd(a, rows, inv, ws);
  const heldT = ws.get('ladder.heldT', cols * rows);
  for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) heldT[c * rows + i] = out[i * cols + c];
  rowDots(inv, rows, heldT, cols, rows, out, cols, { scale: w.gDrive });
}

/**
 * a -= G_c T_c^-1 G_c for ladder c, upper triangle and its mirror. T^-1's column k is the ladder's
 * voltages for 1 A into node k with the rows at 0 V: 1 / Y_k at k (Y_k its total admittance), divided by
 * `up` on the way to the top (the lower half is the mirror, T being symmetric).
 */
function subtractLadder(
  cell: Float64Array,
  rows: number,
  cols: number,
  c: number,
  above: Float64Array,
  below: Float64Array,
  up: Float64Array,
  a: Float64Array,
): void {
  for (let k = 0; k < rows; k++) {
    const gk = cell[k * cols + c];
    if (gk === 0) continue;
    // Y_k = g_k + above + below, and a_kk's update g_k - g_k^2 / Y_k written without the difference.
    const rest = above[k] + below[k];
    const yk = gk + rest;
    a[k * rows + k] += (gk * rest) / yk;
    let t = 1 / yk;
    for (let i = k - 1; i >= 0; i--) {
      t *= up[i];
      const gi = cell[i * cols + c];
      if (gi === 0) continue;
      const v = gi * gk * t;
      a[i * rows + k] -= v;
      a[k * rows + i] -= v;
    }
  }
}
