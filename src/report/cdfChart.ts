/** Empirical cumulative distributions, one step line per series (e.g. programmed device levels). */
import { InputError } from '../util/errors';
import type { VegaLiteSpec } from './render';
import { baseConfig, distinct, HEIGHT, inlineRows, titleOf, WIDTH } from './theme';

const ORDER = '__order';

export interface CdfRow {
  series: string;
  x: number;
  /** Cumulative probability in [0, 1]. */
  cdf: number;
}

export interface CdfChartOptions {
  rows: readonly CdfRow[];
  title: string;
  subtitle?: string;
  xTitle: string;
  yTitle?: string;
  seriesTitle?: string;
  xScale?: 'log' | 'linear';
  width?: number;
  height?: number;
}

export function cdfChart(o: CdfChartOptions): VegaLiteSpec {
  const rows = inlineRows('cdfChart', o.rows, ['series', 'x', 'cdf']);
  if (rows.some((r) => !((r.cdf as number) >= 0 && (r.cdf as number) <= 1))) {
    throw new InputError('cdfChart: cdf values must lie in [0, 1]');
  }
  if (o.xScale === 'log' && rows.some((r) => !((r.x as number) > 0))) {
    throw new InputError('cdfChart: log x scale needs positive x values');
  }
  const series = distinct(rows, 'series');
  // Draw each series in x order whatever order the rows arrive in; cdf breaks ties at a jump.
  rows.sort((a, b) => (a.x as number) - (b.x as number) || (a.cdf as number) - (b.cdf as number));
  rows.forEach((r, i) => (r[ORDER] = i));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle),
    data: { values: rows },
    width: o.width ?? WIDTH,
    height: o.height ?? HEIGHT,
    config: baseConfig(),
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: o.xTitle,
        scale: o.xScale === 'log' ? { type: 'log' } : { zero: false },
      },
      y: {
        field: 'cdf',
        type: 'quantitative',
        title: o.yTitle ?? 'cumulative probability',
        scale: { domain: [0, 1] },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: o.seriesTitle ?? 'series',
        scale: { domain: series },
        legend: { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2.5 },
      },
      order: { field: ORDER, type: 'quantitative' },
    },
  } as VegaLiteSpec;
}
