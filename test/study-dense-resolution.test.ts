/**
 * The dense-resolution study's pieces on a tiny hand-built paper2-like network (conv, pool, flatten,
 * dense 338-16 sigmoid, dense 16-10 softmax) and random images: every case runs once, its lossless
 * bits follow z = ceil(log2 d) + w + l (- 1 when w or l is 1) per layer, the ADC sweep sits at the
 * lossless bits and below, and the report writes its tables and figures.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from '../src/data';
import { type Layer, type NetworkDescription, tensor } from '../src/nn/description';
import { argmaxRows, classify, prepareInput, runLayers } from '../src/nn/forward';
import { writeDescription } from '../src/nn/load';
import { quantizeNetwork } from '../src/nn/network';
import { ResultStore, type ResultRecord } from '../src/study/results';
import { findStudy } from '../src/study/registry';
import type { ModelJob, StudyContext } from '../src/study/types';
import {
  type DenseResolutionRecord,
  caseKey,
  denseResolutionConfigs,
  denseResolutionPlan,
  denseResolutionStudy,
} from '../src/study/studies/denseResolution';
import {
  adcSettings,
  caseInputBits,
  caseLabel,
  caseWeightBits,
  denseCases,
} from '../src/study/studies/denseResolutionCases';
import { headData, nonZeroSample, quantizeHead } from '../src/study/studies/denseResolutionHead';
import {
  degradationChart,
  inputsWithZerosChart,
  ruleLabel,
} from '../src/study/studies/denseResolutionReport';
import { streamFor } from '../src/util/random';

const HIDDEN = 16;

function tinyNet(seed: number): NetworkDescription {
  const rng = streamFor(seed, 'tiny-net');
  const rand = (shape: number[], scale: number) =>
    tensor(
      shape,
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
    );
  const layers: Layer[] = [
    {
      kind: 'conv2d',
      name: 'conv',
      weights: rand([3, 3, 1, 2], 0.5),
      bias: rand([2], 0.1),
      strides: [1, 1],
      padding: 'valid',
      activation: 'relu',
      weightQuantization: { kind: 'float' },
    },
    { kind: 'maxpool2d', name: 'pool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { kind: 'flatten', name: 'flatten' },
    {
      kind: 'dense',
      name: 'dense1',
      weights: rand([338, HIDDEN], 0.1),
      bias: rand([HIDDEN], 0.1),
      activation: 'sigmoid',
      weightQuantization: { kind: 'float' },
    },
    {
      kind: 'dense',
      name: 'dense2',
      weights: rand([HIDDEN, 10], 0.5),
      bias: rand([10], 0.1),
      activation: 'softmax',
      weightQuantization: { kind: 'float' },
    },
  ];
  return {
    format: 'xbarsim-network',
    version: 1,
    name: 'tiny',
    inputShape: [28, 28, 1],
    input: {},
    layers,
    meta: { testAccuracy: 0.1 },
  };
}

function split(count: number, seed: number) {
  const rng = streamFor(seed, 'images');
  return {
    images: Float32Array.from({ length: count * 784 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0)),
    labels: Uint8Array.from({ length: count }, () => rng.int(10)),
    count,
  };
}

const dataset: Dataset = {
  name: 'mnist',
  train: split(40, 1),
  test: split(30, 2),
  classes: 10,
  imageShape: [28, 28, 1],
};

/** Independent statement of the bit accounting (docs/studies.md): [w, l] per case id. */
function expectedBits(id: string): [number, number] {
  const l = (s: string) => (s.includes('expfit') ? 1 : s.match(/i(\d)$/) ? Number(s.match(/i(\d)$/)![1]) : 8);
  if (id.startsWith('binary')) return [1, l(id)];
  if (id.startsWith('ternary')) return [2, l(id)];
  const w = id.match(/^w(\d)/);
  return [w ? Number(w[1]) : 4, l(id)];
}

const lossless = (d: number, w: number, l: number) =>
  Math.ceil(Math.log2(d)) + w + l - (w === 1 || l === 1 ? 1 : 0);

let out: string;
/** The stored records (what the report reads), and the same typed as the study writes them. */
let stored: ResultRecord[];
let records: (DenseResolutionRecord & { key: string })[];
const jobs: ModelJob[] = [];

