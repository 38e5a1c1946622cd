/**
 * Headless rendering: Vega-Lite -> Vega -> SVG (vega's View with no renderer, so no browser or canvas)
 * -> PNG rasterised by resvg with the DejaVu Sans files bundled in node_modules, so text renders the
 * same on a machine with no system fonts. Without a canvas, vega guesses text widths (0.8 em a
 * character), which leaves wide empty margins beside long titles; it measures them here with the same
 * DejaVu files (opentype.js), so the layout fits the text resvg draws.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as opentype from 'opentype.js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../util/files';
import {
  type OutputProvenance,
  pngWithProvenance,
  specWithProvenance,
  svgWithProvenance,
} from './provenance';
import { FONT } from './theme';

export type VegaLiteSpec = TopLevelSpec;

export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

export interface RenderOptions {
  /** PNG pixels per SVG pixel; 2 gives about 200 dpi at the figure's natural size. */
  scale?: number;
}

export interface WriteChartOptions extends RenderOptions {
  /** Stamped into the SVG, PNG and spec files (see ./provenance). */
  provenance?: OutputProvenance;
}

function fontFiles(): string[] {
  const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [
    'DejaVuSans.ttf',
    'DejaVuSans-Bold.ttf',
    'DejaVuSans-Oblique.ttf',
    'DejaVuSans-BoldOblique.ttf',
  ].map((f) => path.join(dir, f));
}

/** Regular and bold DejaVu Sans, parsed once, for vega's text measurement. */
let metricFonts: { regular: opentype.Font; bold: opentype.Font } | null = null;

function useFontMetrics(): void {
  if (metricFonts) return;
  const [regular, , bold] = fontFiles().map((f) => {
    const b = fs.readFileSync(f);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  });
  metricFonts = { regular: opentype.parse(regular), bold: opentype.parse(bold as ArrayBuffer) };
  const fonts = metricFonts;
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text?: string) => number } })
    .textMetrics;
  metrics.width = (item, text) => {
    const size = item.fontSize ?? 11;
    const value = String(text ?? item.text ?? '').trim();
    if (size <= 0 || value === '') return 0;
    const weight = item.fontWeight;
    const bold = weight === 'bold' || (typeof weight === 'number' && weight >= 600);
    return advanceWidth(bold ? fonts.bold : fonts.regular, value, size);
  };
}

/**
 * Sum of glyph advances with pair kerning. Glyph by glyph: opentype.js's own shaping stops at a lookup
 * type of DejaVu's (ccmp) it does not support, and the figures' text needs no shaping.
 */
function advanceWidth(font: opentype.Font, text: string, size: number): number {
  let units = 0;
  let previous: opentype.Glyph | null = null;
  for (const ch of text) {
    const glyph = font.charToGlyph(ch);
    units += glyph.advanceWidth ?? 0;
    if (previous) units += font.getKerningValue(previous, glyph);
    previous = glyph;
  }
  return (units * size) / font.unitsPerEm;
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  text?: unknown;
}

/**
 * Vega-Lite's warning when layers inside a facet with independent scales read forks of one data source:
 * it then assumes they are the same source, which is what every layered facet of ours is. Any other
 * message goes to vega's console logger as without this filter.
 */
const LAYERED_FACET_WARNING = 'Detected faceted independent scales that union domain of the same fields';

function compileLogger(): ReturnType<typeof vega.logger> {
  const base = vega.logger(vega.Warn);
  const warn = base.warn.bind(base);
  base.warn = (...args: readonly unknown[]) =>
    args.some((a) => typeof a === 'string' && a.startsWith(LAYERED_FACET_WARNING)) ? base : warn(...args);
  return base;
}

/** Render a Vega-Lite spec to SVG text and PNG bytes. */
export async function renderChart(spec: VegaLiteSpec, opts: RenderOptions = {}): Promise<RenderedChart> {
  const scale = opts.scale ?? 2;
  useFontMetrics();
  // vega tags the data objects it ingests, so it gets a copy; an ad-hoc spec without our theme
  // still gets the font the rasteriser has.
  const themed = structuredClone({ ...spec, config: { font: FONT, ...spec.config } }) as VegaLiteSpec;
  const view = new vega.View(vega.parse(compile(themed, { logger: compileLogger() }).spec), {
    renderer: 'none',
  });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const png = new Resvg(svg, {
    font: {
      fontFiles: fontFiles(),
      loadSystemFonts: false,
      defaultFontFamily: FONT,
      sansSerifFamily: FONT,
    },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  })
    .render()
    .asPng();
  return { svg, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) };
}

/**
 * Render and write `fileBase.svg` and `fileBase.png`, plus the spec with its data as
 * `fileBase.vl.json` so a figure can be restyled (Vega editor, Altair) without rerunning the study.
 * Each file is written atomically. Returns the three paths.
 */
export async function writeChart(
  spec: VegaLiteSpec,
  fileBase: string,
  opts: WriteChartOptions = {},
): Promise<string[]> {
  const { svg, png } = await renderChart(spec, opts);
  const prov = opts.provenance;
  const specJson = JSON.stringify(spec, null, 2) + '\n';
  writeFileAtomic(`${fileBase}.svg`, prov ? svgWithProvenance(svg, prov) : svg);
  writeFileAtomic(`${fileBase}.png`, prov ? pngWithProvenance(png, prov) : png);
  writeFileAtomic(`${fileBase}.vl.json`, prov ? specWithProvenance(specJson, prov) : specJson);
  return [`${fileBase}.svg`, `${fileBase}.png`, `${fileBase}.vl.json`];
}
