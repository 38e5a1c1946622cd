/**
 * A programmed stage's tiles with wire, access, driver and sense resistances: per row tile and column
 * tile, the exact effective matrix M of crossbar/parasitics.ts, which then stands in for the conductances
 * in every trial path (each column current is still sum_i u_i M_ip vRead). Browser-safe.
 */
import { effectiveConductances, type ParasiticWorkspace } from '../crossbar/parasitics';
import type { MappingKind } from '../crossbar/circuit';
import { weightColsPerTile } from '../crossbar/tiling';
import type { AnalogStage, StageParasitics } from './plan';

/** The stage's physical columns per column tile, in wire order (see StageParasitics.columnTiles). */
export function columnTilesOf(cols: number, tileCols: number, mapping: MappingKind): Int32Array[] {
  const per = weightColsPerTile(tileCols, mapping);
  const tiles: Int32Array[] = [];
  for (let ct = 0, j0 = 0; j0 < cols; ct++, j0 += per) {
    const j1 = Math.min(cols, j0 + per);
    const order: number[] = [];
    for (let j = j0; j < j1; j++) {
      order.push(j);
      if (mapping === 'differential') order.push(cols + j);
    }
    if (mapping === 'offset') order.push(cols + ct);
    tiles.push(Int32Array.from(order));
  }
  return tiles;
}

export type ParasiticStage = AnalogStage & { parasitics: StageParasitics };

export function hasStageParasitics(stage: AnalogStage): stage is ParasiticStage {
  return stage.parasitics !== undefined;
}

/**
 * M of every row tile (row-major rows x physCols like g, float32 as the trial paths read conductances).
 * `buffer(r, size)` provides the output of row tile r.
 */
export function effectiveStage(
  stage: ParasiticStage,
  g: Float32Array[],
  ws: ParasiticWorkspace,
  buffer: (r: number, size: number) => Float32Array,
): Float32Array[] {
  const { physCols } = stage;
  const { circuit, columnTiles } = stage.parasitics;
  return stage.rowTiles.map((tile, r) => {
    const rows = tile.rowEnd - tile.rowStart;
    const out = buffer(r, rows * physCols);
    const gt = g[r];
    for (const order of columnTiles) {
      const n = order.length;
      const sub = ws.get('stage.g', rows * n);
      for (let i = 0; i < rows; i++) for (let c = 0; c < n; c++) sub[i * n + c] = gt[i * physCols + order[c]];
      const m = effectiveConductances(sub, rows, n, circuit, ws.get('stage.m', rows * n), ws);
      for (let i = 0; i < rows; i++) for (let c = 0; c < n; c++) out[i * physCols + order[c]] = m[i * n + c];
    }
    return out;
  });
}
