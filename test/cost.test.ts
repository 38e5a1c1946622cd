/**
 * Cost of an inference (issue 26): technology cards, the three ADC energy models, and the per-stage
 * energy, area and latency formulas on hand-computed cases; then `xbarsim cost` and
 * `simulate --technology` end to end on the reference MLP.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stageActivity } from '../src/cost/activity';
import { rowConductanceSums, stageCost } from '../src/cost/inference';
import { loadTechnologyCard, shippedTechnologyNames } from '../src/cost/loadTechnology';
import {
  SOURCED_FIELDS,
  adcAreaSquareMeters,
  adcConversionSeconds,
  adcEnergyJoules,
  parseTechnologyCard,
} from '../src/cost/technology';
import { parseCircuitCard } from '../src/crossbar/circuit';
import type { AnalogStage } from '../src/sim/plan';
import { InputError } from '../src/util/errors';
import { paretoFront } from '../src/report/paretoChart';
import { cli, ROOT } from './cli-run';

const tech22 = () => loadTechnologyCard('cmos-22nm');

describe('technology cards', () => {
  test('the shipped cards parse, cite a source for every field, and differ by node', () => {
    expect(shippedTechnologyNames()).toEqual(['cmos-22nm', 'cmos-65nm']);
    for (const name of shippedTechnologyNames()) {
      const card = loadTechnologyCard(name);
      for (const field of SOURCED_FIELDS) expect(card.sources[field].length).toBeGreaterThan(30);
    }
    const [a, b] = shippedTechnologyNames().map(loadTechnologyCard);
    expect(a.featureSizeMeters).toBeCloseTo(22e-9, 20);
    expect(b.featureSizeMeters).toBeCloseTo(65e-9, 20);
    expect(a.adc.neurosimSar.powerPerBitWatts).toBeCloseTo(0.7213e-6, 12);
    expect(b.adc.neurosimSar.powerOffsetWatts).toBeCloseTo(22.047e-6, 12);
  });

  test('a bad field is one error naming it: unknown model, no unit, negative, a missing source', () => {
    /** The shipped card as JSON, for editing. */
    interface Loose {
      clock: unknown;
      adc: Record<string, unknown>;
      dac: Record<string, unknown>;
      array: Record<string, unknown>;
      sources: Record<string, string>;
    }
    const json = (): Loose =>
      JSON.parse(fs.readFileSync(path.join(ROOT, 'technology', 'cmos-22nm.json'), 'utf8'));
    const bad = (edit: (j: Loose) => void) => {
      const j = json();
      edit(j);
      return () => parseTechnologyCard(j, 't.json');
    };
    expect(bad((j) => (j.adc.model = 'flash'))).toThrow(
      /t\.json: field adc\.model must be one of neurosim-sar, walden, murmann/,
    );
    expect(bad((j) => (j.clock = '1'))).toThrow(/field clock "1" has no unit/);
    expect(bad((j) => (j.dac.energyPerBit = '-1 fJ'))).toThrow(/field dac\.energyPerBit must be > 0/);
    expect(bad((j) => (j.array.readTime = '10 V'))).toThrow(
      /array\.readTime .*wrong dimension; expected a time \(s\)/,
    );
    expect(bad((j) => delete j.sources['adc.walden'])).toThrow(/must cite a source for adc\.walden/);
    expect(bad((j) => (j.adc.extra = 1))).toThrow(InputError);
  });
});

describe('ADC models by hand', () => {
  test('energy per conversion under the three models, conversion time and area', () => {
    const t = tech22();
    // NeuroSim SAR, 22 nm: (0.7213 x 8 + 3.3041) uW for 9 cycles of 1 ns.
    expect(adcEnergyJoules(t, 8, 'neurosim-sar')).toBeCloseTo((0.7213e-6 * 8 + 3.3041e-6) * 9e-9, 24);
    expect(adcEnergyJoules(t, 8, 'walden')).toBeCloseTo(34.83e-15 * 256, 24);
    expect(adcEnergyJoules(t, 8, 'murmann')).toBeCloseTo(0.2672e-12 + 1.4456e-19 * 65536, 24);
    expect(adcEnergyJoules(t, 8)).toBe(adcEnergyJoules(t, 8, 'neurosim-sar'));
    // Walden doubles per bit; the survey envelope's thermal term quadruples; NeuroSim's grows about linearly.
    expect(adcEnergyJoules(t, 9, 'walden') / adcEnergyJoules(t, 8, 'walden')).toBeCloseTo(2, 12);
    expect(adcConversionSeconds(t, 6)).toBeCloseTo(7e-9, 20);
    expect(adcAreaSquareMeters(t, 8)).toBeCloseTo((478 + 182 * 7) * 212.8 * 22e-9 * 22e-9, 24);
  });
});

