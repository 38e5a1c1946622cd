import { kruskalWallis, summarize, wilsonInterval } from '../src/util/stats';
import { InputError } from '../src/util/errors';

describe('summarize', () => {
  test('mean, sample std, median and t interval match a hand computation', () => {
    // Deviations from the mean 5 square to 9,1,1,1,0,0,4,16 = 32, so s^2 = 32/7.
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.n).toBe(8);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
    expect(s.median).toBe(4.5);
    // t(0.975, 7) = 2.364624 from the standard t table; half width = t * s / sqrt(8) = 1.78749.
    const half = (2.364624 * Math.sqrt(32 / 7)) / Math.sqrt(8);
    expect(s.ci95[0]).toBeCloseTo(5 - half, 5);
    expect(s.ci95[1]).toBeCloseTo(5 + half, 5);
  });

  test('interval for n = 2 uses t(0.975, 1) = 12.7062', () => {
    const s = summarize([1, 3]); // mean 2, s = sqrt(2), se = 1
    expect(s.ci95[0]).toBeCloseTo(2 - 12.7062, 3);
    expect(s.ci95[1]).toBeCloseTo(2 + 12.7062, 3);
  });

  test('bounds cut the interval to the range the values can take, and nothing else', () => {
    // Accuracies of 2 chips, 98 % and 100 %: mean 0.99, se 0.01, half-width 0.127062.
    const free = summarize([0.98, 1]);
    const cut = summarize([0.98, 1], [0, 1]);
    expect(free.ci95[1]).toBeCloseTo(0.99 + 0.127062, 5);
    expect(cut.ci95[0]).toBeCloseTo(0.99 - 0.127062, 5);
    expect(cut.ci95[1]).toBe(1);
    expect({ ...cut, ci95: free.ci95 }).toEqual(free);
    // An interval inside the bounds is left as it is.
    expect(summarize([0.5, 0.6, 0.55, 0.52], [0, 1]).ci95).toEqual(summarize([0.5, 0.6, 0.55, 0.52]).ci95);
  });

  test('odd count median is the middle value, whatever the input order', () => {
    expect(summarize([9, 1, 5]).median).toBe(5);
  });

  test('one value: zero std and a zero-width interval at the value', () => {
    expect(summarize([0.93])).toEqual({
      n: 1,
      mean: 0.93,
      std: 0,
      min: 0.93,
      max: 0.93,
      median: 0.93,
      ci95: [0.93, 0.93],
    });
  });

  test('all equal: zero std and zero width', () => {
    const s = summarize([0.5, 0.5, 0.5, 0.5]);
    expect(s.std).toBe(0);
    expect(s.ci95).toEqual([0.5, 0.5]);
  });

  test('bad input is an InputError', () => {
    expect(() => summarize([])).toThrow(InputError);
    expect(() => summarize([1, NaN])).toThrow(InputError);
    expect(() => summarize([1, Infinity])).toThrow(InputError);
  });
});

describe('kruskalWallis', () => {
  test('Hollander & Wolfe example from R ?kruskal.test: chi-squared = 0.77143, df = 2, p = 0.68', () => {
    const x = [2.9, 3.0, 2.5, 2.6, 3.2];
    const y = [3.8, 2.7, 4.0, 2.4];
    const z = [2.8, 3.4, 3.7, 2.2, 2.0];
    const r = kruskalWallis([x, y, z]);
    expect(r.statistic).toBeCloseTo(0.77143, 5);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(0.68, 2);
  });

  test('airquality Ozone by Month (R: chi-squared = 29.267, df = 4, p = 6.901e-06)', () => {
    // R's datasets::airquality, Ozone with NAs removed, grouped by Month 5..9 (116 values, many ties).
    const may = [
      41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37,
    ];
    const june = [29, 71, 39, 23, 21, 37, 20, 12, 13];
    const july = [
      135, 49, 32, 64, 40, 77, 97, 97, 85, 10, 27, 7, 48, 35, 61, 79, 63, 16, 80, 108, 20, 52, 82, 50, 64, 59,
    ];
    const aug = [
      39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84,
      85,
    ];
    const sep = [
      96, 78, 73, 91, 47, 32, 20, 23, 21, 24, 44, 21, 28, 9, 13, 46, 18, 13, 24, 16, 13, 23, 36, 7, 14, 30,
      14, 18, 20,
    ];
    expect(may.length + june.length + july.length + aug.length + sep.length).toBe(116);
    const r = kruskalWallis([may, june, july, aug, sep]);
    expect(r.statistic).toBeCloseTo(29.267, 3);
    expect(r.df).toBe(4);
    expect(r.pValue).toBeGreaterThan(6.9005e-6);
    expect(r.pValue).toBeLessThan(6.9015e-6);
  });

  test('ties by hand: average ranks and the tie correction', () => {
    // Pooled: 1 | 2 2 2 | 3 3 | 5 | 6 -> ranks 1 | 3 3 3 | 5.5 5.5 | 7 | 8.
    // R = (7, 8.5, 20.5), n = (3, 2, 3), N = 8: H = 12/72 * (49/3 + 72.25/2 + 420.25/3) - 27 = 733/144.
    // Tie groups of 3 and 2: C = 1 - (24 + 6) / (512 - 8) = 79/84, so H = 733/144 * 84/79 = 5131/948.
    const r = kruskalWallis([
      [1, 2, 2],
      [2, 3],
      [3, 5, 6],
    ]);
    expect(r.statistic).toBeCloseTo(5131 / 948, 12);
    expect(r.df).toBe(2);
    // Chi-square with 2 df has survival function exp(-x/2).
    expect(r.pValue).toBeCloseTo(Math.exp(-5131 / 948 / 2), 9);
  });

  test('identical groups give H = 0 and p = 1', () => {
    const r = kruskalWallis([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(r.statistic).toBeCloseTo(0, 12);
    expect(r.pValue).toBeCloseTo(1, 12);
  });

  test('every observation equal: statistic and p are NaN, as in R', () => {
    const r = kruskalWallis([
      [4, 4],
      [4, 4, 4],
    ]);
    expect(r.statistic).toBeNaN();
    expect(r.pValue).toBeNaN();
    expect(r.df).toBe(1);
  });

  test('bad input is an InputError', () => {
    expect(() => kruskalWallis([[1, 2]])).toThrow(InputError);
    expect(() => kruskalWallis([[1, 2], []])).toThrow(InputError);
    expect(() =>
      kruskalWallis([
        [1, 2],
        [3, NaN],
      ]),
    ).toThrow(InputError);
  });
});

describe('wilsonInterval', () => {
  test.each([
    [95, 100],
    [9690, 10000],
    [0, 50],
    [50, 50],
    [1, 3],
  ])('%i of %i: the endpoints solve (p^ - p)^2 = z^2 p (1 - p) / n and bracket p^', (k, n) => {
    const z = 1.959963984540054;
    const [lo, hi] = wilsonInterval(k, n);
    const ph = k / n;
    expect(lo).toBeLessThanOrEqual(ph);
    expect(hi).toBeGreaterThanOrEqual(ph);
    for (const p of [lo, hi]) expect((ph - p) ** 2).toBeCloseTo((z * z * p * (1 - p)) / n, 12);
  });
  test('bad counts are an error', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(/wilsonInterval/);
  });
});
