import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  boxPlot,
  cdfChart,
  errorBarChart,
  histogramWithDensity,
  lineChart,
  renderChart,
  VegaLiteSpec,
  writeChart,
} from '../src/report';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the PNG IHDR chunk (big-endian, bytes 16..23). */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const lineRows = [16, 64, 256].flatMap((hidden) =>
  ['2 levels', 'float'].flatMap((levels) =>
    ['MNIST', 'Fashion-MNIST'].map((dataset) => ({ hidden, levels, dataset, accuracy: 0.8 + hidden / 2000 })),
  ),
);

const charts: Array<[string, string, VegaLiteSpec]> = [
  [
    'lineChart',
    'Accuracy vs hidden units',
    lineChart({
      rows: lineRows,
      x: 'hidden',
      y: 'accuracy',
      color: 'levels',
      strokeDash: { field: 'levels', solid: ['float'] },
      facet: 'dataset',
      title: 'Accuracy vs hidden units',
      xTitle: 'hidden units',
      yTitle: 'test accuracy',
      xScale: 'log',
    }),
  ],
  [
    'errorBarChart (categorical)',
    'Accuracy per dataset',
    errorBarChart({
      rows: [
        { dataset: 'MNIST', network: 'MLP', mean: 0.95, std: 0.01 },
        { dataset: 'MNIST', network: 'CNN', mean: 0.97, std: 0.02 },
        { dataset: 'Fashion-MNIST', network: 'MLP', mean: 0.85, std: 0.01 },
        { dataset: 'Fashion-MNIST', network: 'CNN', mean: 0.88, std: 0.02 },
      ],
      x: 'dataset',
      group: 'network',
      title: 'Accuracy per dataset',
      xTitle: 'dataset',
      yTitle: 'test accuracy',
    }),
  ],
  [
    'errorBarChart (numeric, rule)',
    'Accuracy vs ADC bits',
    errorBarChart({
      rows: [2, 4, 6, 8].map((bits) => ({
        bits,
        mean: 1 - 1 / bits,
        lo: 1 - 1.2 / bits,
        hi: 1 - 0.8 / bits,
      })),
      x: 'bits',
      title: 'Accuracy vs ADC bits',
      xTitle: 'ADC resolution (bits)',
      yTitle: 'test accuracy',
      rules: [{ x: 6, label: 'lossless' }],
    }),
  ],
  [
    'boxPlot',
    'Synapses per network type',
    boxPlot({
      rows: [1e3, 2e3, 5e3, 1e4, 2e5, 3e5, 4e5].map((synapses, i) => ({
        network: i < 4 ? 'CNN' : 'MLP',
        synapses,
      })),
      group: 'network',
      value: 'synapses',
      title: 'Synapses per network type',
      yScale: 'log',
    }),
  ],
  [
    'histogramWithDensity',
    'Dense-layer inputs',
    histogramWithDensity({
      values: Array.from({ length: 400 }, (_, i) => -Math.log(1 - (i + 0.5) / 400)),
      density: Array.from({ length: 50 }, (_, i) => ({ x: i * 0.12, y: Math.exp(-i * 0.12) })),
      title: 'Dense-layer inputs',
      xTitle: 'input',
    }),
  ],
  [
    'cdfChart',
    'Device level CDFs',
    cdfChart({
      rows: [0, 1].flatMap((l) =>
        [1, 2, 3, 4].map((k) => ({ series: `level ${l}`, x: 10 * (l + 1) + k, cdf: k / 4 })),
      ),
      title: 'Device level CDFs',
      xTitle: 'conductance (µS)',
    }),
  ],
];

describe('renderChart', () => {
  test.each(charts)('%s renders to SVG with its title and to a PNG', async (_name, title, spec) => {
    const { svg, png } = await renderChart(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain(`>${title}<`);
    expect(svg).toContain('DejaVu Sans');
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(png.length).toBeGreaterThan(10_000);
    const { width, height } = pngSize(png);
    // Default scale 2: the PNG is twice the SVG's pixel size, and a real figure is a few hundred px.
    const svgWidth = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
    expect(width).toBe(Math.round(svgWidth * 2));
    expect(width).toBeGreaterThan(600);
    expect(height).toBeGreaterThan(400);
  });

  test('the builders do not change the rows they are given', () => {
    const rows = [{ x: 1, y: 2 }];
    const spec = lineChart({ rows, x: 'x', y: 'y', title: 't', xTitle: 'x', yTitle: 'y' });
    return renderChart(spec).then(() => expect(rows).toEqual([{ x: 1, y: 2 }]));
  });

  test('columns with dots in their names are plotted (not read as nested fields)', async () => {
    const rows = [
      { 'sigma.rel': 0.1, acc: 0.9 },
      { 'sigma.rel': 0.2, acc: 0.8 },
    ];
    const { svg } = await renderChart(
      lineChart({ rows, x: 'sigma.rel', y: 'acc', title: 't', xTitle: 'x', yTitle: 'y' }),
    );
    // Vega labels each point with its data for screen readers.
    expect(svg).toContain('aria-label="x: 0.1; y: 0.9"');
    expect(svg).toContain('aria-label="x: 0.2; y: 0.8"');
  });
});

describe('renderChart warnings', () => {
  const rows = ['a', 'b'].flatMap((panel) => ['p', 'q'].map((y) => ({ panel: panel + y, y, lo: 1, hi: 2 })));
  const layer = (field: string) => ({
    mark: 'point',
    encoding: { y: { field: 'y', type: 'nominal' }, x: { field, type: 'quantitative' } },
  });

  test("a layered facet with independent scales renders without Vega-Lite's same-source warning", async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const spec = {
        data: { values: rows },
        facet: { field: 'panel', type: 'nominal' },
        columns: 2,
        resolve: { scale: { y: 'independent' } },
        spec: { layer: [layer('lo'), layer('hi')] },
      } as unknown as VegaLiteSpec;
      const { svg } = await renderChart(spec);
      expect(svg).toContain('<svg');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  test('other Vega-Lite warnings still reach the console', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      // A theta channel on a point mark is dropped with a warning.
      const spec = {
        data: { values: rows },
        mark: 'point',
        encoding: { x: { field: 'lo', type: 'quantitative' }, theta: { field: 'hi', type: 'quantitative' } },
      } as unknown as VegaLiteSpec;
      await renderChart(spec);
      expect(warn).toHaveBeenCalled();
      expect(String(warn.mock.calls[0].join(' '))).toMatch(/theta dropped/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('writeChart', () => {
  test('writes fileBase.svg, .png and .vl.json and leaves no temporary files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-report-'));
    try {
      const spec = charts[2][2];
      await writeChart(spec, path.join(dir, 'figures', 'adc'));
      expect(fs.readdirSync(path.join(dir, 'figures')).sort()).toEqual(['adc.png', 'adc.svg', 'adc.vl.json']);
      const png = fs.readFileSync(path.join(dir, 'figures', 'adc.png'));
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(fs.readFileSync(path.join(dir, 'figures', 'adc.svg'), 'utf8')).toContain('Accuracy vs ADC bits');
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'figures', 'adc.vl.json'), 'utf8'))).toEqual(spec);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
