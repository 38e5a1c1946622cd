/**
 * Study quantized-mlp-cnn: the grid of the protocol, the cards it uses, and the report (tables, the
 * Kruskal-Wallis test against R's kruskal.test, CSV, figures) on hand-made records.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCircuitCard } from '../src/crossbar/loadCircuit';
import { loadDeviceCard } from '../src/device/loadDevice';
import { quantizedMlpCnnStudy } from '../src/study/studies/quantizedMlpCnn';
import {
  deviceForLevels,
  netShape,
  QMC_CIRCUIT,
  QMC_PLANS,
  type QmcRecord,
} from '../src/study/studies/quantizedMlpCnnGrid';
import {
  csvRows,
  kruskalRows,
  lineRows,
  meanAccuracyRows,
  panelFigures,
  reportQuantizedMlpCnn,
} from '../src/study/studies/quantizedMlpCnnReport';
import type { StudyContext } from '../src/study/types';

const ctxFor = (mode: 'quick' | 'full') => ({ mode }) as unknown as StudyContext;

describe('grid', () => {
  test('full: every (dataset, net) of the protocol once: 2 x (4 x 5 MLPs + 2 x 3 x 3 x 5 CNNs)', () => {
    const keys = quantizedMlpCnnStudy.configurations(ctxFor('full')).map((c) => c.key);
    expect(keys).toHaveLength(2 * (20 + 90));
    expect(new Set(keys).size).toBe(keys.length);
    for (const dataset of ['mnist', 'fashion-mnist']) {
      const shapes = keys
        .filter((k) => k.startsWith(`${dataset}/`))
        .map((k) => netShape(k.slice(dataset.length + 1)));
      const mlp = shapes.filter((s) => s.netType === 'MLP').map((s) => `${s.hiddenLayers}x${s.hiddenUnits}`);
      const cnn = shapes
        .filter((s) => s.netType === 'CNN')
        .map((s) => `${s.blocks}/${s.filters}/${s.pool}/${s.hiddenUnits}`);
      const expectedMlp: string[] = [];
      for (const l of [1, 2, 3, 4]) for (const u of [8, 16, 32, 64, 128]) expectedMlp.push(`${l}x${u}`);
      const expectedCnn: string[] = [];
      for (const b of [1, 2])
        for (const f of [8, 16, 32])
          for (const p of [2, 3, 4])
            for (const h of [8, 16, 32, 64, 128]) expectedCnn.push(`${b}/${f}/${p}/${h}`);
      expect(mlp.sort()).toEqual(expectedMlp.sort());
      expect(cnn.sort()).toEqual(expectedCnn.sort());
    }
    expect(QMC_PLANS.full.epochs).toBe(30);
    expect(quantizedMlpCnnStudy.data.full).toEqual({});
  });

  test('architecture strings follow the grammar; the deepest CNN still fits 28 x 28', () => {
    expect(netShape('mlp:32x3')).toEqual({
      netType: 'MLP',
      hiddenLayers: 3,
      hiddenUnits: 32,
      blocks: 0,
      filters: 0,
      pool: 0,
    });
    // 28 -conv3-> 26 -pool4-> 6 -conv3-> 4 -pool4-> 1.
    expect(netShape('cnn:c32p4-c32p4:h128')).toEqual({
      netType: 'CNN',
      hiddenLayers: 1,
      hiddenUnits: 128,
      blocks: 2,
      filters: 32,
      pool: 4,
    });
    expect(() => netShape('mlp:32-64')).toThrow(/equal hidden layers/);
  });

  test('quick: a subset of the full grid on both datasets, on image subsets, few epochs', () => {
    const full = new Set(quantizedMlpCnnStudy.configurations(ctxFor('full')).map((c) => c.key));
    const quick = quantizedMlpCnnStudy.configurations(ctxFor('quick')).map((c) => c.key);
    expect(quick.length).toBeGreaterThanOrEqual(8);
    for (const k of quick) expect(full.has(k)).toBe(true);
    expect(new Set(quick.map((k) => k.split('/')[0]))).toEqual(new Set(['mnist', 'fashion-mnist']));
    const types = quick.map((k) => netShape(k.split('/')[1]).netType);
    expect(types.filter((t) => t === 'MLP').length).toBeGreaterThanOrEqual(2);
    expect(types.filter((t) => t === 'CNN').length).toBeGreaterThanOrEqual(2);
    expect(QMC_PLANS.quick.epochs).toBeLessThanOrEqual(3);
    expect(quantizedMlpCnnStudy.data.quick.trainLimit).toBeLessThanOrEqual(10000);
  });

  test('the L-level card has L levels; the circuit maps one cell per weight in every layer', () => {
    for (const levels of [2, 3, 4, 5, 6, 7, 8]) {
      const card = loadDeviceCard(deviceForLevels(levels));
      expect(card.kind === 'multilevel' && card.levels.length).toBe(levels);
    }
    expect(() => deviceForLevels(9)).toThrow(/have 2\.\.8/);
    expect(QMC_PLANS.full.deviceLevels).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const circuit = loadCircuitCard(QMC_CIRCUIT);
    expect(circuit.mapping).toBe('offset');
    expect(circuit.analogLayers).toBe('all');
  });
});

/** A hand-made record: digital and chip accuracies fall 1 point per missing level below 9. */
function record(dataset: string, arch: string, floatTest: number): QmcRecord {
  const shape = netShape(arch);
  return {
    dataset,
    arch,
    ...shape,
    scale: 'quick',
    epochs: 2,
    trainImages: 5000,
    testImages: 1000,
    synapses: shape.netType === 'MLP' ? 1000 * shape.hiddenUnits : 100 * shape.hiddenUnits,
    floatTrainAccuracy: floatTest + 0.01,
    floatTestAccuracy: floatTest,
    digital: [2, 3, 4, 5, 6, 7, 8].map((levels) => ({ levels, accuracy: floatTest - (9 - levels) / 100 })),
    circuit: QMC_CIRCUIT,
    crossbar: [2, 3, 4, 5, 8].map((levels) => {
      const mean = floatTest - (9 - levels) / 50;
      return {
        levels,
        device: deviceForLevels(levels),
        quantize: `quantile:${levels}`,
        quantizedAccuracy: floatTest - (9 - levels) / 100,
        nominalAccuracy: mean,
        mean,
        std: 0.01,
        ci95: [mean - 0.02, mean + 0.02] as [number, number],
        min: mean - 0.01,
        max: mean + 0.01,
        trials: 2,
        perTrial: [mean - 0.005, mean + 0.005],
        clipRate: [0, 0],
        rmsWeightError: [0.01, 0.02],
        seconds: 1,
      };
    }),
    seconds: 10,
  };
}

