import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDeviceCard } from '../src/device/card';
import { loadDeviceCard } from '../src/device/loadDevice';
import { resolveDevice } from '../src/device/model';
import { mapLayer } from '../src/crossbar/mapping';
import { InputError } from '../src/util/errors';
import { streamFor } from '../src/util/random';
import {
  binaryPairModel,
  binaryVariationNoise,
  relativeWeightSigma,
  samplePairs,
  sweptBinaryCard,
  sweptCardName,
} from '../src/study/variation';
import {
  binarizedVariationPlan,
  binarizedVariationStudy,
  configKey,
  modelJob,
  trainingsFor,
} from '../src/study/studies/binarizedVariation';
import {
  comparisonTable,
  variationRows,
  writeBinarizedVariationReport,
} from '../src/study/studies/binarizedVariationReport';
import type { StudyContext } from '../src/study/types';

const R_ON = 5e3; // devices/binary-hfo2-1t1r.json
const R_OFF = 100e3;
const G_ON = 1 / R_ON;
const G_OFF = 1 / R_OFF;
const ALPHA = 0.37;

function stats(x: ArrayLike<number>): { mean: number; sd: number; median: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  const sorted = Float64Array.from(x).sort();
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { mean, sd: Math.sqrt(ss / (n - 1)), median };
}

/** n weights, the first half +ALPHA, the rest -ALPHA. */
function binaryWeights(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i < n / 2 ? ALPHA : -ALPHA));
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** E[1/R] and var(1/R) for R ~ N(mu, sd^2) truncated below at floor: midpoint rule on a fine z grid. */
function reciprocalMoments(mu: number, sd: number, floor: number): { mean: number; variance: number } {
  const z0 = Math.max((floor - mu) / sd, -12);
  const steps = 400000;
  const h = (12 - z0) / steps;
  let mass = 0;
  let m1 = 0;
  let m2 = 0;
  for (let k = 0; k < steps; k++) {
    const z = z0 + (k + 0.5) * h;
    const p = Math.exp(-0.5 * z * z);
    const g = 1 / (mu + sd * z);
    mass += p;
    m1 += p * g;
    m2 += p * g * g;
  }
  return { mean: m1 / mass, variance: m2 / mass - (m1 / mass) ** 2 };
}

describe('sweptBinaryCard', () => {
  test('sets both states to the swept spread, keeps R_on/R_off, names the sweep point', () => {
    const base = loadDeviceCard('binary-hfo2-1t1r');
    const card = sweptBinaryCard('binary-hfo2-1t1r', 'lognormal', 0.15);
    expect(card.name).toBe('binary-hfo2-1t1r-lognormal-15pct');
    expect(card.kind).toBe('binary');
    expect(card.rOn).toBe(R_ON);
    expect(card.rOff).toBe(R_OFF);
    expect(card.vRead).toBeCloseTo(0.2, 12);
    expect(card.variation).toEqual({ distribution: 'lognormal', onSigma: 0.15, offSigma: 0.15 });
    // A valid card in its own right, and the base card is untouched.
    expect(parseDeviceCard(JSON.parse(JSON.stringify(card)), 'round trip')).toEqual(card);
    expect(loadDeviceCard('binary-hfo2-1t1r')).toEqual(base);
    expect(base.kind === 'binary' && base.variation.distribution).toBe('gaussian');
  });

  test('sweep-point names are stable under float noise', () => {
    expect(sweptCardName('d', 'gaussian', 0.1 + 0.05)).toBe('d-gaussian-15pct');
    expect(sweptCardName('d', 'gaussian', 0)).toBe('d-gaussian-0pct');
    expect(sweptCardName('d', 'lognormal', 0.025)).toBe('d-lognormal-2p5pct');
  });

  test('a zero spread gives exact conductances 1/R', () => {
    const { on, off } = binaryPairModel(sweptBinaryCard('binary-hfo2-1t1r', 'gaussian', 0));
    expect(on.gMeanSiemens).toBeCloseTo(G_ON, 15);
    expect(off.gMeanSiemens).toBeCloseTo(G_OFF, 15);
    expect(on.gSigmaSiemens).toBe(0);
  });

  test('rejects multilevel cards and spreads outside 0..1', () => {
    expect(() => sweptBinaryCard('hfo2-1t1r-igvva-8', 'gaussian', 0.1)).toThrow(InputError);
    expect(() => sweptBinaryCard('binary-hfo2-1t1r', 'gaussian', 1.5)).toThrow(InputError);
    expect(() => sweptBinaryCard('binary-hfo2-1t1r', 'gaussian', -0.1)).toThrow(InputError);
  });
});

