/**
 * Means with their spread. Categorical x (dataset x network type): dots with error bars, groups side
 * by side. Numeric x (device variation, ADC bits): lines with a shaded interval band, and optional
 * labelled vertical rules (e.g. the lossless ADC resolution).
 */
import { InputError } from '../util/errors';
import type { VegaLiteSpec } from './render';
import {
  baseConfig,
  distinct,
  field,
  fractionalFormat,
  HEIGHT,
  inlineRows,
  PALETTE,
  Row,
  titleOf,
  WIDTH,
} from './theme';

export interface ErrorBarChartOptions {
  /** Each row has `mean` and either `std` (plotted as mean ± std) or `lo` and `hi` (plotted as given). */
  rows: readonly object[];
  x: string;
  /** Series field: colour, and side-by-side offset on a categorical x. */
  group?: string;
  /** Default: quantitative when every x value is a number. */
  xType?: 'nominal' | 'quantitative';
  title: string;
  /** Default says what the bars or band show, e.g. "error bars: mean ± 1 standard deviation". */
  subtitle?: string;
  /** What `lo`/`hi` are, for the default subtitle; default "95 % confidence interval of the mean". */
  intervalLabel?: string;
  xTitle: string;
  yTitle: string;
  groupTitle?: string;
  xScale?: 'log' | 'linear';
  yDomain?: [number, number];
  /** Vertical reference lines at x values (numeric x only). */
  rules?: ReadonlyArray<{ x: number; label: string }>;
  width?: number;
  height?: number;
}

// Private column names for the computed interval, unlikely to clash with a caller's fields.
const LO = '__lo';
const HI = '__hi';

const LINE_LEGEND = { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2.5 };

export function errorBarChart(o: ErrorBarChartOptions): VegaLiteSpec {
  const rows = inlineRows('errorBarChart', o.rows, [o.x, 'mean', o.group]);
  const useStd = rows.every((r) => typeof r.std === 'number');
  if (!useStd && !rows.every((r) => typeof r.lo === 'number' && typeof r.hi === 'number')) {
    throw new InputError('errorBarChart: every row needs a numeric "std", or numeric "lo" and "hi"');
  }
  for (const r of rows) {
    const mean = r.mean as number;
    r[LO] = useStd ? mean - (r.std as number) : r.lo;
    r[HI] = useStd ? mean + (r.std as number) : r.hi;
  }
  const numericX = rows.every((r) => typeof r[o.x] === 'number');
  const xType = o.xType ?? (numericX ? 'quantitative' : 'nominal');
  const what = useStd
    ? 'mean ± 1 standard deviation'
    : `mean with ${o.intervalLabel ?? '95 % confidence interval of the mean'}`;
  const top = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle ?? `${xType === 'nominal' ? 'error bars' : 'line and band'}: ${what}`),
    data: { values: rows },
    width: o.width ?? WIDTH,
    height: o.height ?? HEIGHT,
    config: baseConfig(),
  };
  const y = {
    type: 'quantitative',
    title: o.yTitle,
    scale: o.yDomain ? { domain: o.yDomain, clamp: true } : { zero: false, padding: 10 },
  };
  const color: Record<string, unknown> = o.group
    ? {
        field: field(o.group),
        type: 'nominal',
        title: o.groupTitle ?? o.group,
        scale: { domain: distinct(rows, o.group), range: PALETTE },
      }
    : { value: PALETTE[0] };
  if (xType === 'nominal') {
    if (o.rules?.length) throw new InputError('errorBarChart: rules need a numeric x');
    return { ...top, layer: categoricalLayers(o, rows, y, color) } as VegaLiteSpec;
  }
  if (!numericX) throw new InputError(`errorBarChart: x field "${o.x}" has non-numeric values`);
  if (o.xScale === 'log' && rows.some((r) => !((r[o.x] as number) > 0))) {
    throw new InputError(`errorBarChart: log x scale needs positive "${o.x}" values`);
  }
  const xValues = (distinct(rows, o.x) as number[]).sort((a, b) => a - b);
  const x = {
    field: field(o.x),
    type: 'quantitative',
    title: o.xTitle,
    scale:
      o.xScale === 'log'
        ? { type: 'log', nice: false, padding: 12 }
        : { zero: false, nice: false, padding: 12 },
    axis: xValues.length <= 12 ? { values: xValues, ...fractionalFormat(xValues) } : {},
  };
  const layers: object[] = [
    {
      mark: { type: 'area', opacity: 0.18, clip: true },
      encoding: { x, y: { ...y, field: LO }, y2: { field: HI }, ...bandFill(color) },
    },
    {
      mark: { type: 'line', point: true, clip: o.yDomain !== undefined },
      encoding: {
        x,
        y: { ...y, field: 'mean' },
        color: 'field' in color ? { ...color, legend: LINE_LEGEND } : color,
      },
    },
  ];
  if (o.rules?.length) layers.push(...ruleLayers(o.rules, o.xTitle));
  return { ...top, layer: layers } as VegaLiteSpec;
}

