/**
 * One look for every figure: DejaVu Sans (the font the PNG rasteriser is given, so SVG and PNG agree),
 * sizes that stay readable when a figure is shrunk to a paper column, and colour-blind-safe colours.
 */
import type { Config } from 'vega-lite';
import { InputError } from '../util/errors';

export const FONT = 'DejaVu Sans';

/** Default plot area in pixels (one facet panel). */
export const WIDTH = 420;
export const HEIGHT = 280;

/** Okabe-Ito palette: distinguishable under common colour-vision deficiencies and in greyscale print. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

export function baseConfig(): Config {
  return {
    font: FONT,
    background: 'white',
    padding: 8,
    view: { stroke: '#888888' },
    title: {
      fontSize: 16,
      fontWeight: 'bold',
      subtitleFontSize: 12,
      subtitleColor: '#444444',
      anchor: 'start',
      offset: 10,
    },
    axis: {
      labelFontSize: 12,
      titleFontSize: 13,
      titleFontWeight: 'normal',
      titlePadding: 8,
      gridColor: '#e4e4e4',
      tickColor: '#555555',
      domainColor: '#555555',
      labelColor: '#222222',
      titleColor: '#222222',
    },
    legend: {
      labelFontSize: 12,
      titleFontSize: 13,
      titleFontWeight: 'normal',
      symbolSize: 120,
      symbolOpacity: 1,
      labelLimit: 260,
      titleLimit: 300,
    },
    header: { labelFontSize: 13, titleFontSize: 13, titleFontWeight: 'normal', labelFontWeight: 'bold' },
    range: { category: PALETTE },
    mark: { color: PALETTE[0] },
    line: { strokeWidth: 2 },
    point: { size: 45, filled: true },
  };
}

/**
 * A field reference safe for any column name: Vega-Lite reads `.` and `[` in a field as nested
 * access, which would silently plot nothing for a column such as `sigma.rel`.
 */
export function field(name: string): string {
  return name.replace(/([.[\]\\])/g, '\\$1');
}

/** Distinct values of a column in first-seen order: keeps legends in the order the study produced them. */
export function distinct(rows: readonly Record<string, unknown>[], name: string): unknown[] {
  const seen = new Set<unknown>();
  for (const r of rows) seen.add(r[name]);
  return [...seen];
}

export type Row = Record<string, unknown>;

/**
 * Copy rows for inlining into a spec (vega tags the objects it ingests, so the caller's must not be
 * handed over) after checking that every row has a value for each field a chart encodes.
 */
export function inlineRows(
  chart: string,
  rows: readonly object[],
  fields: readonly (string | undefined)[],
): Row[] {
  if (rows.length === 0) throw new InputError(`${chart}: no rows to plot`);
  const out = rows.map((r) => ({ ...(r as Row) }));
  for (const name of fields) {
    if (name === undefined) continue;
    const i = out.findIndex((r) => r[name] === undefined || r[name] === null);
    if (i !== -1) throw new InputError(`${chart}: row ${i} has no value for field "${name}"`);
  }
  return out;
}

/** A chart title with an optional caption-like subtitle. */
export function titleOf(title: string, subtitle?: string): { text: string; subtitle?: string } {
  return subtitle ? { text: title, subtitle } : { text: title };
}

/**
 * Axis labels for explicit tick values: Vega-Lite derives their format from the tick count, which
 * rounds fractional values (0.5 showed as "1"); where a value is fractional, print each as it is.
 */
export function fractionalFormat(values: readonly unknown[]): { format?: string } {
  return values.some((v) => typeof v === 'number' && !Number.isInteger(v)) ? { format: '~g' } : {};
}
