import { binValues, boxPlot, cdfChart, errorBarChart, histogramWithDensity, lineChart } from '../src/report';
import { field } from '../src/report/theme';
import { InputError } from '../src/util/errors';

/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read into Vega-Lite specs. */

describe('binValues', () => {
  test('equal-width bins with the maximum counted in the last bin', () => {
    expect(binValues([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], 5)).toEqual([
      { x0: 0, x1: 2, count: 2 },
      { x0: 2, x1: 4, count: 2 },
      { x0: 4, x1: 6, count: 2 },
      { x0: 6, x1: 8, count: 2 },
      { x0: 8, x1: 10, count: 2 },
    ]);
  });

  test('all values equal: one bin holding them all', () => {
    expect(binValues([3, 3, 3], 10)).toEqual([{ x0: 2.5, x1: 3.5, count: 3 }]);
  });
});

describe('histogramWithDensity', () => {
  test('the density is scaled by n x bin width to the histogram counts', () => {
    // 10 values uniform over [0, 10], 5 bins of width 2: each bin holds 2, and the uniform pdf 0.1
    // becomes 0.1 x 10 x 2 = 2 counts, the bar height.
    const spec = histogramWithDensity({
      values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10],
      density: [
        { x: 0, y: 0.1 },
        { x: 10, y: 0.1 },
      ],
      bins: 5,
      title: 'uniform',
    }) as any;
    const bars = spec.layer[0].data.values;
    const curve = spec.layer[1].data.values;
    expect(bars.map((b: any) => b.count)).toEqual([2, 2, 2, 2, 2]);
    expect(curve).toEqual([
      { x: 0, y: 2 },
      { x: 10, y: 2 },
    ]);
  });

  test('no values, non-finite values or a bad bin count are InputErrors', () => {
    const density = [{ x: 0, y: 1 }];
    expect(() => histogramWithDensity({ values: [], density, title: 't' })).toThrow(InputError);
    expect(() => histogramWithDensity({ values: [1, NaN], density, title: 't' })).toThrow(InputError);
    expect(() => histogramWithDensity({ values: [1, 2], density, title: 't', bins: 0 })).toThrow(InputError);
  });
});

describe('errorBarChart', () => {
  test('std rows are drawn from mean - std to mean + std; lo/hi rows as given', () => {
    const withStd = errorBarChart({
      rows: [{ d: 'A', mean: 0.9, std: 0.05 }],
      x: 'd',
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
    }) as any;
    const r = withStd.data.values[0];
    expect(r.__lo).toBeCloseTo(0.85, 12);
    expect(r.__hi).toBeCloseTo(0.95, 12);
    expect(withStd.title.subtitle).toMatch(/± 1 standard deviation/);
    const withCi = errorBarChart({
      rows: [{ v: 1, mean: 0.9, lo: 0.8, hi: 0.97 }],
      x: 'v',
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
    }) as any;
    expect(withCi.data.values[0]).toMatchObject({ __lo: 0.8, __hi: 0.97 });
    expect(withCi.title.subtitle).toMatch(/95 % confidence interval/);
  });

  test('numeric x is drawn as a band and line; rules add a labelled vertical line', () => {
    const spec = errorBarChart({
      rows: [1, 2].map((bits) => ({ bits, mean: 0.9, std: 0.01 })),
      x: 'bits',
      title: 't',
      xTitle: 'bits',
      yTitle: 'y',
      rules: [{ x: 8, label: 'lossless' }],
    }) as any;
    expect(spec.layer.map((l: any) => l.mark.type)).toEqual(['area', 'line', 'rule', 'text']);
    expect(spec.layer[2].data.values).toEqual([{ x: 8, label: 'lossless' }]);
  });

  test('categorical labels stay horizontal while they fit their band and tilt when they would overlap', () => {
    const chartOf = (labels: string[]) =>
      errorBarChart({
        rows: labels.map((d) => ({ d, mean: 0.9, std: 0.01 })),
        x: 'd',
        title: 't',
        xTitle: 'x',
        yTitle: 'y',
        width: 400,
      }) as any;
    // 6 bands of 67 px: "8 levels" (8 characters, about 56 px) fits; 8 bands of 50 px: "quantile:8" does not.
    const fits = chartOf(['float', ...[2, 3, 4, 5, 8].map((l) => `${l} levels`)]);
    expect(fits.layer[0].encoding.x.axis.labelAngle).toBe(0);
    const crowded = chartOf(['float', ...[2, 3, 4, 5, 6, 7, 8].map((l) => `quantile:${l}`)]);
    expect(crowded.layer[0].encoding.x.axis.labelAngle).toBeLessThan(0);
    expect(crowded.layer[0].encoding.x.axis.labelAlign).toBe('right');
  });

  test('missing spread fields, rules on a categorical x, or log of zero are InputErrors', () => {
    const base = { x: 'd', title: 't', xTitle: 'x', yTitle: 'y' };
    expect(() => errorBarChart({ ...base, rows: [{ d: 'A', mean: 1 }] })).toThrow(InputError);
    expect(() => errorBarChart({ ...base, rows: [{ d: 'A', mean: 1, lo: 0 }] })).toThrow(InputError);
    expect(() => errorBarChart({ ...base, rows: [{ mean: 1, std: 0 }] })).toThrow(/field "d"/);
    expect(() =>
      errorBarChart({ ...base, rows: [{ d: 'A', mean: 1, std: 0 }], rules: [{ x: 1, label: 'r' }] }),
    ).toThrow(InputError);
    expect(() => errorBarChart({ ...base, rows: [{ d: 0, mean: 1, std: 0 }], xScale: 'log' })).toThrow(
      InputError,
    );
  });
});