// MNIST: MLPs 91, 92, 93 % below CNNs 94, 95, 96 % (ranks 1-3 vs 4-6). Fashion: MLPs 80, 85 %,
// CNNs 82, 84, 86 % (ranks 1, 4 vs 2, 3, 5).
const RECORDS: QmcRecord[] = [
  record('mnist', 'mlp:16x1', 0.91),
  record('mnist', 'mlp:64x1', 0.92),
  record('mnist', 'mlp:16x2', 0.93),
  record('mnist', 'cnn:c8p2:h16', 0.94),
  record('mnist', 'cnn:c8p2:h64', 0.95),
  record('mnist', 'cnn:c16p3:h16', 0.96),
  record('fashion-mnist', 'mlp:16x1', 0.8),
  record('fashion-mnist', 'mlp:64x1', 0.85),
  record('fashion-mnist', 'cnn:c8p2:h16', 0.82),
  record('fashion-mnist', 'cnn:c8p2:h64', 0.84),
  record('fashion-mnist', 'cnn:c8p2-c8p2:h16', 0.86),
];

describe('statistics', () => {
  test('Kruskal-Wallis of MLP vs CNN float test accuracy per dataset matches R kruskal.test', () => {
    const rows = kruskalRows(RECORDS).filter((r) => r.accuracy === 'float test');
    expect(rows.map((r) => [r.dataset, r.nMlp, r.nCnn, r.df])).toEqual([
      ['mnist', 3, 3, 1],
      ['fashion-mnist', 2, 3, 1],
    ]);
    // R: kruskal.test(list(c(1,2,3), c(4,5,6))): chi-squared = 3.8571, p = 0.04953.
    // H = 12/(6*7) * (6^2/3 + 15^2/3) - 3*7 = 27/7.
    expect(rows[0].statistic).toBeCloseTo(27 / 7, 10);
    expect(rows[0].pValue).toBeCloseTo(0.04953, 5);
    // R: kruskal.test(list(c(1,4), c(2,3,5))): chi-squared = 0.33333, p = 0.5637.
    expect(rows[1].statistic).toBeCloseTo(1 / 3, 10);
    expect(rows[1].pValue).toBeCloseTo(0.5637, 4);
    expect(rows[0].medianMlp).toBeCloseTo(0.92, 12);
    expect(rows[0].medianCnn).toBeCloseTo(0.95, 12);
  });

  test('one test per device level count too, on the chip means', () => {
    const labels = kruskalRows(RECORDS)
      .filter((r) => r.dataset === 'mnist')
      .map((r) => r.accuracy);
    expect(labels).toEqual([
      'float test',
      ...[2, 3, 4, 5, 8].map((l) => `crossbar, ${l} levels (mean over chips)`),
    ]);
  });

  test('mean and sample std over networks per dataset, network type and precision', () => {
    const rows = meanAccuracyRows(RECORDS, 'crossbar');
    const mlpFloat = rows.find(
      (r) => r.dataset === 'mnist' && r.netType === 'MLP' && r.precision === 'float',
    )!;
    expect(mlpFloat.n).toBe(3);
    expect(mlpFloat.mean).toBeCloseTo(92, 10);
    expect(mlpFloat.std).toBeCloseTo(1, 10);
    // 2 levels on chip: each net's float minus 7/50.
    const cnn2 = rows.find(
      (r) => r.dataset === 'fashion-mnist' && r.netType === 'CNN' && r.precision === '2 levels',
    )!;
    expect(cnn2.mean).toBeCloseTo(84 - 14, 10);
    expect(cnn2.std).toBeCloseTo(2, 10);
    expect(meanAccuracyRows(RECORDS, 'digital').map((r) => r.precision)).toContain('quantile:7');
  });
});

