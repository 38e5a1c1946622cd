/** Lines of y against x, one per series, optionally one panel per facet value (accuracy vs hidden units). */
import { InputError } from '../util/errors';
import type { VegaLiteSpec } from './render';
import { baseConfig, distinct, field, fractionalFormat, HEIGHT, inlineRows, titleOf, WIDTH } from './theme';

export interface LineChartOptions {
  rows: readonly object[];
  x: string;
  y: string;
  /** Field naming each line's series (colour and legend). */
  color?: string;
  /**
   * Field that selects the line style: rows whose value is in `solid` get solid lines, all others
   * dashed (e.g. field `precision`, solid `['float']`: float reference solid, quantized dashed).
   */
  strokeDash?: { field: string; solid: ReadonlyArray<string | number | boolean>; title?: string };
  /** Field with one panel per value; the panel headers show the values, `facetTitle` adds a caption. */
  facet?: string;
  /** Panels per row when faceted; default 3. */
  columns?: number;
  title: string;
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  colorTitle?: string;
  facetTitle?: string;
  xScale?: 'log' | 'linear';
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

const DASHED = [6, 4];
const SOLID = [1, 0];

export function lineChart(o: LineChartOptions): VegaLiteSpec {
  const rows = inlineRows('lineChart', o.rows, [o.x, o.y, o.color, o.strokeDash?.field, o.facet]);
  if (o.xScale === 'log' && rows.some((r) => !((r[o.x] as number) > 0))) {
    throw new InputError(`lineChart: log x scale needs positive "${o.x}" values`);
  }
  const xValues = (distinct(rows, o.x) as number[]).sort((a, b) => a - b);
  const encoding: Record<string, unknown> = {
    x: {
      field: field(o.x),
      type: 'quantitative',
      title: o.xTitle,
      // A nice log domain would pad 16..1024 out to 10..10000; the tested values make better ticks.
      scale: o.xScale === 'log' ? { type: 'log', nice: false, padding: 12 } : { zero: false, padding: 12 },
      axis: xValues.length <= 12 ? { values: xValues, ...fractionalFormat(xValues) } : {},
    },
    y: {
      field: field(o.y),
      type: 'quantitative',
      title: o.yTitle,
      scale: o.yDomain ? { domain: o.yDomain, clamp: true } : { zero: false, padding: 10 },
    },
  };
  if (o.color) {
    encoding.color = {
      field: field(o.color),
      type: 'nominal',
      title: o.colorTitle ?? o.color,
      // An explicit domain (first-seen order) equal to the dash scale's lets Vega-Lite merge the legends.
      scale: { domain: distinct(rows, o.color) },
      // With a dash channel the legend must draw lines, or solid and dashed series look alike.
      legend: o.strokeDash ? { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2.5 } : {},
    };
  }
  if (o.strokeDash) {
    const values = distinct(rows, o.strokeDash.field);
    const solid = new Set<unknown>(o.strokeDash.solid);
    encoding.strokeDash = {
      field: field(o.strokeDash.field),
      type: 'nominal',
      // Same field and title as the colour channel merges the two legends into one.
      title:
        o.strokeDash.title ??
        (o.strokeDash.field === o.color ? (o.colorTitle ?? o.color) : o.strokeDash.field),
      legend: { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2.5 },
      scale: { domain: values, range: values.map((v) => (solid.has(v) ? SOLID : DASHED)) },
    };
  }
  const width = o.width ?? (o.facet ? Math.round(WIDTH * 0.7) : WIDTH);
  const height = o.height ?? (o.facet ? Math.round(HEIGHT * 0.85) : HEIGHT);
  const unit = {
    width,
    height,
    // Clip only when the caller fixes the y range; otherwise the edge points must stay whole.
    mark: { type: 'line', point: true, clip: o.yDomain !== undefined },
    encoding,
  };
  const top = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle),
    data: { values: rows },
    config: baseConfig(),
  };
  if (!o.facet) return { ...top, ...unit } as VegaLiteSpec;
  return {
    ...top,
    facet: {
      field: field(o.facet),
      type: 'nominal',
      title: o.facetTitle ?? null,
      sort: distinct(rows, o.facet),
    },
    columns: o.columns ?? 3,
    spec: unit,
    resolve: { axis: { x: 'independent', y: 'independent' } },
  } as VegaLiteSpec;
}