describe('lineChart', () => {
  test('the strokeDash field gives solid lines to the listed values and dashes to the rest', () => {
    const rows = ['2', '4', 'float'].map((levels) => ({ levels, h: 16, acc: 0.9 }));
    const spec = lineChart({
      rows,
      x: 'h',
      y: 'acc',
      color: 'levels',
      strokeDash: { field: 'levels', solid: ['float'] },
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
    }) as any;
    const dash = spec.encoding.strokeDash.scale;
    expect(dash.domain).toEqual(['2', '4', 'float']);
    expect(dash.range[2]).toEqual([1, 0]);
    expect(dash.range[0]).toEqual(dash.range[1]);
    expect(dash.range[0]).not.toEqual([1, 0]);
  });

  test('a facet field gives a wrapped facet of the same unit chart', () => {
    const rows = ['A', 'B'].map((d) => ({ d, h: 16, acc: 0.9 }));
    const spec = lineChart({
      rows,
      x: 'h',
      y: 'acc',
      facet: 'd',
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
    }) as any;
    expect(spec.facet.field).toBe('d');
    expect(spec.spec.mark.type).toBe('line');
  });

  test('field names with dots are escaped so Vega-Lite does not read them as nested access', () => {
    expect(field('sigma.rel')).toBe('sigma\\.rel');
    const spec = lineChart({
      rows: [{ 'sigma.rel': 0.1, acc: 0.9 }],
      x: 'sigma.rel',
      y: 'acc',
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
    }) as any;
    expect(spec.encoding.x.field).toBe('sigma\\.rel');
  });

  test('missing fields and non-positive values on a log axis are InputErrors', () => {
    const base = { x: 'h', y: 'acc', title: 't', xTitle: 'x', yTitle: 'y' };
    expect(() => lineChart({ ...base, rows: [] })).toThrow(InputError);
    expect(() => lineChart({ ...base, rows: [{ h: 1 }] })).toThrow(/field "acc"/);
    expect(() => lineChart({ ...base, rows: [{ h: 0, acc: 1 }], xScale: 'log' })).toThrow(InputError);
  });
});

describe('boxPlot and cdfChart', () => {
  test('boxPlot keeps groups in first-seen order and rejects non-positive values on a log axis', () => {
    const rows = [
      { net: 'MLP', n: 10 },
      { net: 'CNN', n: 5 },
    ];
    const spec = boxPlot({ rows, group: 'net', value: 'n', title: 't', yScale: 'log' }) as any;
    expect(spec.encoding.x.sort).toEqual(['MLP', 'CNN']);
    expect(spec.encoding.y.scale.type).toBe('log');
    expect(() =>
      boxPlot({ rows: [{ net: 'MLP', n: 0 }], group: 'net', value: 'n', title: 't', yScale: 'log' }),
    ).toThrow(InputError);
  });

  test('cdfChart draws steps in x order and rejects probabilities outside [0, 1]', () => {
    const spec = cdfChart({
      rows: [
        { series: 'a', x: 2, cdf: 1 },
        { series: 'a', x: 1, cdf: 0.5 },
      ],
      title: 't',
      xTitle: 'x',
    }) as any;
    expect(spec.mark.interpolate).toBe('step-after');
    expect(spec.data.values.map((r: any) => r.x)).toEqual([1, 2]);
    expect(() => cdfChart({ rows: [{ series: 'a', x: 1, cdf: 1.5 }], title: 't', xTitle: 'x' })).toThrow(
      InputError,
    );
  });
});