describe('figures and tables', () => {
  test('panels: one per hidden-layer count (MLP), one per filters x pool and a figure per block count (CNN)', () => {
    const figs = panelFigures(RECORDS);
    expect(figs.map((f) => f.file)).toEqual([
      'accuracy-mlp-mnist',
      'accuracy-cnn1-mnist',
      'accuracy-mlp-fashion-mnist',
      'accuracy-cnn1-fashion-mnist',
      'accuracy-cnn2-fashion-mnist',
    ]);
    const mlp = lineRows(figs[0], 'crossbar');
    expect([...new Set(mlp.map((r) => r.panel))]).toEqual(['1 hidden layer', '2 hidden layers']);
    // 3 nets x (float + 5 device level counts); float rows come first (first colour, first legend entry).
    expect(mlp).toHaveLength(3 * 6);
    expect(mlp.slice(0, 3).every((r) => r.series === 'float')).toBe(true);
    expect(
      mlp.find((r) => r.panel === '1 hidden layer' && r.hiddenUnits === 64 && r.series === '8 levels')!
        .accuracy,
    ).toBeCloseTo(92 - 2, 10);
    const cnn = lineRows(figs[1], 'digital');
    expect([...new Set(cnn.map((r) => r.panel))]).toEqual(['8 filters, pool 2x2', '16 filters, pool 3x3']);
    expect(new Set(cnn.map((r) => r.series)).size).toBe(8);
  });

  test('CSV: one row per network and stage', () => {
    const rows = csvRows(RECORDS) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(RECORDS.length * (2 + 7 + 5));
    const chip = rows.find(
      (r) => r.dataset === 'mnist' && r.arch === 'mlp:16x1' && r.stage === 'crossbar' && r.levels === 5,
    )!;
    expect(chip.device).toBe('hfo2-1t1r-mispva-5');
    expect(chip.accuracy).toBeCloseTo(0.91 - 4 / 50, 12);
  });

  test('networks that died are listed with their dead units; live ones are not', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-qmc-dead-'));
    try {
      const dead = {
        ...record('mnist', 'mlp:8x2', 0.1135),
        deadUnits: [
          { layer: 'dense1', units: 8, dead: 3 },
          { layer: 'dense2', units: 8, dead: 8 },
        ],
      };
      const silent = {
        ...record('mnist', 'mlp:8x1', 0.9),
        deadUnits: [{ layer: 'dense1', units: 8, dead: 8 }],
      };
      const alive = {
        ...record('mnist', 'mlp:16x1', 0.9),
        deadUnits: [{ layer: 'dense1', units: 16, dead: 2 }],
      };
      await reportQuantizedMlpCnn([...RECORDS, dead, silent, alive], out);
      const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
      const section = md.slice(md.indexOf('## Networks that died'), md.indexOf('## Figures'));
      expect(section).toContain(
        '2 of 14 networks died (float test accuracy below 20 %, or a ReLU layer with no unit ever active on the test images). 3 of the 3 networks whose record counts dead units have at least one.',
      );
      expect(section).toMatch(/\| MNIST +\| mlp:8x2 +\| 11\.35 +\| dense1 3\/8, dense2 8\/8 +\|/);
      expect(section).toMatch(/\| MNIST +\| mlp:8x1 +\| 90\.00 +\| dense1 8\/8 +\|/);
      expect(section).not.toContain('mlp:16x1');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('the report writes every figure as SVG and PNG, the CSV and a summary with the test', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-qmc-report-'));
    try {
      const files = await reportQuantizedMlpCnn(RECORDS, out);
      for (const f of files) expect(fs.existsSync(f)).toBe(true);
      const names = files.map((f) => path.basename(f));
      for (const base of [
        'accuracy-mlp-mnist-crossbar',
        'accuracy-cnn2-fashion-mnist-digital',
        'mean-accuracy-crossbar',
        'synapses',
      ]) {
        expect(names).toContain(`${base}.svg`);
        const png = fs.readFileSync(path.join(out, `${base}.png`));
        expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      }
      const csv = fs
        .readFileSync(path.join(out, 'results.csv'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('#'));
      expect(csv).toHaveLength(1 + RECORDS.length * 14);
      const summary = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
      const cells = summary
        .split('\n')
        .map((l) =>
          l
            .split('|')
            .slice(1, -1)
            .map((c) => c.trim()),
        )
        .filter((c) => c[1] === 'float test');
      expect(cells).toEqual([
        ['MNIST', 'float test', '3', '3', '92.00', '95.00', '3.857', '1', '0.04953'],
        ['Fashion-MNIST', 'float test', '2', '3', '82.50', '84.00', '0.3333', '1', '0.5637'],
      ]);
      // Float solid, every quantised series dashed.
      const spec = JSON.parse(fs.readFileSync(path.join(out, 'accuracy-mlp-mnist-crossbar.vl.json'), 'utf8'));
      const dash = spec.spec.encoding.strokeDash.scale;
      expect(dash.domain[0]).toBe('float');
      expect(dash.range[0]).toEqual([1, 0]);
      for (const r of dash.range.slice(1)) expect(r).not.toEqual([1, 0]);
      expect(spec.facet.field).toBe('panel');
      // Synapse box plot: one entry per distinct architecture, not per (dataset, net).
      const box = JSON.parse(fs.readFileSync(path.join(out, 'synapses.vl.json'), 'utf8'));
      expect(box.data.values).toHaveLength(new Set(RECORDS.map((r) => r.arch)).size);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