/**
 * The band is coloured through `fill` so that the merged legend can draw line symbols (from the line
 * layer's stroke) rather than pale band swatches. (`legend: null` here is no way out: Vega-Lite merges
 * legends with equal domains, and a disabled one disables them all.)
 */
function bandFill(color: Record<string, unknown>): Record<string, unknown> {
  if (!('field' in color)) return { fill: color };
  return { fill: { ...color, legend: LINE_LEGEND } };
}

/** Approximate width of one axis-label character at the theme's 12 px label font (DejaVu Sans). */
const LABEL_CHAR_PX = 7;

function categoricalLayers(o: ErrorBarChartOptions, rows: Row[], y: object, color: object): object[] {
  const categories = distinct(rows, o.x);
  // Horizontal labels unless the longest would run into its neighbours ("quantile:2quantile:3..."):
  // then tilted, anchored at their right end under their category.
  const band = (o.width ?? WIDTH) / categories.length;
  const longest = Math.max(...categories.map((c) => String(c).length));
  const axis =
    longest * LABEL_CHAR_PX > 0.9 * band ? { labelAngle: -35, labelAlign: 'right' } : { labelAngle: 0 };
  const x = {
    field: field(o.x),
    type: 'nominal',
    title: o.xTitle,
    sort: categories,
    axis,
    scale: { paddingInner: 0.3 },
  };
  const offset = o.group ? { xOffset: { field: field(o.group), sort: distinct(rows, o.group) } } : {};
  const enc = { x, color, ...offset };
  return [
    {
      mark: { type: 'rule', strokeWidth: 1.5, opacity: 1 },
      encoding: { ...enc, y: { ...y, field: LO }, y2: { field: HI } },
    },
    {
      mark: { type: 'tick', thickness: 1.5, size: 10, opacity: 1 },
      encoding: { ...enc, y: { ...y, field: LO } },
    },
    {
      mark: { type: 'tick', thickness: 1.5, size: 10, opacity: 1 },
      encoding: { ...enc, y: { ...y, field: HI } },
    },
    {
      mark: { type: 'point', filled: true, size: 70, opacity: 1 },
      encoding: { ...enc, y: { ...y, field: 'mean' } },
    },
  ];
}

function ruleLayers(rules: ReadonlyArray<{ x: number; label: string }>, xTitle: string): object[] {
  const data = { values: rules.map((r) => ({ x: r.x, label: r.label })) };
  // The same title as the main layers, or Vega-Lite would join both into "ADC bits, x".
  const x = { field: 'x', type: 'quantitative', title: xTitle };
  return [
    { data, mark: { type: 'rule', strokeDash: [5, 4], color: '#555555', strokeWidth: 1.5 }, encoding: { x } },
    {
      data,
      // Labels sit at the bottom: accuracy curves crowd the top of the plot where they saturate.
      mark: {
        type: 'text',
        align: 'left',
        baseline: 'bottom',
        dx: 5,
        dy: -6,
        fontSize: 12,
        color: '#333333',
      },
      encoding: { x, y: { value: { expr: 'height' } }, text: { field: 'label' } },
    },
  ];
}
