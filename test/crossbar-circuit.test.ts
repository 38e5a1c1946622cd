import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { circuitCardToJson, parseCircuitCard, withOverrides } from '../src/crossbar/circuit';
import { loadCircuitCard, shippedCircuitNames } from '../src/crossbar/loadCircuit';
import { InputError } from '../src/util/errors';

function card(): Record<string, unknown> {
  return {
    name: 'c',
    description: 'test circuit',
    tile: { rows: 64, cols: 32 },
    mapping: 'differential',
    dac: { bits: 4 },
    adc: { bits: 6, range: 'full-scale' },
    analogLayers: 'all',
  };
}

function errorOf(json: unknown): string {
  try {
    parseCircuitCard(json, 'circuits/bad.json');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('circuit cards', () => {
  test('shipped cards', () => {
    // Every card in circuits/ is listed and parses; the ones the docs and studies rely on are there.
    const names = shippedCircuitNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'tile128-adc8',
        'tile128-adc8-calibrated',
        'tile128-ideal',
        'tile128-offset-adc8',
      ]),
    );
    for (const n of names) expect(loadCircuitCard(n).name).toBe(n);
    expect(loadCircuitCard('tile128-adc8')).toEqual({
      name: 'tile128-adc8',
      description: expect.any(String),
      source: expect.objectContaining({ status: 'estimated' }),
      tile: { rows: 128, cols: 128 },
      mapping: 'differential',
      dac: { kind: 'bits', bits: 8 },
      adc: { kind: 'bits', bits: 8, range: { kind: 'full-scale' } },
      analogLayers: 'dense',
      columnsPerAdc: 1,
      adcOffsetSigmaLsb: 0,
      adcGainSigma: 0,
    });
    const ideal = loadCircuitCard('tile128-ideal');
    expect([ideal.dac, ideal.adc]).toEqual([
      { kind: 'ideal' },
      { kind: 'ideal', range: { kind: 'full-scale' } },
    ]);
    expect(loadCircuitCard('tile128-adc8-calibrated').adc.range).toEqual({
      kind: 'calibrated',
      percentile: 99.9,
    });
    const offset = loadCircuitCard('tile128-offset-adc8');
    expect([offset.mapping, offset.adc]).toEqual([
      'offset',
      { kind: 'bits', bits: 8, range: { kind: 'full-scale' } },
    ]);
  });

  test('defaults: 128 x 128 tile, full-scale range; binary DAC', () => {
    const json = card();
    delete json.tile;
    json.adc = { bits: 8 };
    json.dac = 'binary';
    const parsed = parseCircuitCard(json, 'x.json');
    expect(parsed.tile).toEqual({ rows: 128, cols: 128 });
    expect(parsed.adc).toEqual({ kind: 'bits', bits: 8, range: { kind: 'full-scale' } });
    expect(parsed.dac).toEqual({ kind: 'binary' });
  });

  test('JSON round trip', () => {
    for (const name of shippedCircuitNames()) {
      const parsed = loadCircuitCard(name);
      expect(parseCircuitCard(JSON.parse(JSON.stringify(circuitCardToJson(parsed))), name)).toEqual(parsed);
    }
  });

  test.each([
    [
      'unknown mapping',
      { mapping: 'foo' },
      /circuits\/bad\.json: field mapping must be one of differential, offset \(got "foo"\)/,
    ],
    ['DAC bits too high', { dac: { bits: 17 } }, /field dac\.bits must be <= 16/],
    [
      'DAC unknown word',
      { dac: 'analog' },
      /field dac must be \{ "bits": 1\.\.16 \}, "binary" or "ideal" \(got "analog"\)/,
    ],
    ['ADC bits zero', { adc: { bits: 0 } }, /field adc\.bits must be 1\.\.16 or "ideal" \(got 0\)/],
    ['ADC fractional bits', { adc: { bits: 7.5 } }, /field adc\.bits must be 1\.\.16 or "ideal"/],
    [
      'percentile too low',
      { adc: { bits: 8, range: { calibrated: 20 } } },
      /field adc\.range\.calibrated must be >= 50/,
    ],
    [
      'bad range word',
      { adc: { bits: 8, range: 'auto' } },
      /field adc\.range must be "full-scale" or \{ "calibrated": percentile 50\.\.100 \}/,
    ],
    ['unknown analogLayers', { analogLayers: 'conv' }, /field analogLayers must be one of dense, all/],
    ['tile too narrow', { tile: { rows: 8, cols: 1 } }, /field tile\.cols must be >= 2/],
    ['unknown field', { adcBits: 8 }, /field adcBits is not a known field/],
    [
      'negative wire resistance',
      { parasitics: { wireResistance: '-1 Ohm' } },
      /^circuits\/bad\.json: field parasitics\.wireResistance must be >= 0 \(got "-1 Ohm"\)$/,
    ],
    [
      'resistance with a wrong unit',
      { parasitics: { accessResistance: '2 kV' } },
      /field parasitics\.accessResistance "2 kV" has the wrong dimension; expected a resistance \(ohm\)/,
    ],
    [
      'resistance with an unknown unit',
      { parasitics: { senseResistance: '3 furlongs' } },
      /field parasitics\.senseResistance "3 furlongs" is not a valid unit string/,
    ],
    [
      'resistance without a unit',
      { parasitics: { driverResistance: '50' } },
      /field parasitics\.driverResistance "50" has no unit/,
    ],
    [
      'unknown drive side',
      { parasitics: { drive: 'right' } },
      /field parasitics\.drive must be one of left, both \(got "right"\)/,
    ],
    [
      'unknown sense side',
      { parasitics: { sense: 'top' } },
      /field parasitics\.sense must be one of bottom, both \(got "top"\)/,
    ],
    [
      'wire resistance given twice',
      { parasitics: { wireResistance: '1 Ohm', colWireResistance: '2 Ohm' } },
      /field parasitics\.colWireResistance cannot be given with parasitics\.wireResistance/,
    ],
    [
      'unknown parasitics field',
      { parasitics: { wordlineResistance: '1 Ohm' } },
      /field parasitics\.wordlineResistance is not a known field \(allowed here: wireResistance, rowWireResistance/,
    ],
  ])('%s', (_what, patch, pattern) => {
    expect(errorOf({ ...card(), ...patch })).toMatch(pattern);
  });

  test('parasitics: units to ohms, wireResistance sets both wires, defaults left and bottom', () => {
    const parsed = parseCircuitCard(
      {
        ...card(),
        parasitics: { wireResistance: '1.5 Ohm', accessResistance: '2 kOhm', senseResistance: 20 },
      },
      'p.json',
    );
    expect(parsed.parasitics).toEqual({
      rowWireOhms: 1.5,
      colWireOhms: 1.5,
      accessOhms: 2000,
      driverOhms: 0,
      senseOhms: 20,
      drive: 'left',
      sense: 'bottom',
    });
    expect(parseCircuitCard(card(), 'c.json').parasitics).toBeUndefined();
    const swept = withOverrides(parsed, { wireResistance: '0.5 Ohm', accessResistance: '1 kOhm' });
    expect(swept.parasitics).toMatchObject({
      rowWireOhms: 0.5,
      colWireOhms: 0.5,
      accessOhms: 1000,
      senseOhms: 20,
    });
    expect(() => withOverrides(parsed, { wireResistance: '-2 Ohm' })).toThrow(/must be >= 0/);
  });

  test('missing field', () => {
    const json = card();
    delete json.mapping;
    expect(errorOf(json)).toMatch(/circuits\/bad\.json: field mapping is required/);
  });

  test('withOverrides replaces settings, keeps the rest and validates', () => {
    const base = loadCircuitCard('tile128-adc8');
    const swept = withOverrides(base, {
      adcBits: 5,
      dacBits: 'binary',
      rows: 64,
      mapping: 'offset',
      adcRange: { kind: 'calibrated', percentile: 99 },
    });
    expect(swept).toEqual({
      ...base,
      tile: { rows: 64, cols: 128 },
      mapping: 'offset',
      dac: { kind: 'binary' },
      adc: { kind: 'bits', bits: 5, range: { kind: 'calibrated', percentile: 99 } },
    });
    expect(base.adc).toEqual({ kind: 'bits', bits: 8, range: { kind: 'full-scale' } }); // untouched
    expect(withOverrides(base, { adcBits: 'ideal', dacBits: 3, cols: 64 }).adc.kind).toBe('ideal');
    expect(withOverrides(base, { adcRange: { calibrated: 99.5 } }).adc.range).toEqual({
      kind: 'calibrated',
      percentile: 99.5,
    });
    expect(() => withOverrides(base, { adcBits: 40 })).toThrow(/field adc\.bits must be 1\.\.16 or "ideal"/);
    expect(() => withOverrides(base, { mapping: 'foo' as never })).toThrow(InputError);
  });

  test('loader: missing name lists shipped cards; paths load', () => {
    expect(() => loadCircuitCard('tile999')).toThrow(/circuit card "tile999" not found.*tile128-adc8/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-circuit-'));
    try {
      const file = path.join(dir, 'mine.json');
      fs.writeFileSync(file, JSON.stringify(card()));
      expect(loadCircuitCard(file).tile).toEqual({ rows: 64, cols: 32 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
