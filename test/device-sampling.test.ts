import { parseDeviceCard, withBinaryVariation, type BinaryCard } from '../src/device/card';
import { empiricalLevel, gaussianLevel, lognormalLevel, type LevelModel } from '../src/device/levels';
import { loadDevice, loadDeviceCard } from '../src/device/loadDevice';
import { resolveDevice } from '../src/device/model';
import type { AnalogStage, SimPlan } from '../src/sim/plan';
import { programStage, referenceAnalogForward } from '../src/sim/referenceTrial';
import { TrialScratch } from '../src/sim/trialCommon';
import { streamFor } from '../src/util/random';

function stats(x: Float32Array | Float64Array): { mean: number; sd: number } {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return { mean: m, sd: Math.sqrt(s / (x.length - 1)) };
}

/** Type-7 quantile (linear interpolation between order statistics), written independently of the sampler. */
function quantile7(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

const N = 100_000;

describe('level sampling', () => {
  test('igvva-8: 1e5 draws per level match the card mean and sigma within 1 %', () => {
    const model = loadDevice('hfo2-1t1r-igvva-8');
    const out = new Float32Array(N);
    model.levels.forEach((level, k) => {
      const gUs = 50 + 25 * k;
      const sigmaUs = 4.78 - 0.0091 * gUs;
      level.sample(streamFor(7, 'igvva', k), N, out, 0);
      const { mean, sd } = stats(out);
      expect(Math.abs(mean / (gUs * 1e-6) - 1)).toBeLessThan(0.01);
      expect(Math.abs(sd / (sigmaUs * 1e-6) - 1)).toBeLessThan(0.01);
      // The floor (0.5 uS) is > 10 sigma away: the model's moments are the card's to 1e-9.
      expect(level.gMeanSiemens / (gUs * 1e-6)).toBeCloseTo(1, 9);
      expect(level.gSigmaSiemens / (sigmaUs * 1e-6)).toBeCloseTo(1, 9);
    });
  });

  test('sample writes only out[offset .. offset+count) and is reproducible per seed', () => {
    const level = gaussianLevel(100e-6, 5e-6, 0);
    const out = new Float32Array(10).fill(-1);
    level.sample(streamFor(1, 'a'), 4, out, 3);
    expect(Array.from(out.slice(0, 3))).toEqual([-1, -1, -1]);
    expect(Array.from(out.slice(7))).toEqual([-1, -1, -1]);
    const again = new Float32Array(10).fill(-1);
    level.sample(streamFor(1, 'a'), 4, again, 3);
    expect(again).toEqual(out);
  });

  test('Gaussian truncation at the floor: no draw below it; moments equal the truncated-normal formulas', () => {
    // mispva-5 lowest level: 2 uA / 0.2 V = 10 uS, sigma 5 uS, floor 0.5 uS -> alpha = -1.9.
    const model = loadDevice('hfo2-1t1r-mispva-5');
    const level = model.levels[0];
    const out = new Float32Array(N);
    level.sample(streamFor(3, 'trunc'), N, out, 0);
    let min = Infinity;
    for (const g of out) min = Math.min(min, g);
    expect(min).toBeGreaterThanOrEqual(0.5e-6 * (1 - 1e-6));
    const { mean, sd } = stats(out);
    // Monte-Carlo check of the analytic truncated moments (standard error ~ 0.3 % of sigma).
    expect(Math.abs(mean - level.gMeanSiemens)).toBeLessThan(0.01 * level.gSigmaSiemens);
    expect(Math.abs(sd / level.gSigmaSiemens - 1)).toBeLessThan(0.01);
    expect(level.gMeanSiemens).toBeGreaterThan(10e-6); // truncation lifts the mean
    expect(level.gNominalSiemens).toBeCloseTo(10e-6, 15);
  });

  test('lognormal level: E[G] = mean, sd = mean sqrt(exp(s^2) - 1)', () => {
    const level = lognormalLevel(10e-6, 0.5);
    const expectedSd = 10e-6 * Math.sqrt(Math.exp(0.25) - 1);
    expect(level.gMeanSiemens).toBe(10e-6);
    expect(level.gSigmaSiemens / expectedSd).toBeCloseTo(1, 12);
    const out = new Float32Array(2 * N);
    level.sample(streamFor(11, 'lognormal'), out.length, out, 0);
    const { mean, sd } = stats(out);
    expect(Math.abs(mean / 10e-6 - 1)).toBeLessThan(0.01);
    expect(Math.abs(sd / expectedSd - 1)).toBeLessThan(0.02);
    // The median of the lognormal is mean exp(-s^2/2).
    const sorted = Float64Array.from(out).sort();
    expect(quantile7(sorted, 0.5) / (10e-6 * Math.exp(-0.125))).toBeCloseTo(1, 2);
  });

  test('a lognormal level in a card resolves with the same moments (igvva HRS)', () => {
    const model = loadDevice('hfo2-1t1r-igvva-8');
    expect(model.hrs?.kind).toBe('lognormal');
    expect(model.hrs?.gMeanSiemens).toBeCloseTo(10e-6, 15);
    expect(model.faults.stuckOff).toBe(model.hrs);
    expect(model.faults.stuckOn).toBe(model.levels[7]);
    expect(model.faults.stuckOn.gMeanSiemens).toBeCloseTo(225e-6, 15);
  });

  test('empirical level: draws reproduce the sample quantiles; moments match the draws', () => {
    const samples = [12, 3, 7.5, 9, 20, 4, 15, 11, 8, 10.5, 30].map((x) => x * 1e-6);
    const level = empiricalLevel(samples);
    const out = new Float32Array(N);
    level.sample(streamFor(5, 'empirical'), N, out, 0);
    const drawn = Float64Array.from(out).sort();
    const sortedSamples = [...samples].sort((a, b) => a - b);
    const range = sortedSamples[sortedSamples.length - 1] - sortedSamples[0];
    for (const p of [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]) {
      expect(Math.abs(quantile7(drawn, p) - quantile7(sortedSamples, p))).toBeLessThan(0.01 * range);
      // And the CDF inverts the quantile exactly.
      expect(level.cdf(quantile7(sortedSamples, p))).toBeCloseTo(p, 12);
    }
    expect(drawn[0]).toBeGreaterThanOrEqual(Math.fround(sortedSamples[0]));
    expect(drawn[drawn.length - 1]).toBeLessThanOrEqual(Math.fround(sortedSamples[10]));
    const { mean, sd } = stats(out);
    expect(Math.abs(mean / level.gMeanSiemens - 1)).toBeLessThan(0.01);
    expect(Math.abs(sd / level.gSigmaSiemens - 1)).toBeLessThan(0.01);
    expect(level.gNominalSiemens).toBeCloseTo(samples.reduce((a, b) => a + b) / samples.length, 18);
  });

  test('empirical levels in a card (samples given as unit strings)', () => {
    const model = resolveDevice(
      parseDeviceCard(
        {
          name: 'emp',
          kind: 'multilevel',
          source: { citation: 'test', status: 'measured' },
          vRead: '0.1 V',
          levels: [{ samples: ['1 uA', '2 uA', '3 uA'] }, { samples: ['100 uS', '120 uS'] }],
        },
        'emp.json',
      ),
    );
    // 1..3 uA at 0.1 V = 10..30 uS, piecewise-linear CDF -> uniform on [10, 30] uS.
    expect(model.levels[0].gMeanSiemens).toBeCloseTo(20e-6, 15);
    expect(model.levels[0].gSigmaSiemens).toBeCloseTo(20e-6 / Math.sqrt(12), 15);
    expect(model.levels[1].kind).toBe('empirical');
  });
});

describe('binary devices (sampled in the resistance domain)', () => {
  const resistances = (level: LevelModel, seed: number) => {
    const g = new Float32Array(N);
    level.sample(streamFor(seed, 'binary'), N, g, 0);
    return { g, r: Float64Array.from(g, (x) => 1 / x) };
  };

  test('gaussian 10 %: mean and sd of R match rOn/rOff; level means are E[1/R]', () => {
    const model = loadDevice('binary-hfo2-1t1r');
    expect(model.levels).toHaveLength(2);
    const [off, on] = model.levels;
    for (const [level, rMean, seed] of [
      [on, 5e3, 1],
      [off, 1e5, 2],
    ] as const) {
      const { g, r } = resistances(level, seed);
      const rs = stats(r);
      expect(Math.abs(rs.mean / rMean - 1)).toBeLessThan(0.002); // SE 0.03 %
      expect(Math.abs(rs.sd / (0.1 * rMean) - 1)).toBeLessThan(0.01);
      const gs = stats(g);
      expect(Math.abs(gs.mean / level.gMeanSiemens - 1)).toBeLessThan(0.002);
      expect(Math.abs(gs.sd / level.gSigmaSiemens - 1)).toBeLessThan(0.02);
      // Jensen: E[1/R] > 1/E[R]; second-order delta method gives (1/R)(1 + s^2) = 1.01 / R.
      expect(level.gMeanSiemens * rMean).toBeCloseTo(1.01, 2);
      expect(level.gNominalSiemens).toBeCloseTo(1 / rMean, 15);
    }
  });

  test('lognormal 30 %: mean-preserving in R; E[G] = exp(s^2)/R with s^2 = ln(1 + 0.09)', () => {
    const card = withBinaryVariation(loadDeviceCard('binary-hfo2-1t1r') as BinaryCard, 'lognormal', 0.3);
    const model = resolveDevice(card);
    const on = model.levels[1];
    expect(on.kind).toBe('resistance-lognormal');
    expect(on.gMeanSiemens).toBeCloseTo(1.09 / 5e3, 12);
    const { g, r } = resistances(on, 9);
    const rs = stats(r);
    expect(Math.abs(rs.mean / 5e3 - 1)).toBeLessThan(0.005);
    expect(Math.abs(rs.sd / 1.5e3 - 1)).toBeLessThan(0.02);
    expect(Math.abs(stats(g).mean / on.gMeanSiemens - 1)).toBeLessThan(0.005);
  });

  test('zero variation gives exactly 1/R', () => {
    const card = withBinaryVariation(loadDeviceCard('binary-hp') as BinaryCard, 'gaussian', 0);
    const model = resolveDevice(card);
    const out = new Float32Array(5);
    model.levels[1].sample(streamFor(1, 'x'), 5, out, 0);
    expect(Array.from(out)).toEqual(Array(5).fill(Math.fround(1 / 100)));
    expect(model.levels[0].gMeanSiemens).toBeCloseTo(1 / 16e3, 15);
    expect(model.levels[0].gSigmaSiemens).toBe(0);
  });
});

describe("programming and reading cells (the simulator's own code)", () => {
  const faultyCard = () => {
    const json = JSON.parse(JSON.stringify(loadDeviceCard('hfo2-1t1r-igvva-8')));
    json.faults = { stuckAtOn: 0.1, stuckAtOff: 0.05 };
    json.readNoise = { relativeSigma: 0.02 };
    return parseDeviceCard(json, 'faulty');
  };

  test('stuck-at fault rates are binomially consistent; stuck cells draw their state, others their level', () => {
    const model = resolveDevice(faultyCard());
    const n = 50_000;
    // One row tile of n cells, all programmed to level 3 (125 uS).
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const cellsByLevel = model.levels.map((_, k) => (k === 3 ? all : new Int32Array(0)));
    const tile = { rowStart: 0, rowEnd: 1, cellsByLevel, iFullAmps: new Float32Array(n) };
    const stage = { layerIndex: 0, physCols: n, rowTiles: [tile] } as unknown as AnalogStage;
    const [g] = programStage(model, stage, streamFor(4, 'faults'), new TrialScratch(), {});
    // Stuck on: the top level, 225 uS with sigma 2.73 uS. Stuck off: the card's HRS, lognormal with mean
    // 10 uS and sigma_ln 0.5 (so at most ~74 uS 4 sigma up). The rest: level 3, 125 uS, sigma 3.64 uS.
    const on: number[] = [];
    const offLog: number[] = [];
    let rest = 0;
    for (const x of g) {
      if (x > 200e-6) on.push(x);
      else if (x < 100e-6) offLog.push(Math.log(x));
      else if (Math.abs(x - 125e-6) < 10 * 3.6425e-6) rest++;
    }
    expect(on.length + offLog.length + rest).toBe(n);
    const within = (count: number, p: number) => Math.abs(count - n * p) < 4 * Math.sqrt(n * p * (1 - p));
    expect(within(on.length, 0.1)).toBe(true);
    expect(within(offLog.length, 0.05)).toBe(true);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const sd = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1));
    expect(mean(on)).toBeCloseTo(225e-6, 6);
    expect(sd(on) / 1e-6).toBeCloseTo(4.78 - 0.0091 * 225, 0);
    // ln G of the HRS: mean ln(10 uS) - 0.5^2 / 2, sd 0.5 (a lognormal whose mean is 10 uS).
    expect(mean(offLog)).toBeCloseTo(Math.log(10e-6) - 0.125, 1);
    expect(sd(offLog)).toBeCloseTo(0.5, 1);
    expect(model.readNoiseRelSigma).toBe(0.02);
  });

  test('read noise of a column current is Gaussian with variance sum_i V_i^2 (rel G_i)^2', () => {
    // One differential weight column on two rows, ideal DAC and ADC; every input row the same, so each
    // row's output is one independent draw of the read noise.
    const rows = 100_000;
    const rel = 0.05;
    const vRead = 0.2;
    const a = 1e4; // weight per siemens
    const u = [1, 0.5];
    const gPlus = [100e-6, 60e-6];
    const gMinus = [20e-6, 50e-6];
    const g = Float32Array.of(gPlus[0], gMinus[0], gPlus[1], gMinus[1]); // rows x (G+, G-)
    const stage = {
      kind: 'analog',
      layerIndex: 0,
      rows: 2,
      cols: 1,
      outCols: 1,
      physCols: 2,
      mapping: 'differential',
      refColumnOf: null,
      refExactSiemens: null,
      weightPerSiemens: a,
      rowTiles: [
        { rowStart: 0, rowEnd: 2, cellsByLevel: [], iFullAmps: Float32Array.of(Infinity, Infinity) },
      ],
      dac: { kind: 'ideal', bits: 0, xMax: 1 },
      adcBits: null,
      bias: null,
      activation: 'linear',
    } as unknown as AnalogStage;
    const plan = { vReadVolts: vRead, stages: [stage] } as unknown as SimPlan;
    const x = { data: new Float32Array(2 * rows).fill(1), count: rows, shape: [2] };
    for (let n = 0; n < rows; n++) x.data[2 * n + 1] = 0.5;
    const { out } = referenceAnalogForward(plan, stage, 0, [g], x, new TrialScratch(), {
      rng: streamFor(8, 'read'),
      rel,
    });
    // out = a (I+ - I-) / vRead with I = vRead (sum_i u_i G_i + rel sqrt(sum_i u_i^2 G_i^2) z).
    let mean = 0;
    let variance = 0;
    for (let i = 0; i < 2; i++) {
      const gp = Math.fround(gPlus[i]);
      const gm = Math.fround(gMinus[i]);
      mean += a * u[i] * (gp - gm);
      variance += (a * rel * u[i]) ** 2 * (gp * gp + gm * gm);
    }
    const m = stats(out.data);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(variance / rows));
    expect(Math.abs(m.sd / Math.sqrt(variance) - 1)).toBeLessThan(0.01);
  });
});
