/**
 * Issue 3, "Done when": 10^5 draws per level match the card's mean and sigma within 1 % (fixed seed).
 * test/device-sampling.test.ts checks igvva-8 and binary-hfo2-1t1r through the device model; this file
 * checks every shipped card through the simulator's own samplers (the card as a plan carries it to the
 * workers), against numbers computed here from the card file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDeviceCard, shippedDeviceNames } from '../src/device/loadDevice';
import type { BinaryCard, MultilevelCard } from '../src/device/card';
import type { SimPlan } from '../src/sim/plan';
import { samplersForPlan } from '../src/sim/samplers';
import type { DeviceSamplers } from '../src/sim/trial';
import { streamFor } from '../src/util/random';

const N = 100_000;

function moments(x: ArrayLike<number>): { mean: number; sd: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return { mean: m, sd: Math.sqrt(s / (x.length - 1)) };
}

/** The samplers a worker builds: from a structured clone of the plan's card JSON. */
function samplersOf(cardName: string): DeviceSamplers {
  const card = loadDeviceCard(cardName);
  return samplersForPlan({ deviceCard: structuredClone(card) } as unknown as SimPlan);
}

/** Mean and sd of N(mu, s^2) truncated below at `floor`, by Simpson quadrature of the density. */
function truncatedMoments(mu: number, s: number, floor: number): { mean: number; sd: number } {
  const lo = Math.max(floor, mu - 12 * s);
  const hi = mu + 12 * s;
  const steps = 20000;
  const h = (hi - lo) / steps;
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  for (let k = 0; k <= steps; k++) {
    const x = lo + k * h;
    const w = (k === 0 || k === steps ? 1 : k % 2 ? 4 : 2) * Math.exp(-0.5 * ((x - mu) / s) ** 2);
    m0 += w;
    m1 += w * x;
    m2 += w * x * x;
  }
  const mean = m1 / m0;
  return { mean, sd: Math.sqrt(m2 / m0 - mean * mean) };
}

/** Conductance of a card quantity as written in the file ("50 uS", "2 uA" at vRead, or SI numbers). */
function siemens(text: string | number, vRead: number): number {
  if (typeof text === 'number') return text;
  const m = /^([\d.]+)\s*(uS|uA)$/.exec(text.trim());
  if (!m) throw new Error(`fixture parser: unexpected quantity ${text}`);
  return m[2] === 'uS' ? Number(m[1]) * 1e-6 : (Number(m[1]) * 1e-6) / vRead;
}

const multilevelNames = shippedDeviceNames().filter((n) => loadDeviceCard(n).kind === 'multilevel');
const binaryNames = shippedDeviceNames().filter((n) => loadDeviceCard(n).kind === 'binary');

describe('10^5 draws per level through the simulator samplers', () => {
  test('all shipped cards are covered', () => {
    expect(multilevelNames).toEqual(
      expect.arrayContaining([
        'hfo2-1t1r-igvva-8',
        'hfo2-1t1r-mispva-2',
        'hfo2-1t1r-mispva-3',
        'hfo2-1t1r-mispva-4',
        'hfo2-1t1r-mispva-5',
      ]),
    );
    expect(binaryNames).toEqual(expect.arrayContaining(['binary-hfo2-1t1r', 'binary-hp']));
  });

  test.each(multilevelNames)('%s: every level matches the card mean and sigma within 1 %', (name) => {
    const raw = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'devices', `${name}.json`), 'utf8'));
    const vRead = Number(/^([\d.]+)\s*V$/.exec(raw.vRead)![1]);
    const floor = raw.floor === undefined ? 0 : siemens(raw.floor, vRead);
    const device = samplersOf(name);
    const card = loadDeviceCard(name) as MultilevelCard;
    expect(device.levels).toHaveLength(raw.levels.length);
    const out = new Float32Array(N);
    raw.levels.forEach((level: { mean: string; sigma: string }, k: number) => {
      const mean = siemens(level.mean, vRead);
      const sigma = siemens(level.sigma, vRead);
      device.levels[k].sample(streamFor(2024, name, k), N, out, 0);
      const drawn = moments(out);
      let min = Infinity;
      for (const g of out) min = Math.min(min, g);
      expect(min).toBeGreaterThanOrEqual(Math.fround(floor));
      // Levels within 5 sigma of the physical floor are truncated there: the card's numbers describe the
      // untruncated Gaussian, the draws its truncation (moments by quadrature here).
      const target = mean - floor > 5 * sigma ? { mean, sd: sigma } : truncatedMoments(mean, sigma, floor);
      expect(Math.abs(drawn.mean / target.mean - 1)).toBeLessThan(0.01);
      expect(Math.abs(drawn.sd / target.sd - 1)).toBeLessThan(0.01);
      // The mapping uses the sampler's mean: it must be what the draws average to.
      expect(device.levels[k].gMeanSiemens / target.mean).toBeCloseTo(1, 6);
    });
    expect(card.levels).toHaveLength(raw.levels.length);
  });

  test('the mispva lowest levels (2 uA, sigma 1 uA at 0.2 V, floor 0.5 uS) are truncated, the others are not', () => {
    const device = samplersOf('hfo2-1t1r-mispva-2');
    // alpha = (0.5 - 10) / 5 = -1.9: truncation lifts the mean by sigma phi(1.9) / Phi(1.9) = 0.34 uS.
    expect(device.levels[0].gMeanSiemens * 1e6).toBeCloseTo(10 + (5 * 0.06562) / 0.97128, 3);
    expect(device.levels[1].gMeanSiemens * 1e6).toBeCloseTo(200, 9);
  });

  test.each(binaryNames)(
    '%s: R_on and R_off draws match the card mean and relative sigma within 1 %',
    (name) => {
      const card = loadDeviceCard(name) as BinaryCard;
      const device = samplersOf(name);
      expect(device.levels).toHaveLength(2);
      const out = new Float32Array(N);
      // Level 0 is the off state (lower conductance), level 1 the on state.
      for (const [k, rMean, sigma] of [
        [0, card.rOff, card.variation.offSigma],
        [1, card.rOn, card.variation.onSigma],
      ] as const) {
        device.levels[k].sample(streamFor(99, name, k), N, out, 0);
        const r = moments(Float64Array.from(out, (g) => 1 / g));
        expect(Math.abs(r.mean / rMean - 1)).toBeLessThan(0.01);
        expect(Math.abs(r.sd / (sigma * rMean) - 1)).toBeLessThan(0.01);
        expect(Math.abs(moments(out).mean / device.levels[k].gMeanSiemens - 1)).toBeLessThan(0.01);
      }
    },
  );

  test('draws depend only on the stream: a cloned card gives identical samplers', () => {
    const a = samplersOf('hfo2-1t1r-igvva-8');
    const b = samplersOf('hfo2-1t1r-igvva-8');
    const x = new Float32Array(1000);
    const y = new Float32Array(1000);
    a.levels[3].sample(streamFor(5, 'same'), 1000, x, 0);
    b.levels[3].sample(streamFor(5, 'same'), 1000, y, 0);
    expect(y).toEqual(x);
  });
});
