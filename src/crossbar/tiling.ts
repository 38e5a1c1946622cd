/**
 * Tiling: how a rows x cols weight matrix is split over R x C crossbar tiles.
 * Row tiles split the input dimension (their partial sums are added digitally after the ADCs); column
 * tiles split the outputs. Physical columns per weight column: 2 for differential (G+ then G-), 1 for
 * offset plus one reference column per tile (the tile's last used column).
 */
import type { MappingKind } from './circuit';

export interface TilePlan {
  rowTile: number;
  colTile: number;
  /** Weight rows [rowStart, rowEnd) on this tile's physical rows 0 .. rowsUsed-1. */
  rowStart: number;
  rowEnd: number;
  /** Weight columns [colStart, colEnd). */
  colStart: number;
  colEnd: number;
  rowsUsed: number;
  /**
   * Physical columns used, including G- or reference columns. Differential: weight column colStart + k on
   * physical columns 2k (G+) and 2k + 1 (G-). Offset: weight column colStart + k on physical column k, the
   * reference on physical column colEnd - colStart.
   */
  physicalColsUsed: number;
  /** Physical column of the reference (offset), null for differential. */
  referenceCol: number | null;
}

export interface TilingPlan {
  tileRows: number;
  tileCols: number;
  mapping: MappingKind;
  /** Weight columns one tile holds. */
  weightColsPerTile: number;
  rowTiles: number;
  colTiles: number;
  /** Row-tile major: tiles[rowTile * colTiles + colTile]. */
  tiles: TilePlan[];
}

/** Weight columns that fit in `tileCols` physical columns. */
export function weightColsPerTile(tileCols: number, mapping: MappingKind): number {
  return mapping === 'differential' ? Math.floor(tileCols / 2) : tileCols - 1;
}

export function planTiles(
  rows: number,
  cols: number,
  tile: { rows: number; cols: number },
  mapping: MappingKind,
): TilingPlan {
  for (const [name, v] of [
    ['rows', rows],
    ['cols', cols],
    ['tile rows', tile.rows],
    ['tile cols', tile.cols],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`planTiles: ${name} must be a positive integer, got ${v}`);
  const perTile = weightColsPerTile(tile.cols, mapping);
  if (perTile < 1)
    throw new RangeError(`planTiles: a ${tile.cols}-column tile holds no ${mapping} weight column`);
  const rowTiles = Math.ceil(rows / tile.rows);
  const colTiles = Math.ceil(cols / perTile);
  const tiles: TilePlan[] = [];
  for (let rt = 0; rt < rowTiles; rt++) {
    const rowStart = rt * tile.rows;
    const rowEnd = Math.min(rows, rowStart + tile.rows);
    for (let ct = 0; ct < colTiles; ct++) {
      const colStart = ct * perTile;
      const colEnd = Math.min(cols, colStart + perTile);
      const n = colEnd - colStart;
      tiles.push({
        rowTile: rt,
        colTile: ct,
        rowStart,
        rowEnd,
        colStart,
        colEnd,
        rowsUsed: rowEnd - rowStart,
        physicalColsUsed: mapping === 'differential' ? 2 * n : n + 1,
        referenceCol: mapping === 'differential' ? null : n,
      });
    }
  }
  return {
    tileRows: tile.rows,
    tileCols: tile.cols,
    mapping,
    weightColsPerTile: perTile,
    rowTiles,
    colTiles,
    tiles,
  };
}
