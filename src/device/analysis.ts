/**
 * Level statistics for `xbarsim device show`: the level table, how often a read lands nearer a neighbouring
 * level, and CDF series for plots.
 */
import type { LevelModel } from './levels';
import type { DeviceModel } from './model';

export type LevelLabel = number | 'hrs';

export interface LevelRow {
  level: LevelLabel;
  gMeanSiemens: number;
  gSigmaSiemens: number;
  /** Mean read current at the card's read voltage. */
  iReadAmps: number;
}

/** One row per level (ascending), then the HRS if the card has one. */
export function levelTable(model: DeviceModel): LevelRow[] {
  return labelled(model).map(([level, lm]) => ({
    level,
    gMeanSiemens: lm.gMeanSiemens,
    gSigmaSiemens: lm.gSigmaSiemens,
    iReadAmps: lm.gMeanSiemens * model.vReadVolts,
  }));
}

export interface LevelOverlapRow {
  level: number;
  /** P(read nearer the level below's mean than this level's mean). 0 for the lowest level. */
  pBelow: number;
  /** P(read nearer the level above's mean). 0 for the highest level. */
  pAbove: number;
  /** pBelow + pAbove: the chance a nearest-mean read-out decodes the wrong level. */
  pMisread: number;
}

/**
 * For each programmed level, the probability that a draw lands past the midpoint to a neighbouring level's
 * mean. Exact from each level's CDF (normal CDF with truncation for Gaussian levels, lognormal CDF, the
 * interpolated empirical CDF that the sampler draws from).
 */
export function levelOverlap(model: DeviceModel): LevelOverlapRow[] {
  const lv = model.levels;
  return lv.map((level, k) => {
    const pBelow = k > 0 ? level.cdf((lv[k - 1].gMeanSiemens + level.gMeanSiemens) / 2) : 0;
    const pAbove = k < lv.length - 1 ? 1 - level.cdf((level.gMeanSiemens + lv[k + 1].gMeanSiemens) / 2) : 0;
    return { level: k, pBelow, pAbove, pMisread: pBelow + pAbove };
  });
}

export interface CdfPoint {
  level: LevelLabel;
  gSiemens: number;
  cdf: number;
}

/** `points` evenly spaced CDF samples across each level's plotting range (levels, then HRS). */
export function levelCdfSeries(model: DeviceModel, points: number): CdfPoint[] {
  if (!Number.isInteger(points) || points < 2)
    throw new RangeError(`levelCdfSeries needs points >= 2, got ${points}`);
  const rows: CdfPoint[] = [];
  for (const [level, lm] of labelled(model)) {
    const [lo, hi] = lm.rangeSiemens;
    for (let i = 0; i < points; i++) {
      const g = lo + ((hi - lo) * i) / (points - 1);
      rows.push({ level, gSiemens: g, cdf: lm.cdf(g) });
    }
  }
  return rows;
}

function labelled(model: DeviceModel): Array<[LevelLabel, LevelModel]> {
  const out: Array<[LevelLabel, LevelModel]> = model.levels.map((lm, k) => [k, lm]);
  if (model.hrs) out.push(['hrs', model.hrs]);
  return out;
}
