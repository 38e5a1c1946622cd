/** Distribution of a value per group as Tukey box plots (e.g. synapse count per network type). */
import { InputError } from '../util/errors';
import type { VegaLiteSpec } from './render';
import { baseConfig, distinct, field, HEIGHT, inlineRows, titleOf, WIDTH } from './theme';

export interface BoxPlotOptions {
  rows: readonly object[];
  group: string;
  value: string;
  title: string;
  /** Default: "boxes: quartiles and median; whiskers: 1.5 IQR; dots: outliers". */
  subtitle?: string;
  xTitle?: string;
  yTitle?: string;
  yScale?: 'log' | 'linear';
  width?: number;
  height?: number;
}

export function boxPlot(o: BoxPlotOptions): VegaLiteSpec {
  const rows = inlineRows('boxPlot', o.rows, [o.group, o.value]);
  if (rows.some((r) => typeof r[o.value] !== 'number' || !Number.isFinite(r[o.value]))) {
    throw new InputError(`boxPlot: "${o.value}" must be a finite number in every row`);
  }
  if (o.yScale === 'log' && rows.some((r) => !((r[o.value] as number) > 0))) {
    throw new InputError(`boxPlot: log y scale needs positive "${o.value}" values`);
  }
  const groups = distinct(rows, o.group);
  const width = o.width ?? Math.max(WIDTH * 0.6, 140 * groups.length);
  // Tilt the group labels only when they would not fit side by side (about 7.5 px a character).
  const longest = Math.max(...groups.map((g) => String(g).length));
  const labelAngle = longest * 7.5 > (width / groups.length) * 0.9 ? -30 : 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle ?? 'boxes: quartiles and median; whiskers: 1.5 × IQR; dots: outliers'),
    data: { values: rows },
    width,
    height: o.height ?? HEIGHT,
    config: baseConfig(),
    mark: {
      type: 'boxplot',
      extent: 1.5,
      size: 36,
      median: { color: 'black', strokeWidth: 2 },
      outliers: { size: 30 },
    },
    encoding: {
      x: {
        field: field(o.group),
        type: 'nominal',
        title: o.xTitle ?? o.group,
        sort: groups,
        axis: { labelAngle, labelLimit: 200 },
      },
      y: {
        field: field(o.value),
        type: 'quantitative',
        title: o.yTitle ?? o.value,
        scale: o.yScale === 'log' ? { type: 'log' } : { zero: false },
      },
      // The axis already names each box; a legend would repeat it.
      color: { field: field(o.group), type: 'nominal', legend: null, scale: { domain: groups } },
    },
  } as VegaLiteSpec;
}
