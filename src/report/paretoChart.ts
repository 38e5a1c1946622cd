/**
 * Accuracy against cost with the Pareto front marked: one panel per cost axis (energy, area, ...), each
 * design point with its 95 % CI, the non-dominated points joined by a dashed line and ringed.
 */
import type { VegaLiteSpec } from './render';
import { baseConfig, PALETTE, titleOf } from './theme';

export interface ParetoPoint {
  /** Design label (shown in the tooltip), e.g. "calibrated p99.9, 6 bits, 8 cols/ADC". */
  label: string;
  /** Colour group, e.g. the ADC range rule. */
  group: string;
  /** Shape group, e.g. columns per ADC. */
  shape: string;
  accuracy: number;
  lo: number;
  hi: number;
  /** Cost on each axis, by axis name; a point without an axis's key is left out of that panel. */
  cost: Record<string, number>;
}

/**
 * Indices of the points no other point dominates on (accuracy up, cost down): a point is dominated
 * when another has at least its accuracy at no more cost, and is strictly better in one.
 */
export function paretoFront(points: ReadonlyArray<{ accuracy: number; cost: number }>): number[] {
  return points
    .map((p, i) => ({ p, i }))
    .filter(
      ({ p }) =>
        !points.some(
          (q) => q.accuracy >= p.accuracy && q.cost <= p.cost && (q.accuracy > p.accuracy || q.cost < p.cost),
        ),
    )
    .map(({ i }) => i);
}

export interface ParetoChartOptions {
  points: ParetoPoint[];
  /** Cost axes in panel order: the key in `cost`, the axis title and its scale (default linear). */
  axes: Array<{ key: string; title: string; log?: boolean }>;
  title: string;
  subtitle?: string;
  yTitle: string;
  groupTitle: string;
  shapeTitle: string;
}

export function paretoChart(o: ParetoChartOptions): VegaLiteSpec {
  const groups = [...new Set(o.points.map((p) => p.group))];
  const shapes = [...new Set(o.points.map((p) => p.shape))];
  const panel = (axis: ParetoChartOptions['axes'][number]) => {
    const rows = o.points.filter((p) => axis.key in p.cost).map((p) => ({ ...p, x: p.cost[axis.key] }));
    const front = new Set(paretoFront(rows.map((r) => ({ accuracy: r.accuracy, cost: r.x }))));
    const values = rows.map((r, i) => ({ ...r, front: front.has(i) }));
    const x = {
      field: 'x',
      type: 'quantitative',
      title: axis.title,
      scale: axis.log ? { type: 'log' } : { zero: false, padding: 12 },
    };
    const y = { field: 'accuracy', type: 'quantitative', title: o.yTitle, scale: { zero: false } };
    const color = {
      field: 'group',
      type: 'nominal',
      title: o.groupTitle,
      scale: { domain: groups, range: PALETTE },
    };
    return {
      width: 360,
      height: 280,
      data: { values },
      layer: [
        {
          mark: { type: 'rule', opacity: 0.6 },
          encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
        },
        {
          transform: [{ filter: 'datum.front' }],
          mark: { type: 'line', strokeDash: [6, 4], color: '#222222', strokeWidth: 1.5 },
          encoding: { x, y, order: { field: 'x' } },
        },
        {
          transform: [{ filter: 'datum.front' }],
          mark: {
            type: 'point',
            size: 160,
            color: '#222222',
            strokeWidth: 1.5,
            filled: false,
            shape: 'circle',
          },
          encoding: { x, y },
        },
        {
          mark: { type: 'point', filled: true, size: 55, opacity: 1 },
          encoding: {
            x,
            y,
            color,
            shape: { field: 'shape', type: 'nominal', title: o.shapeTitle, scale: { domain: shapes } },
            tooltip: [
              { field: 'label' },
              { field: 'accuracy', format: '.2f' },
              { field: 'x', format: '.3g' },
            ],
          },
        },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle),
    config: baseConfig(),
    hconcat: o.axes.map(panel),
    resolve: { scale: { color: 'shared', shape: 'shared' } },
  } as unknown as VegaLiteSpec;
}
