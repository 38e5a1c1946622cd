import { levelCdfSeries, levelOverlap, levelTable } from '../src/device/analysis';
import { parseDeviceCard } from '../src/device/card';
import { loadDevice } from '../src/device/loadDevice';
import { resolveDevice } from '../src/device/model';
import { erfc, normalCdf, truncatedNormalMoments } from '../src/device/normal';
import { streamFor } from '../src/util/random';

describe('normal helpers', () => {
  test('erfc matches reference values (Python math.erfc) to 1e-14 relative, tails included', () => {
    const reference: Array<[number, number]> = [
      [0.1, 0.8875370839817152],
      [0.4, 0.5716076449533315],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047265],
      [3.9, 3.479224859723177e-8],
      [4.1, 6.700027654084918e-9],
      [6, 2.1519736712498916e-17],
      [10, 2.088487583762545e-45],
      [20, 5.3958656116079005e-176],
      [-1, 1.842700792949715],
      [-3, 1.9999779095030015],
    ];
    for (const [x, y] of reference) expect(Math.abs(erfc(x) / y - 1)).toBeLessThan(1e-14);
  });

  test('truncated-normal moments: no truncation far from the floor; half-normal at the mean', () => {
    expect(truncatedNormalMoments(10, 1, -50)).toEqual({ mean: 10, sd: 1 });
    // Truncated at the mean: E = mu + sigma sqrt(2/pi), Var = sigma^2 (1 - 2/pi).
    const half = truncatedNormalMoments(0, 2, 0);
    expect(half.mean).toBeCloseTo(2 * Math.sqrt(2 / Math.PI), 14);
    expect(half.sd).toBeCloseTo(2 * Math.sqrt(1 - 2 / Math.PI), 14);
  });
});

function twoLevelDevice(): ReturnType<typeof resolveDevice> {
  return resolveDevice(
    parseDeviceCard(
      {
        name: 'two',
        kind: 'multilevel',
        source: { citation: 'test', status: 'estimated' },
        vRead: '0.2 V',
        levels: [
          { mean: '100 uS', sigma: '10 uS' },
          { mean: '150 uS', sigma: '15 uS' },
        ],
      },
      'two.json',
    ),
  );
}

describe('level analysis', () => {
  test('overlap of two Gaussian levels equals the closed form', () => {
    const rows = levelOverlap(twoLevelDevice());
    // Midpoint 125 uS: level 0 crosses it with P(Z > 2.5), level 1 with P(Z < -25/15).
    const p0 = 0.006209665325776139; // 1 - Phi(2.5)
    const p1 = 0.0477903522728147; // Phi(-5/3)
    expect(rows).toHaveLength(2);
    expect(rows[0].pBelow).toBe(0);
    expect(rows[0].pAbove).toBeCloseTo(p0, 12);
    expect(rows[1].pBelow).toBeCloseTo(p1, 12);
    expect(rows[1].pAbove).toBe(0);
    expect(rows[1].pMisread).toBeCloseTo(p1, 12);
  });

  test('overlap agrees with a Monte-Carlo nearest-mean read-out on mispva-5 (lowest level truncated)', () => {
    const model = loadDevice('hfo2-1t1r-mispva-5');
    const rows = levelOverlap(model);
    const means = model.levels.map((l) => l.gMeanSiemens);
    const n = 50_000;
    const out = new Float32Array(n);
    model.levels.forEach((level, k) => {
      level.sample(streamFor(2, 'overlap', k), n, out, 0);
      let wrong = 0;
      for (const g of out) {
        let best = 0;
        for (let j = 1; j < means.length; j++)
          if (Math.abs(g - means[j]) < Math.abs(g - means[best])) best = j;
        if (best !== k) wrong++;
      }
      const p = rows[k].pMisread;
      expect(Math.abs(wrong / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-4);
    });
  });

  test('overlap of a lognormal pair equals the lognormal CDF closed form', () => {
    const model = resolveDevice(
      parseDeviceCard(
        {
          name: 'ln',
          kind: 'multilevel',
          source: { citation: 'test', status: 'estimated' },
          vRead: 0.2,
          levels: [
            { mean: 10e-6, sigmaLn: 0.3 },
            { mean: 30e-6, sigmaLn: 0.2 },
          ],
        },
        'ln.json',
      ),
    );
    const mid = 20e-6;
    const upper0 = 1 - normalCdf((Math.log(mid / 10e-6) + 0.045) / 0.3);
    const lower1 = normalCdf((Math.log(mid / 30e-6) + 0.02) / 0.2);
    const rows = levelOverlap(model);
    expect(rows[0].pAbove).toBeCloseTo(upper0, 14);
    expect(rows[1].pBelow).toBeCloseTo(lower1, 14);
  });

  test('level table: means, sigmas and read currents I = G vRead', () => {
    const table = levelTable(loadDevice('hfo2-1t1r-igvva-8'));
    expect(table).toHaveLength(9);
    table.slice(0, 8).forEach((row, k) => {
      expect(row.level).toBe(k);
      expect(row.gMeanSiemens).toBeCloseTo((50 + 25 * k) * 1e-6, 12);
      expect(row.iReadAmps).toBeCloseTo((50 + 25 * k) * 1e-6 * 0.2, 12);
    });
    expect(table[8].level).toBe('hrs');
    expect(table[8].gSigmaSiemens).toBeCloseTo(10e-6 * Math.sqrt(Math.exp(0.25) - 1), 12);
  });

  test('CDF series: points per level, monotone, in [0, 1], spanning most of the mass', () => {
    const model = loadDevice('binary-hfo2-1t1r');
    const series = levelCdfSeries(model, 50);
    expect(series).toHaveLength(100);
    for (const level of [0, 1]) {
      const rows = series.filter((r) => r.level === level);
      expect(rows).toHaveLength(50);
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i].gSiemens).toBeGreaterThan(rows[i - 1].gSiemens);
        expect(rows[i].cdf).toBeGreaterThanOrEqual(rows[i - 1].cdf);
      }
      expect(rows[0].cdf).toBeLessThan(1e-3);
      expect(rows[49].cdf).toBeGreaterThan(1 - 1e-3);
    }
    expect(() => levelCdfSeries(model, 1)).toThrow(RangeError);
  });
});