describe('binaryVariationNoise (variation-aware training)', () => {
  const n = 100000;
  const q = binaryWeights(n);

  test('Gaussian 20 %: resistances as specified, encoded weight unbiased with the expected relative spread', () => {
    const sigma = 0.2;
    const card = sweptBinaryCard('binary-hfo2-1t1r', 'gaussian', sigma);
    const { gPos, gNeg, weights } = samplePairs(q, binaryPairModel(card), streamFor(7, 'test-gauss'));
    // Device level: R ~ N(R_mean, (sigma R_mean)^2) for both states (the 500 Ohm floor is 4.5 sd below R_on).
    const rOn = stats(Array.from(gPos.subarray(0, n / 2), (g) => 1 / g));
    const rOff = stats(Array.from(gNeg.subarray(0, n / 2), (g) => 1 / g));
    expect(rel(rOn.mean, R_ON)).toBeLessThan(0.003);
    expect(rel(rOff.mean, R_OFF)).toBeLessThan(0.003);
    expect(rel(rOn.sd / rOn.mean, sigma)).toBeLessThan(0.015);
    expect(rel(rOff.sd / rOff.mean, sigma)).toBeLessThan(0.015);
    // Weight level: w / q = (G_on - G_off) / (E G_on - E G_off) has mean 1.
    const ratio = Array.from(weights, (w, i) => w / q[i]);
    const r = stats(ratio);
    expect(Math.abs(r.mean - 1)).toBeLessThan(0.003);
    // Its spread, from the moments of G = 1/R by direct quadrature: sqrt(var G_on + var G_off) / (E G_on - E G_off).
    // (To first order it would be sigma sqrt(G_on^2 + G_off^2) / (G_on - G_off) = 1.054 sigma, but 1/R of a
    // Gaussian R is skewed: at 20 % the conductance spread is about 24 %.)
    const on = reciprocalMoments(R_ON, sigma * R_ON, 500);
    const off = reciprocalMoments(R_OFF, sigma * R_OFF, 500);
    const expected = Math.sqrt(on.variance + off.variance) / (on.mean - off.mean);
    expect(rel(r.sd, expected)).toBeLessThan(0.015);
    expect(r.sd).toBeGreaterThan((sigma * Math.hypot(G_ON, G_OFF)) / (G_ON - G_OFF));
    // ... and the exact value the card model states.
    expect(rel(r.sd, relativeWeightSigma(card))).toBeLessThan(0.015);
  });

  test('lognormal 20 %: E[R] = R_mean, median R = R_mean / sqrt(1 + sigma^2), weight spread exactly 1.054 sigma', () => {
    const sigma = 0.2;
    const card = sweptBinaryCard('binary-hfo2-1t1r', 'lognormal', sigma);
    const { gPos, weights } = samplePairs(q, binaryPairModel(card), streamFor(7, 'test-lognormal'));
    const on = stats(gPos.subarray(0, n / 2));
    const rOn = stats(Array.from(gPos.subarray(0, n / 2), (g) => 1 / g));
    expect(rel(rOn.mean, R_ON)).toBeLessThan(0.003);
    expect(rel(rOn.sd / rOn.mean, sigma)).toBeLessThan(0.02);
    expect(rel(rOn.median, R_ON / Math.sqrt(1 + sigma * sigma))).toBeLessThan(0.004);
    // G = 1/R: E[G] = (1 + sigma^2) / R_mean, median G = sqrt(1 + sigma^2) / R_mean.
    expect(rel(on.mean, (1 + sigma * sigma) * G_ON)).toBeLessThan(0.003);
    expect(rel(on.median, Math.sqrt(1 + sigma * sigma) * G_ON)).toBeLessThan(0.004);
    // sd(G) / E[G] = sigma exactly for a lognormal, so sd(w / q) = sigma sqrt(G_on^2 + G_off^2) / (G_on - G_off).
    const r = stats(Array.from(weights, (w, i) => w / q[i]));
    const exact = (sigma * Math.hypot(G_ON, G_OFF)) / (G_ON - G_OFF);
    expect(rel(relativeWeightSigma(card), exact)).toBeLessThan(1e-9);
    expect(Math.abs(r.mean - 1)).toBeLessThan(0.003);
    expect(rel(r.sd, exact)).toBeLessThan(0.02);
  });

  test('zero spread returns the weights unchanged; a zero (ternary) weight is an (off, off) pair', () => {
    const noise0 = binaryVariationNoise({ distribution: 'gaussian', sigma: 0, device: 'binary-hfo2-1t1r' });
    const w = noise0(q.subarray(0, 1000), streamFor(1, 'zero'));
    for (let i = 0; i < 1000; i++) expect(Math.abs(w[i] - q[i])).toBeLessThan(1e-6);
    const sigma = 0.3;
    const card = sweptBinaryCard('binary-hfo2-1t1r', 'lognormal', sigma);
    const zeros = new Float32Array(n);
    zeros[0] = ALPHA; // sets alpha; the rest are zero weights
    const { weights } = samplePairs(zeros, binaryPairModel(card), streamFor(3, 'ternary'));
    const z = stats(Array.from(weights.subarray(1), (v) => v / ALPHA));
    const expectedSd =
      (Math.SQRT2 * sigma * (1 + sigma * sigma) * G_OFF) / ((1 + sigma * sigma) * (G_ON - G_OFF));
    expect(Math.abs(z.mean)).toBeLessThan(0.001);
    expect(rel(z.sd, expectedSd)).toBeLessThan(0.03);
  });

  test('fresh draws per call stream, same draws for the same stream', () => {
    const noise = binaryVariationNoise({ distribution: 'gaussian', sigma: 0.1, device: 'binary-hfo2-1t1r' });
    const small = q.subarray(0, 64);
    expect(noise(small, streamFor(5, 'a'))).toEqual(noise(small, streamFor(5, 'a')));
    expect(noise(small, streamFor(5, 'a'))).not.toEqual(noise(small, streamFor(5, 'b')));
  });

  test('the simulator maps the same binary layer to a (G+ - G-) with a = alpha / (E G_on - E G_off): the same weight model', () => {
    for (const distribution of ['gaussian', 'lognormal'] as const) {
      const card = sweptBinaryCard('binary-hfo2-1t1r', distribution, 0.25);
      const device = resolveDevice(card);
      const { spanSiemens } = binaryPairModel(card);
      const w = Float32Array.of(ALPHA, -ALPHA, -ALPHA, ALPHA, ALPHA, -ALPHA);
      const m = mapLayer(w, 2, 3, device, 'differential');
      expect(rel(m.weightPerSiemens, ALPHA / spanSiemens)).toBeLessThan(1e-6);
      for (let i = 0; i < w.length; i++) {
        // +alpha: G+ on (level 1), G- off (level 0); -alpha the other way round.
        expect([m.levelPos[i], m.levelNeg![i]]).toEqual(w[i] > 0 ? [1, 0] : [0, 1]);
        expect(m.effectiveWeights[i]).toBeCloseTo(w[i], 6);
      }
    }
  });
});