beforeAll(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-dense-resolution-'));
  const base = tinyNet(7);
  const ctx: StudyContext = {
    out,
    mode: 'quick',
    trials: 2,
    seed: 3,
    workers: 1,
    params: {},
    log: () => {},
    dataset: () => dataset,
    async model(job) {
      jobs.push(job);
      const dir = path.join(out, 'models', job.weights ?? 'float');
      if (!fs.existsSync(dir)) {
        // What STE training exports: dense weights already binary / ternary.
        const desc =
          job.weights === 'binary' || job.weights === 'ternary'
            ? quantizeNetwork(base, { kind: job.weights }, 'dense')
            : base;
        fs.mkdirSync(dir, { recursive: true });
        writeDescription(desc, dir);
      }
      return dir;
    },
  };
  const plan = {
    ...denseResolutionPlan('quick'),
    heads: ['initial'],
    adcOffsets: [0, 1, 2, 4],
    calibration: 40,
    histogramSample: 300,
  };
  const store = new ResultStore(path.join(out, 'run'));
  for (const c of denseResolutionConfigs(plan)) store.append(c.key, await c.run(ctx));
  stored = store.all();
  records = stored as unknown as typeof records;
});

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe('dense-resolution study', () => {
  test('is registered', () => {
    expect(findStudy('dense-resolution')).toBe(denseResolutionStudy);
  });

  test('quick and full plans: heads, datasets, and every case of the protocol', () => {
    const quick = denseResolutionPlan('quick');
    const full = denseResolutionPlan('full');
    expect(quick.heads).toEqual(['initial', 'width1']);
    expect(full.heads).toEqual(['depth0', 'initial', 'depth2', 'depth3', 'width1', 'width2', 'width3']);
    expect(full.datasets).toEqual(['mnist', 'fashion-mnist']);
    const ids = denseCases().map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        'float',
        'w2',
        'w3',
        'w4',
        'i2',
        'i3',
        'w3i2',
        'w3i3',
        'binary-i1',
        'binary-i2',
        'binary-i3',
        'binary-i4',
        'ternary-i1',
        'ternary-i2',
        'ternary-i3',
        'ternary-i4',
        'binary-expfit-mean',
        'binary-expfit-q3',
        'ternary-expfit-mean',
        'ternary-expfit-q3',
        'w3-expfit-mean',
        'w3-expfit-q3',
      ]),
    );
    const keys = denseResolutionConfigs(full).map((c) => c.key);
    expect(keys.length).toBe(2 * 7 * ids.length);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('--quantizer fixed: every B-bit case in both readings, fixed:B and fixed:B@max, under keys of their own; MNIST only in full', () => {
    const uniform = denseCases();
    const fixed = denseCases('fixed');
    const n = uniform.length;
    expect(fixed.map((c) => c.id)).toEqual([
      ...uniform.map((c) => `fixed-${c.id}`),
      ...uniform.map((c) => `fixedmax-${c.id}`),
    ]);
    for (const [k, u] of uniform.entries()) {
      const [literal, max] = [fixed[k], fixed[n + k]];
      expect(literal.weights).toBe(u.weights.replace('uniform:', 'fixed:'));
      expect(literal.input).toBe(u.input.replace('uniform:', 'fixed:'));
      expect(max.weights).toBe(u.weights.startsWith('uniform:') ? `${literal.weights}@max` : u.weights);
      expect(max.input).toBe(u.input.startsWith('uniform:') ? `${literal.input}@max` : u.input);
      expect([literal.training, max.training]).toEqual([u.training, u.training]);
    }
    expect(caseWeightBits(fixed.find((c) => c.id === 'fixedmax-w2')!)).toBe(3);
    const w3i2 = fixed.find((c) => c.id === 'fixed-w3i2')!;
    expect([w3i2.weights, w3i2.input]).toEqual(['fixed:3', 'fixed:2']);
    // Sign and 3 magnitude bits: 15 values, 4 bits; inputs carry their B bits on a B-bit DAC.
    expect(caseWeightBits(w3i2)).toBe(4);
    expect(caseInputBits(w3i2)).toBe(2);
    expect(caseLabel(w3i2)).toBe('3-bit w, 2-bit in');
    expect(denseResolutionPlan('full', 'fixed').datasets).toEqual(['mnist']);
  });

  test('the records hold every case exactly once, and models were asked for the right training', () => {
    const want = denseCases().map((c) => caseKey('mnist', 'initial', c));
    expect(records.map((r) => r.key).sort()).toEqual([...want].sort());
    const trainings = new Set(jobs.map((j) => `${j.arch} ${j.weights} ${j.weightLayers}`));
    expect(trainings).toEqual(
      new Set(['paper2:initial float dense', 'paper2:initial binary dense', 'paper2:initial ternary dense']),
    );
  });

  test('lossless ADC bits per layer and case follow the formula (d = min(fan-in, 128))', () => {
    for (const r of records) {
      const [w, l] = expectedBits(r.case);
      expect([r.weightBits, r.inputBits, r.dacBits]).toEqual([w, l, l]);
      expect(r.layers.map((x) => [x.layer, x.d, x.losslessBits])).toEqual([
        ['dense1', 128, lossless(128, w, l)],
        ['dense2', HIDDEN, lossless(HIDDEN, w, l)],
      ]);
      expect(r.losslessBits).toBe(lossless(128, w, l));
    }
    // The reference values of the source study for d = 128.
    const z = (id: string) => records.find((r) => r.case === id)!.losslessBits;
    expect(z('binary-expfit-mean')).toBe(8); // 1-bit weights and inputs
    expect(z('ternary-i3')).toBe(12);
    expect(z('w3i3')).toBe(13);
    expect(z('float')).toBe(19); // 4-bit device weights, 8-bit DAC
  });

  test('ADC sweep: ideal, then lossless - 0, 1, 2, 4, capped at the 16-bit card limit', () => {
    const bits = (id: string) => records.find((r) => r.case === id)!.adc.map((a) => a.adcBits);
    expect(bits('w3i3')).toEqual(['ideal', 13, 12, 11, 9]);
    expect(bits('binary-expfit-q3')).toEqual(['ideal', 8, 7, 6, 4]);
    expect(bits('float')).toEqual(['ideal', 16, 15]);
    expect(bits('w2')).toEqual(['ideal', 16, 15, 13]);
    expect(adcSettings(3, [0, 1, 2, 4]).map((s) => s.adcBits)).toEqual(['ideal', 3, 2, 1]);
    for (const r of records)
      for (const a of r.adc) {
        expect(a.perTrial).toHaveLength(2);
        expect(a.mean).toBeGreaterThanOrEqual(0);
        expect(a.mean).toBeLessThanOrEqual(1);
        if (a.adcBits !== 'ideal') expect(a.belowLossless).toBe(r.losslessBits - a.adcBits);
      }
  });

  test('quantised heads: value counts per dense layer, input quantisers, fitted thresholds', () => {
    const hd = headData(tinyNet(7), dataset.test, dataset.train, 40);
    const distinct = (d: NetworkDescription) =>
      d.layers
        .filter((l) => l.kind === 'dense')
        .map((l) => new Set((l as { weights: { data: Float32Array } }).weights.data).size);
    for (const c of denseCases().filter((x) => x.training === 'float')) {
      const q = quantizeHead(hd.head, c, hd.calibration);
      const dense = q.layers.filter((l) => l.kind === 'dense');
      if (c.weights.startsWith('uniform:')) {
        const b = Number(c.weights.slice(8));
        for (const n of distinct(q)) expect(n).toBeLessThanOrEqual(2 ** b - 1);
      }
      for (const l of dense) {
        const iq = l.kind === 'dense' ? l.inputQuantizer : undefined;
        if (c.input === 'none') expect(iq).toBeUndefined();
        else if (c.input.startsWith('uniform:'))
          expect(iq).toMatchObject({ kind: 'uniform', bits: Number(c.input.slice(8)) });
        else {
          expect(iq?.kind).toBe('threshold');
          if (iq?.kind === 'threshold') {
            const { x0, beta } = iq.fit!;
            expect(iq.threshold).toBeCloseTo(
              c.input === 'expfit:mean' ? x0 + beta : x0 + beta * Math.log(4),
              10,
            );
          }
        }
      }
    }
    const binaryRecord = records.find((r) => r.case === 'binary-i2')!;
    expect(binaryRecord.fits).toEqual([]);
    const fits = records.find((r) => r.case === 'ternary-expfit-q3')!.fits;
    expect(fits.map((f) => [f.layer, f.rule])).toEqual([
      ['dense1', 'q3'],
      ['dense2', 'q3'],
    ]);
  });

  test('the head run on the conv features classifies like the whole network', () => {
    const net = tinyNet(7);
    const hd = headData(net, dataset.test, dataset.train, 40);
    expect(hd.head.inputShape).toEqual([338]);
    const viaHead = argmaxRows(
      runLayers(hd.head, prepareInput(hd.head, hd.test.images, hd.test.count)).data,
      10,
    );
    expect(Array.from(viaHead)).toEqual(Array.from(classify(net, dataset.test.images, dataset.test.count)));
    const f = records.find((r) => r.case === 'float')!;
    expect(f.digitalAccuracy).toBe(f.floatAccuracy);
  });

  test('input histogram sample: non-zero values, at most the requested count', () => {
    const s = nonZeroSample(Float32Array.from([0, 1, 0, 2, 3, 0, 4, 5, 6]), 3);
    expect(s).toHaveLength(3);
    expect(s.every((v) => v !== 0)).toBe(true);
    const h = records.find((r) => r.case === 'w3-expfit-mean')!.inputHistogram!;
    expect(h.layer).toBe('dense1');
    expect(h.total).toBe(40 * 338);
    expect(h.sample.length).toBe(Math.min(300, h.nonZero));
    expect(Math.min(...h.sample)).toBeGreaterThanOrEqual(Number(h.x0.toPrecision(4)) * (1 - 1e-6));
  });

  test('lossless rule labels: short lists as they are, long ones by their common id prefix', () => {
    expect(ruleLabel(['i2', 'w3i3'])).toBe('i2, w3i3');
    expect(ruleLabel(['binary-expfit-mean', 'binary-expfit-q3'])).toBe('binary-expfit-*');
    expect(ruleLabel(['ternary-expfit-mean'])).toBe('ternary-expfit-mean');
  });

  test('the report writes tables, CSV and figures', async () => {
    const dir = path.join(out, 'run');
    const files = await denseResolutionStudy.report(stored, dir);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    const names = files.map((f) => path.basename(f));
    expect(names).toEqual(
      expect.arrayContaining([
        'summary.md',
        'results.csv',
        'fits.csv',
        'cases-mnist.png',
        'inputs-mnist-initial.png',
        'adc-mnist-initial-weights.png',
        'adc-mnist-initial-1-bit-expfit.png',
      ]),
    );
    // The case chart: one panel per case group, every case in the panel of its group.
    const caseSpec = JSON.parse(fs.readFileSync(path.join(dir, 'cases-mnist.vl.json'), 'utf8'));
    expect(caseSpec.facet.field).toBe('group');
    const plotted = caseSpec.data.values as Array<{ group: string; case: string }>;
    expect(new Set(plotted.map((v) => v.group))).toEqual(new Set(records.map((r) => r.group)));
    for (const v of plotted) expect(v.group).toBe(records.find((r) => r.case === v.case)!.group);
    const csv = fs
      .readFileSync(path.join(dir, 'results.csv'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    // Tidy long form: one row per (case, ADC resolution, chip).
    expect(csv.length - 1).toBe(
      records.reduce((n, r) => n + r.adc.reduce((m, a) => m + a.perTrial.length, 0), 0),
    );
    expect(csv[0]).toMatch(/,trial,trialAccuracy$/);
    const md = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
    for (const c of denseCases()) expect(md).toContain(`| ${c.id} `);
    expect(names).toEqual(
      expect.arrayContaining(['fig4-mnist-uniform-b.png', 'inputs-zeros-mnist-initial.png']),
    );
  });

  test("the source study's Fig. 4 and Fig. 5(a) from the records: degradations and shares by hand", () => {
    const recs = records as unknown as Parameters<typeof degradationChart>[0];
    const spec = degradationChart(recs, 'mnist', 'uniform:B') as unknown as {
      data: { values: Array<{ panel: string; label: string; head: string; degradation: number }> };
    };
    const rows = spec.data.values;
    const of = (id: string) => records.find((r) => r.case === id)!;
    const row = (panel: string, label: string) =>
      rows.find((v) => v.panel.startsWith(panel) && v.label === label)!;
    // (a) against the float head; (d) against the binary head itself; (f) binary against float.
    expect(row('(a)', '3 bits').degradation).toBeCloseTo(
      100 * (of('float').digitalAccuracy - of('w3').digitalAccuracy),
      12,
    );
    expect(row('(d)', '2 bits').degradation).toBeCloseTo(
      100 * (of('binary').digitalAccuracy - of('binary-i2').digitalAccuracy),
      12,
    );
    expect(row('(f)', 'binary').degradation).toBeCloseTo(
      100 * (of('float').digitalAccuracy - of('binary').digitalAccuracy),
      12,
    );
    expect(rows).toHaveLength(3 + 2 + 2 + 4 + 4 + 2);
    expect(degradationChart(recs, 'mnist', 'fixed:B')).toBeNull();
    const zeros = inputsWithZerosChart(recs, 'mnist', 'initial') as unknown as {
      data: { values: Array<{ share: number; kind: string }> };
    };
    const h = of('w3-expfit-mean').inputHistogram!;
    const shares = zeros.data.values;
    expect(shares[0]).toMatchObject({ kind: 'exactly 0' });
    expect(shares[0].share).toBeCloseTo(100 * (1 - h.nonZero / h.total), 12);
    expect(shares.reduce((s, v) => s + v.share, 0)).toBeCloseTo(100, 9);
  });
});
