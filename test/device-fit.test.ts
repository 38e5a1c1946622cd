import { parseDeviceCard, type EmpiricalLevelSpec, type GaussianLevelSpec } from '../src/device/card';
import { fitDeviceCard } from '../src/device/fit';
import { loadDevice } from '../src/device/loadDevice';
import { resolveDevice } from '../src/device/model';
import { InputError } from '../src/util/errors';
import { streamFor } from '../src/util/random';

/** Synthetic measurements: `perLevel` reads of each igvva-8 level, as read currents at 0.2 V. */
function measurements(perLevel: number): { csv: string; byLevel: number[][] } {
  const model = loadDevice('hfo2-1t1r-igvva-8');
  const lines = ['level,current'];
  const byLevel: number[][] = [];
  const out = new Float32Array(perLevel);
  // Write levels in a scrambled order: the fit must sort them by mean.
  for (const k of [3, 0, 7, 1, 6, 2, 5, 4]) {
    model.levels[k].sample(streamFor(12, 'fit', k), perLevel, out, 0);
    byLevel[k] = [];
    out.forEach((g, i) => {
      const iAmps = g * 0.2;
      byLevel[k].push(iAmps / 0.2);
      // Alternate plain SI numbers and unit strings.
      lines.push(i % 2 === 0 ? `L${k},${iAmps}` : `L${k},${iAmps * 1e6} uA`);
    });
  }
  return { csv: lines.join('\n') + '\n', byLevel };
}

describe('fitDeviceCard', () => {
  test('Gaussian fit: per-level sample mean and n-1 sigma, sorted by mean; round-trips through the parser', () => {
    const { csv, byLevel } = measurements(200);
    const card = fitDeviceCard(csv, { name: 'fitted-igvva', vRead: '0.2 V', source: 'synthetic data' });
    expect(card.kind).toBe('multilevel');
    expect(card.source).toEqual({ citation: 'synthetic data', status: 'fitted' });
    expect(card.levels).toHaveLength(8);
    card.levels.forEach((spec, k) => {
      const xs = byLevel[k];
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
      const level = spec as GaussianLevelSpec;
      expect(level.mean / mean).toBeCloseTo(1, 9);
      expect(level.sigma / sd).toBeCloseTo(1, 6);
      // And the fit recovers the generating device within sampling error (SE of the mean ~ sigma/14).
      expect(Math.abs(level.mean - (50 + 25 * k) * 1e-6)).toBeLessThan(
        0.3 * (4.78 - 0.0091 * (50 + 25 * k)) * 1e-6,
      );
    });
    expect(card.description).toContain('L0, L1, L2, L3, L4, L5, L6, L7');
    const reparsed = parseDeviceCard(JSON.parse(JSON.stringify(card)), 'written.json');
    expect(reparsed).toEqual(card);
    expect(resolveDevice(reparsed).levels).toHaveLength(8);
  });

  test('empirical fit keeps the samples (sorted) and conductance columns need no vRead conversion', () => {
    const csv = [
      '# measured at 0.1 V',
      'level;conductance',
      'a;20 uS',
      'a;10e-6',
      'b;"50 uS"',
      'b;40e-6',
      'a;15 uS',
      '',
    ].join('\n');
    const card = fitDeviceCard(csv, { name: 'emp', vRead: 0.1, empirical: true, source: 'lab' });
    expect(card.source.status).toBe('measured');
    const [a, b] = card.levels as EmpiricalLevelSpec[];
    expect(a.samples).toEqual([
      expect.closeTo(10e-6, 18),
      expect.closeTo(15e-6, 18),
      expect.closeTo(20e-6, 18),
    ]);
    expect(b.samples).toEqual([expect.closeTo(40e-6, 18), expect.closeTo(50e-6, 18)]);
  });

  test.each([
    ['bad value', 'level,current\n0,1e-6\n0,abc\n1,5e-6\n1,6e-6', /CSV line 3: field current "abc"/],
    [
      'wrong unit',
      'level,current\n0,1e-6\n0,2 uS\n1,5e-6\n1,6e-6',
      /CSV line 3: field current "2 uS" has the wrong dimension/,
    ],
    [
      'negative',
      'level,conductance\n0,1e-6\n0,-2e-6\n1,5e-6\n1,6e-6',
      /CSV line 3: field conductance must be >= 0/,
    ],
    ['short row', 'level,current\n0,1e-6\n0\n1,5e-6', /CSV line 3: has 1 cells/],
    ['no level column', 'lvl,current\n0,1e-6', /CSV line 1: header needs a "level" column/],
    ['both value columns', 'level,current,conductance\n0,1,1', /exactly one of the columns/],
    ['single reading', 'level,current\n0,1e-6\n1,5e-6\n1,6e-6', /level "0" has 1 measurement/],
    ['one level', 'level,current\n0,1e-6\n0,2e-6', /at least 2 levels/],
    ['empty', '\n\n', /empty file/],
  ])('bad CSV (%s) throws InputError naming the line or rule', (_what, csv, pattern) => {
    expect(() => fitDeviceCard(csv, { name: 'x', vRead: '0.2 V', source: 's' })).toThrow(InputError);
    expect(() => fitDeviceCard(csv, { name: 'x', vRead: '0.2 V', source: 's' })).toThrow(pattern);
  });
});

describe('plausibility warnings', () => {
  const warningsOf = (csv: string): string[] => {
    const warnings: string[] = [];
    fitDeviceCard(csv, {
      name: 'w',
      vRead: '0.2 V',
      source: 'test',
      csvLabel: 'm.csv',
      warn: (m) => warnings.push(m),
    });
    return warnings;
  };
  test('unit-less values and implausible level means are warned about, naming the value', () => {
    expect(warningsOf('level,current\nA,1e-6\nA,1.2e-6\nB,5 uA\nB,5.5 uA\n')).toEqual([
      'm.csv: 2 current values have no unit and were read in A (first at m.csv line 2: 1e-6); write e.g. "12.5 uA" to be explicit',
    ]);
    // Currents of 5 and 6 A at 0.2 V: 25-30 S, a unit mistake.
    expect(warningsOf('level,current\nA,1 uA\nA,1.2 uA\nB,5 A\nB,6 A\n')).toEqual([
      'm.csv: level "B" has a mean conductance of 2.750e+1 S, outside the plausible 1 nS .. 10 mS (a unit mistake?)',
    ]);
    expect(warningsOf('level,current\nA,1 uA\nA,1.2 uA\nB,5 uA\nB,6 uA\n')).toEqual([]);
  });
});