/** A dense stage: 3 rows x 2 weight columns, differential (4 physical columns), one 128 x 128 tile. */
function tinyStage(): AnalogStage {
  // Cell index = row * physCols + column. Levels: 0 -> 10 uS, 1 -> 30 uS.
  return {
    kind: 'analog',
    layerIndex: 0,
    layerName: 'd',
    rows: 3,
    cols: 2,
    outCols: 2,
    physCols: 4,
    mapping: 'differential',
    refColumnOf: null,
    refExactSiemens: null,
    weightPerSiemens: 1,
    rowTiles: [
      {
        rowStart: 0,
        rowEnd: 3,
        cellsByLevel: [Int32Array.of(0, 1, 4, 9, 10, 11), Int32Array.of(2, 3, 5, 6, 7, 8)],
        iFullAmps: new Float32Array(4),
      },
    ],
    dac: { kind: 'bits', bits: 4, xMax: 2 },
    adcBits: 6,
    bias: null,
    activation: 'linear',
    rmsWeightError: 0,
  } as AnalogStage;
}

describe('stage cost by hand', () => {
  const circuit = (cpa: number) =>
    parseCircuitCard(
      {
        name: 'c',
        description: 'test',
        mapping: 'differential',
        dac: { bits: 4 },
        adc: { bits: 6 },
        analogLayers: 'dense',
        columnsPerAdc: cpa,
      },
      'c.json',
    );

  test('activity: the share of driven rows and the mean squared drive, scaled by the DAC range', () => {
    // Two images; xMax = 2: inputs 1 -> 0.5, 4 -> 1 (clipped), 0 and negatives -> 0.
    const a = stageActivity(tinyStage(), Float32Array.of(1, 0, 4, 2, -1, 1), 2);
    expect([...a.meanSquare]).toEqual([(0.25 + 1) / 2, 0, (1 + 0.25) / 2]);
    expect([...a.active]).toEqual([1, 0, 1]);
  });

  test('energy, ADCs, area and latency of the tiny stage', () => {
    const t = tech22();
    const levels = [10e-6, 30e-6];
    const stage = tinyStage();
    expect([...rowConductanceSums(stage, levels)]).toEqual(
      [10e-6 + 10e-6 + 30e-6 + 30e-6, 10e-6 + 30e-6 + 30e-6 + 30e-6, 30e-6 + 10e-6 + 10e-6 + 10e-6].map((g) =>
        expect.closeTo(g, 18),
      ),
    );
    const activity = { meanSquare: Float64Array.of(0.5, 0, 0.25), active: Float64Array.of(0.5, 0, 1) };
    const c = stageCost(stage, activity, circuit(2), t, levels, 0.2, 'walden');
    expect([c.positions, c.rowTiles, c.colTiles, c.adcs]).toEqual([1, 1, 1, 2]);
    expect(c.conversionsPerImage).toBe(4);
    expect(c.energyJoules.adc).toBeCloseTo(4 * 34.83e-15 * 64, 24);
    // Driven rows per image: 0.5 + 0 + 1; 4 bits each.
    expect(c.energyJoules.dac).toBeCloseTo(1.5 * 4 * 0.7213e-15, 27);
    expect(c.energyJoules.array).toBeCloseTo((0.5 * 80e-6 + 0.25 * 60e-6) * 0.04 * 10e-9, 27);
    expect(c.addsPerImage).toBe(2 * 2 * 1);
    expect(c.energyJoules.digital).toBeCloseTo(4 * t.digital.addJoules, 27);
    // The same columns as two 1-bit slices of one output: one shift-and-add more.
    const sliced = { ...stage, outCols: 1, slicing: { slices: 2, bitsPerCell: 1 } };
    expect(stageCost(sliced, activity, circuit(2), t, levels, 0.2, 'walden').addsPerImage).toBe(
      2 * 2 * 1 + 1,
    );
    // Two columns per ADC: the row read, then two 6-bit conversions of 7 cycles.
    expect(c.latencySeconds).toBeCloseTo(10e-9 + 2 * 7e-9, 20);
    expect(c.adcAreaSquareMeters).toBeCloseTo(2 * adcAreaSquareMeters(t, 6), 24);
    expect(c.arrayAreaSquareMeters).toBeCloseTo(128 * 128 * 48 * 22e-9 * 22e-9, 24);
    // An ADC per column: twice the ADCs, the same energy, a shorter latency.
    const one = stageCost(stage, activity, circuit(1), t, levels, 0.2, 'walden');
    expect([one.adcs, one.energyJoules.adc]).toEqual([4, c.energyJoules.adc]);
    expect(one.latencySeconds).toBeCloseTo(10e-9 + 7e-9, 20);
  });
});

