/**
 * Histogram of observed values with a fitted density drawn over it (e.g. dense-layer inputs with an
 * exponential fit). The density is scaled to counts (pdf x n x bin width), so both share one y axis.
 */
import { InputError } from '../util/errors';
import type { VegaLiteSpec } from './render';
import { baseConfig, HEIGHT, titleOf, WIDTH } from './theme';

export interface HistogramOptions {
  values: readonly number[];
  /** Probability density of the fitted distribution, sampled at increasing x. */
  density: ReadonlyArray<{ x: number; y: number }>;
  title: string;
  subtitle?: string;
  xTitle?: string;
  yTitle?: string;
  /** Number of equal-width bins; default sqrt(n) clamped to [10, 60]. */
  bins?: number;
  histogramLabel?: string;
  densityLabel?: string;
  width?: number;
  height?: number;
}

export interface Bin {
  x0: number;
  x1: number;
  count: number;
}

/** Equal-width bins over [min, max]; the last bin is closed so the maximum is counted. */
export function binValues(values: readonly number[], bins: number): Bin[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // All values equal: one unit-wide bin centred on them rather than a zero-width one.
  if (min === max) return [{ x0: min - 0.5, x1: max + 0.5, count: values.length }];
  const width = (max - min) / bins;
  const out: Bin[] = Array.from({ length: bins }, (_, i) => ({
    x0: min + i * width,
    x1: min + (i + 1) * width,
    count: 0,
  }));
  out[bins - 1].x1 = max;
  for (const v of values) out[Math.min(bins - 1, Math.floor((v - min) / width))].count++;
  return out;
}

export function histogramWithDensity(o: HistogramOptions): VegaLiteSpec {
  const n = o.values.length;
  if (n === 0) throw new InputError('histogramWithDensity: no values');
  if (o.values.some((v) => !Number.isFinite(v)))
    throw new InputError('histogramWithDensity: values must be finite');
  if (o.density.some((p) => !Number.isFinite(p.x) || !Number.isFinite(p.y))) {
    throw new InputError('histogramWithDensity: density points must be finite');
  }
  const binCount = o.bins ?? Math.min(60, Math.max(10, Math.ceil(Math.sqrt(n))));
  if (!Number.isInteger(binCount) || binCount < 1)
    throw new InputError(`histogramWithDensity: bins must be a positive integer, got ${o.bins}`);
  const bins = binValues(o.values, binCount);
  const binWidth = bins[0].x1 - bins[0].x0;
  const histLabel = o.histogramLabel ?? `observed (n = ${n})`;
  const densLabel = o.densityLabel ?? 'fitted density';
  const curve = o.density.map((p) => ({ x: p.x, y: p.y * n * binWidth }));
  const xTitle = o.xTitle ?? 'value';
  const color = { scale: { domain: [histLabel, densLabel], range: ['#8fb8de', '#D55E00'] }, title: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf(o.title, o.subtitle),
    width: o.width ?? WIDTH,
    height: o.height ?? HEIGHT,
    config: baseConfig(),
    layer: [
      {
        data: { values: bins },
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: xTitle },
          x2: { field: 'x1' },
          y: { field: 'count', type: 'quantitative', title: o.yTitle ?? 'count' },
          y2: { datum: 0 },
          color: { ...color, datum: histLabel },
        },
      },
      {
        data: { values: curve },
        mark: { type: 'line', strokeWidth: 2.5, clip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: xTitle },
          y: { field: 'y', type: 'quantitative', title: o.yTitle ?? 'count' },
          color: { ...color, datum: densLabel },
        },
      },
    ],
  } as VegaLiteSpec;
}
