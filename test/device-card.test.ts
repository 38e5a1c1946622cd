import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  parseDeviceCard,
  withBinaryVariation,
  type BinaryCard,
  type MultilevelCard,
} from '../src/device/card';
import { loadDevice, loadDeviceCard, shippedDeviceNames } from '../src/device/loadDevice';
import { InputError } from '../src/util/errors';

const SHIPPED = [
  'binary-hfo2-1t1r',
  'binary-hp',
  'hfo2-1t1r-igvva-8',
  'hfo2-1t1r-interp-6',
  'hfo2-1t1r-interp-7',
  'hfo2-1t1r-mispva-2',
  'hfo2-1t1r-mispva-3',
  'hfo2-1t1r-mispva-4',
  'hfo2-1t1r-mispva-5',
];

function baseCard(): Record<string, unknown> {
  return {
    name: 'test-card',
    kind: 'multilevel',
    source: { citation: 'unit test', status: 'estimated' },
    vRead: '0.2 V',
    floor: '1 uS',
    levels: [
      { mean: '50 uS', sigma: '5 uS' },
      { mean: '100 uS', sigma: '5 uS' },
    ],
  };
}

/** The InputError message of parsing `card`. */
function errorOf(card: unknown): string {
  try {
    parseDeviceCard(card, 'cards/bad.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('device card parsing', () => {
  test('unit strings become SI numbers; currents become conductances via vRead', () => {
    const card = parseDeviceCard(
      {
        ...baseCard(),
        levels: [
          { mean: '2 uA', sigma: '1 uA' },
          { mean: '100 uS', sigma: 5e-6 },
        ],
      },
      'x.json',
    ) as MultilevelCard;
    expect(card.vRead).toBeCloseTo(0.2, 15);
    expect(card.floor).toBeCloseTo(1e-6, 18);
    // 2 uA / 0.2 V = 10 uS; 1 uA / 0.2 V = 5 uS.
    expect(card.levels[0]).toEqual({ mean: expect.closeTo(10e-6, 18), sigma: expect.closeTo(5e-6, 18) });
    expect(card.levels[1]).toEqual({ mean: expect.closeTo(100e-6, 18), sigma: 5e-6 });
  });

  test('resistances accept kOhm, Ohm and Ω spellings', () => {
    const card = parseDeviceCard(
      {
        name: 'b',
        kind: 'binary',
        source: { citation: 't', status: 'estimated' },
        vRead: 0.1,
        rOn: '5 kOhm',
        rOff: '0.1 MΩ',
        rFloor: '100 Ohm',
        variation: { distribution: 'lognormal', onSigma: 0.1, offSigma: 0.2 },
      },
      'b.json',
    ) as BinaryCard;
    expect(card.rOn).toBeCloseTo(5000, 9);
    expect(card.rOff).toBeCloseTo(100000, 6);
    expect(card.rFloor).toBeCloseTo(100, 9);
  });

  test('a normalised card parses to itself', () => {
    for (const name of SHIPPED) {
      const card = loadDeviceCard(name);
      expect(parseDeviceCard(JSON.parse(JSON.stringify(card)), name)).toEqual(card);
    }
  });

  test.each([
    [
      'negative sigma (number)',
      {
        levels: [
          { mean: '50 uS', sigma: -1e-6 },
          { mean: '100 uS', sigma: '5 uS' },
        ],
      },
      'levels[0].sigma',
      '>= 0',
    ],
    [
      'negative sigma (unit string)',
      {
        levels: [
          { mean: '50 uS', sigma: '-1 uS' },
          { mean: '100 uS', sigma: '5 uS' },
        ],
      },
      'levels[0].sigma',
      '>= 0',
    ],
    [
      'negative sigmaLn',
      {
        levels: [
          { mean: '50 uS', sigmaLn: -0.1 },
          { mean: '100 uS', sigma: '5 uS' },
        ],
      },
      'levels[0].sigmaLn',
      '>= 0',
    ],
    [
      'unsorted levels',
      {
        levels: [
          { mean: '100 uS', sigma: '5 uS' },
          { mean: '50 uS', sigma: '5 uS' },
        ],
      },
      'levels',
      'must be sorted by mean',
    ],
    [
      'missing level field',
      { levels: [{ mean: '50 uS' }, { mean: '100 uS', sigma: '5 uS' }] },
      'levels[0].sigma',
      'required',
    ],
    [
      'bad unit string',
      {
        levels: [
          { mean: '50 uS', sigma: '5 foo' },
          { mean: '100 uS', sigma: '5 uS' },
        ],
      },
      'levels[0].sigma',
      'not a valid unit',
    ],
    ['wrong dimension', { vRead: '0.2 A' }, 'vRead', 'wrong dimension'],
    ['unitless string', { floor: '1' }, 'floor', 'no unit'],
    ['unknown field', { flor: '1 uS' }, 'flor', 'not a known field'],
    [
      'bad status',
      { source: { citation: 'x', status: 'guessed' } },
      'source.status',
      'measured, fitted, interpolated, estimated',
    ],
    ['fault rates over 1', { faults: { stuckAtOn: 0.6, stuckAtOff: 0.5 } }, 'faults', 'must not exceed 1'],
    ['mean below floor', { floor: '60 uS' }, 'levels[0].mean', 'above floor'],
    ['one level', { levels: [{ mean: '50 uS', sigma: '5 uS' }] }, 'levels', 'fewer than 2'],
    [
      'empirical with one sample',
      { levels: [{ samples: ['1 uS'] }, { mean: '100 uS', sigma: '5 uS' }] },
      'levels[0].samples',
      'fewer than 2',
    ],
  ])('%s: error names the file and the field', (_what, patch, field, rule) => {
    const message = errorOf({ ...baseCard(), ...patch });
    expect(message).toContain('cards/bad.json');
    expect(message).toContain(`field ${field} `);
    expect(message).toContain(rule);
  });

  test('missing top-level field', () => {
    const card = baseCard();
    delete card.vRead;
    expect(errorOf(card)).toMatch(/cards\/bad\.json: field vRead is required/);
  });

  test('unknown kind lists the allowed kinds', () => {
    expect(errorOf({ ...baseCard(), kind: 'analog' })).toMatch(
      /cards\/bad\.json: field kind must be one of multilevel, binary \(got "analog"\)/,
    );
  });

  test('binary card rules: rOn below rOff, variation distribution enum', () => {
    const binary = {
      name: 'b',
      kind: 'binary',
      source: { citation: 't', status: 'estimated' },
      vRead: '0.2 V',
      rOn: '100 kOhm',
      rOff: '5 kOhm',
      variation: { distribution: 'gaussian', onSigma: 0.1, offSigma: 0.1 },
    };
    expect(errorOf(binary)).toContain('field rOn must be lower than rOff');
    expect(
      errorOf({ ...binary, rOn: '1 kOhm', variation: { distribution: 'uniform', onSigma: 0, offSigma: 0 } }),
    ).toContain('field variation.distribution must be one of gaussian, lognormal');
    expect(errorOf({ ...binary, rOn: '1 kOhm', rOff: '5 uS' })).toContain('field rOff');
  });

  test('withBinaryVariation sets both sigmas and keeps the rest', () => {
    const card = loadDeviceCard('binary-hfo2-1t1r') as BinaryCard;
    const varied = withBinaryVariation(card, 'lognormal', 0.3);
    expect(varied.variation).toEqual({ distribution: 'lognormal', onSigma: 0.3, offSigma: 0.3 });
    expect(varied.rOn).toBe(card.rOn);
    expect(card.variation.onSigma).toBe(0.1); // the original is untouched
    expect(() => withBinaryVariation(card, 'gaussian', 1.5)).toThrow(InputError);
  });
});

describe('shipped device cards', () => {
  test('the 6- and 7-level cards interpolate the measured 5- and 8-level cards linearly in the level count', () => {
    const targets = (name: string) => loadDevice(name).levels.map((l) => l.gNominalSiemens);
    const sigmas = (name: string) => loadDevice(name).levels.map((l) => l.gSigmaSiemens);
    const five = targets('hfo2-1t1r-mispva-5');
    const eight = targets('hfo2-1t1r-igvva-8');
    const step = (g: number[]) => (g[g.length - 1] - g[0]) / (g.length - 1);
    for (const L of [6, 7]) {
      const t = (L - 5) / 3;
      const g = targets(`hfo2-1t1r-interp-${L}`);
      const start = (1 - t) * five[0] + t * eight[0];
      const spacing = (1 - t) * step(five) + t * step(eight);
      g.forEach((gk, k) => expect(gk).toBeCloseTo(start + k * spacing, 9));
      // Sigma: the M-ISPVA cards' 1 uA at 0.2 V blended with the IGVVA fit 4.78 - 0.0091 G (uS).
      sigmas(`hfo2-1t1r-interp-${L}`).forEach((s, k) =>
        expect(s).toBeCloseTo((1 - t) * 5e-6 + t * (4.78 - 0.0091 * g[k] * 1e6) * 1e-6, 9),
      );
    }
  });

  test('all shipped cards are listed and load', () => {
    expect(shippedDeviceNames()).toEqual(SHIPPED);
    for (const name of SHIPPED) expect(loadDevice(name).name).toBe(name);
  });

  test('igvva-8: 8 levels 50..225 uS with sigma = 4.78 - 0.0091 G (uS)', () => {
    const card = loadDeviceCard('hfo2-1t1r-igvva-8') as MultilevelCard;
    expect(card.levels).toHaveLength(8);
    card.levels.forEach((level, k) => {
      const gUs = 50 + 25 * k;
      expect(level).toEqual({
        mean: expect.closeTo(gUs * 1e-6, 15),
        sigma: expect.closeTo((4.78 - 0.0091 * gUs) * 1e-6, 15),
      });
    });
    expect(card.vRead).toBeCloseTo(0.2, 15);
    expect(card.hrs?.mean).toBeCloseTo(10e-6, 15);
    expect(card.hrs?.sigmaLn).toBe(0.5);
  });

  test.each([2, 3, 4, 5])('mispva-%i: n levels linearly from 2 uA to 40 uA at 0.2 V', (n) => {
    const card = loadDeviceCard(`hfo2-1t1r-mispva-${n}`) as MultilevelCard;
    expect(card.source.status).toBe('estimated');
    expect(card.levels).toHaveLength(n);
    card.levels.forEach((level, k) => {
      const iAmps = (2 + (38 * k) / (n - 1)) * 1e-6;
      expect((level as { mean: number }).mean * card.vRead).toBeCloseTo(iAmps, 10);
      expect((level as { sigma: number }).sigma * card.vRead).toBeCloseTo(1e-6, 12);
    });
  });

  test('binary cards', () => {
    const hfo2 = loadDeviceCard('binary-hfo2-1t1r') as BinaryCard;
    expect([hfo2.rOn, hfo2.rOff]).toEqual([expect.closeTo(5e3, 6), expect.closeTo(1e5, 6)]);
    expect(hfo2.variation).toEqual({ distribution: 'gaussian', onSigma: 0.1, offSigma: 0.1 });
    const hp = loadDeviceCard('binary-hp') as BinaryCard;
    expect([hp.rOn, hp.rOff]).toEqual([expect.closeTo(100, 9), expect.closeTo(16e3, 6)]);
    expect(hp.source.citation).toContain('Strukov');
  });
});

describe('loadDeviceCard', () => {
  test('a missing bare name lists the shipped cards', () => {
    expect(() => loadDeviceCard('no-such-device')).toThrow(InputError);
    expect(() => loadDeviceCard('no-such-device')).toThrow(/no-such-device.*hfo2-1t1r-igvva-8/);
  });

  test('a path loads; bad JSON names the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-device-'));
    try {
      const good = path.join(dir, 'good.json');
      fs.writeFileSync(good, JSON.stringify(baseCard()));
      expect(loadDeviceCard(good).name).toBe('test-card');
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{ "name": ');
      expect(() => loadDeviceCard(bad)).toThrow(/bad\.json: not valid JSON/);
      const invalid = path.join(dir, 'invalid.json');
      fs.writeFileSync(invalid, JSON.stringify({ ...baseCard(), vRead: '-0.2 V' }));
      expect(() => loadDeviceCard(invalid)).toThrow(/invalid\.json: field vRead must be positive/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