describe('binarized-variation study', () => {
  const ctx = {
    mode: 'quick',
    seed: 1,
    trials: 2,
    workers: 1,
    out: '',
    params: {},
    log: () => undefined,
  } as unknown as StudyContext;

  test('configurations: every training x distribution x variation level once', () => {
    const plan = binarizedVariationPlan('quick');
    const configs = binarizedVariationStudy.configurations(ctx);
    expect(configs).toHaveLength(2 * 2 * plan.sigmas.length);
    expect(new Set(configs.map((c) => c.key)).size).toBe(configs.length);
    expect(configs.map((c) => c.key)).toContain('vat20/lognormal/30pct');
    expect(configs.map((c) => c.key)).toContain('plain/gaussian/0pct');
    const full = binarizedVariationPlan('full');
    expect(full.sigmas.map((s) => Math.round(100 * s))).toEqual([0, 5, 10, 15, 20, 25, 30]);
  });

  test('model jobs: binary STE on all layers; plain model shared by both distributions; variation matches the distribution', () => {
    const plan = binarizedVariationPlan('quick');
    const [plainG, awareG] = trainingsFor('gaussian');
    const [plainL, awareL] = trainingsFor('lognormal');
    expect(modelJob(plan, plainG, 1, 'binary-hfo2-1t1r')).toEqual(
      modelJob(plan, plainL, 1, 'binary-hfo2-1t1r'),
    );
    const job = modelJob(plan, awareL, 1, 'binary-hfo2-1t1r');
    expect(job).toMatchObject({ weights: 'binary', weightLayers: 'all', binarize: 0.1 });
    expect(job.variation).toEqual({ distribution: 'lognormal', sigma: 0.2, device: 'binary-hfo2-1t1r' });
    expect(modelJob(plan, awareG, 1, 'binary-hfo2-1t1r').variation?.distribution).toBe('gaussian');
    expect(configKey(awareG, 'gaussian', 0.15000000000000002)).toBe('vat20/gaussian/15pct');
  });

  test('a non-binary device card is refused before any training', () => {
    expect(() =>
      binarizedVariationStudy.configurations({ ...ctx, params: { device: 'hfo2-1t1r-igvva-8' } }),
    ).toThrow(InputError);
  });

  test('report: table pairs plain and variation-aware per level; figure, summary and CSV written', async () => {
    const rec = (training: string, distribution: string, sigma: number, mean: number) => ({
      key: `${training}/${distribution}/${sigma}`,
      training,
      distribution,
      sigma,
      relativeWeightSigma: 1.054 * sigma,
      arch: 'cnn:c8p2:h32:bn',
      epochs: 2,
      model: 'm',
      device: `binary-hfo2-1t1r-${distribution}-${100 * sigma}pct`,
      circuit: 'tile128-all-adc8-calibrated',
      floatAccuracy: 0.95,
      nominalAccuracy: 0.95,
      mean,
      std: 0.01,
      ci95: [mean - 0.01, mean + 0.01],
      trials: 3,
      perTrial: [mean, mean, mean],
      clipRate: [0, 0],
      rmsWeightError: [0, 0],
    });
    const records = [
      rec('plain', 'gaussian', 0, 0.95),
      rec('plain', 'gaussian', 0.3, 0.8),
      rec('variation-aware (20 %)', 'gaussian', 0, 0.94),
      rec('variation-aware (20 %)', 'gaussian', 0.3, 0.9),
      rec('plain', 'lognormal', 0.3, 0.85),
      rec('variation-aware (20 %)', 'lognormal', 0.3, 0.88),
    ];
    const rows = variationRows(records);
    expect(rows[0]).toMatchObject({ distribution: 'gaussian', training: 'plain', variationPct: 0, mean: 95 });
    const table = comparisonTable(rows);
    expect(table).toMatch(
      /gaussian +\| +30 \|.*80\.00 \[79\.00, 81\.00\].*90\.00 \[89\.00, 91\.00\].*\+10\.00/,
    );
    expect(table).toMatch(/gaussian +\| +0 \|.*-1\.00/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bv-report-'));
    try {
      const files = await writeBinarizedVariationReport(records, dir);
      for (const f of files) expect(fs.statSync(f).size).toBeGreaterThan(0);
      const csv = fs
        .readFileSync(path.join(dir, 'results.csv'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('#'));
      // Tidy long form: one row per chip, one value per cell.
      expect(csv).toHaveLength(records.reduce((n, r) => n + (r.perTrial as number[]).length, 0) + 1);
      expect(csv[0]).toMatch(/,ci95_0,ci95_1,.*,clipRate_0,clipRate_1,.*,trial,trialAccuracy$/);
      expect(csv.slice(1).every((line) => !/ \d/.test(line))).toBe(true); // no space-separated lists
      const svg = fs.readFileSync(path.join(dir, 'binarized-variation.svg'), 'utf8');
      expect(svg).toContain('gaussian variation');
      expect(svg).toContain('lognormal variation');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