describe('Pareto front', () => {
  test('the non-dominated points, ties kept, by hand', () => {
    const pts = [
      { accuracy: 90, cost: 1 }, // front: cheapest at 90
      { accuracy: 95, cost: 2 }, // front
      { accuracy: 94, cost: 3 }, // dominated by (95, 2)
      { accuracy: 80, cost: 0.5 }, // front: cheapest of all
      { accuracy: 95, cost: 2 }, // a tie with (95, 2): neither dominates
      { accuracy: 96, cost: 9 }, // front: most accurate
    ];
    expect(paretoFront(pts)).toEqual([0, 1, 3, 4, 5]);
  });
});

describe('end to end', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cost-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const model = () => path.join(ROOT, 'models', 'reference-mlp');
  const base = () => [
    '--model',
    model(),
    '--device',
    'hfo2-1t1r-igvva-8',
    '--circuit',
    'tile128-adc8-calibrated',
  ];

  test('xbarsim cost prints the split; --json adds up; columns per ADC trade area for latency', async () => {
    const text = await cli(['cost', ...base(), '--technology', 'cmos-22nm', '--test-limit', '200']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\| ADC +\| .*J +\| .* % +\|/);
    expect(text.stdout).toMatch(/latency .*s per image; ADC area .* mm\^2/);
    const run = async (...extra: string[]) => {
      const r = await cli([
        'cost',
        ...base(),
        '--technology',
        'cmos-22nm',
        '--test-limit',
        '200',
        '--json',
        ...extra,
      ]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const one = await run();
    const e = one.cost.energyJoules;
    expect(e.total).toBeCloseTo(e.adc + e.dac + e.array + e.digital, 20);
    const conversions = one.cost.stages.reduce(
      (n: number, s: { conversionsPerImage: number }) => n + s.conversionsPerImage,
      0,
    );
    expect(e.adc).toBeCloseTo(conversions * adcEnergyJoules(tech22(), 8), 20);
    // 784 x 128 differential on 128 x 128 tiles: 7 x 2 tiles, 256 columns each row tile.
    expect(one.cost.stages[0]).toMatchObject({
      rowTiles: 7,
      colTiles: 2,
      adcs: 7 * 256,
      conversionsPerImage: 7 * 256,
    });
    expect(one.provenance['technology/cmos-22nm.json']).toMatch(/^[0-9a-f]{64}$/);
    const shared = await run('--columns-per-adc', '8');
    expect(shared.cost.stages[0].adcs).toBe((7 * 256) / 8);
    expect(shared.cost.energyJoules.adc).toBe(e.adc);
    expect(shared.cost.latencySeconds).toBeGreaterThan(one.cost.latencySeconds * 3);
    // Layer 2's 20 columns need ceil(20 / 8) = 3 ADCs.
    expect(shared.cost.adcAreaSquareMeters).toBeCloseTo((224 + 3) * adcAreaSquareMeters(tech22(), 8), 18);
    const walden = await run('--adc-model', 'walden');
    expect(walden.cost.energyJoules.adc).toBeCloseTo(conversions * 34.83e-15 * 256, 18);
    // Bit slicing from the command line: 3 slices, 3 times the columns and conversions.
    const sliced = await run('--weight-slices', '3', '--bits-per-cell', '2');
    expect(sliced.cost.stages[0].conversionsPerImage).toBe(3 * 7 * 256);
    const noBits = await cli(['cost', ...base(), '--technology', 'cmos-22nm', '--weight-slices', '2']);
    expect(noBits.code).toBe(2);
    expect(noBits.stderr).toMatch(/field bitsPerCell is required with weightSlices \(1\.\.8 bits per cell\)/);
    const tooMany = await cli(['cost', ...base(), '--technology', 'cmos-22nm', '--bits-per-cell', '9']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/flag --bits-per-cell/);
  }, 60_000);

  test('simulate --technology carries the cost in its JSON; bad technology flags exit 2', async () => {
    const r = await cli([
      'simulate',
      ...base(),
      '--technology',
      'cmos-65nm',
      '--trials',
      '1',
      '--test-limit',
      '100',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.cost).toMatchObject({ technology: 'cmos-65nm', adcModel: 'neurosim-sar', columnsPerAdc: 1 });
    expect(j.cost.energyJoules.total).toBeGreaterThan(0);
    expect(j.provenance['technology/cmos-65nm.json']).toMatch(/^[0-9a-f]{64}$/);
    const missing = await cli(['cost', ...base(), '--technology', 'cmos-3nm']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /technology card "cmos-3nm" not found.*shipped technology cards: cmos-22nm, cmos-65nm/,
    );
    const model = await cli(['cost', ...base(), '--technology', 'cmos-22nm', '--adc-model', 'flash']);
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/flag --adc-model: must be one of neurosim-sar, walden, murmann/);
    const none = await cli(['cost', ...base()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/flag --technology is required/);
  }, 60_000);

  test('adc-sizing costs every configuration at 1 and 8 columns per ADC and marks the Pareto front', async () => {
    const out = path.join(tmp, 'adc');
    const r = await cli([
      'study',
      'adc-sizing',
      '--quick',
      '--trials',
      '1',
      '--workers',
      '1',
      '--technology',
      'cmos-65nm',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const records = fs
      .readFileSync(path.join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // 5 resolutions x 2 ranges on the card's mapping, and 2 slices of 3 bits (igvva-8) at the calibrated range.
    expect(records).toHaveLength(15);
    for (const rec of records) {
      expect(rec.cost.map((c: { columnsPerAdc: number }) => c.columnsPerAdc)).toEqual([1, 8]);
      const [one, eight] = rec.cost;
      expect(eight.energyJoules).toEqual(one.energyJoules);
      expect(eight.adcAreaSquareMeters).toBeLessThan(one.adcAreaSquareMeters / 7);
      expect(eight.latencySeconds).toBeGreaterThan(one.latencySeconds);
      expect(one.technology).toBe('cmos-65nm');
    }
    // Two slices: twice the columns, so exactly twice the conversions and ADCs of one cell pair.
    const find = (range: string, bits: number, slicing?: string) =>
      records.find((x) => x.range === range && x.adcBits === bits && x.slicing === slicing);
    const sliced = find('calibrated p99.9', 7, '2x3');
    const unsliced = find('calibrated p99.9', 7);
    expect(sliced.quantize).toBe('none');
    expect(sliced.cost[0].energyJoules.adc / unsliced.cost[0].energyJoules.adc).toBeCloseTo(2, 12);
    expect(sliced.cost[0].adcAreaSquareMeters / unsliced.cost[0].adcAreaSquareMeters).toBeCloseTo(2, 12);
    // More ADC bits cost more energy on the same network.
    const energy = (range: string, bits: number) => find(range, bits).cost[0].energyJoules.total;
    expect(energy('full-scale', 11)).toBeGreaterThan(energy('full-scale', 3));
    const spec = JSON.parse(fs.readFileSync(path.join(out, 'adc-pareto.vl.json'), 'utf8'));
    expect(spec.hconcat).toHaveLength(2);
    const summary = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(summary).toMatch(/Pareto: energy \(first sharing\) \/ area/);
    // The most accurate design is on the energy front (nothing is more accurate).
    const best = records.reduce((a, b) => (b.mean > a.mean ? b : a));
    const weights = best.slicing === '2x3' ? '2 slices x 3 bits' : 'uniform:4, one cell pair';
    expect(summary).toMatch(
      new RegExp(
        `\\| ${weights}, ${best.range}, ${best.adcBits} bits, 1 col/ADC +\\| [^|]+\\|[^|]+\\|[^|]+\\|[^|]+\\| yes /`,
      ),
    );
  }, 120_000);
});
