/**
 * Headless rendering: Vega-Lite -> Vega -> SVG (vega's View with no renderer, so no browser or canvas)
 * -> PNG rasterised by resvg with the DejaVu Sans files bundled in node_modules, so text renders the
 * same on a machine with no system fonts.
 */
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../util/files';
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

function fontFiles(): string[] {
  const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [
    'DejaVuSans.ttf',
    'DejaVuSans-Bold.ttf',
    'DejaVuSans-Oblique.ttf',
    'DejaVuSans-BoldOblique.ttf',
  ].map((f) => path.join(dir, f));
}

/** Render a Vega-Lite spec to SVG text and PNG bytes. */
export async function renderChart(spec: VegaLiteSpec, opts: RenderOptions = {}): Promise<RenderedChart> {
  const scale = opts.scale ?? 2;
  // vega tags the data objects it ingests, so it gets a copy; an ad-hoc spec without our theme
  // still gets the font the rasteriser has.
  const themed = structuredClone({ ...spec, config: { font: FONT, ...spec.config } }) as VegaLiteSpec;
  const view = new vega.View(vega.parse(compile(themed).spec), { renderer: 'none' });
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
 * Each file is written atomically.
 */
export async function writeChart(
  spec: VegaLiteSpec,
  fileBase: string,
  opts: RenderOptions = {},
): Promise<void> {
  const { svg, png } = await renderChart(spec, opts);
  writeFileAtomic(`${fileBase}.svg`, svg);
  writeFileAtomic(`${fileBase}.png`, png);
  writeFileAtomic(`${fileBase}.vl.json`, JSON.stringify(spec, null, 2) + '\n');
}
