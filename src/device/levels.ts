/**
 * Conductance distributions of single programmed levels. Each level knows its exact mean and standard
 * deviation (what the sampler really produces, truncation included), its CDF (for overlap analysis and
 * plots) and a fast sampler that writes into a Float32Array.
 */
import type { RandomStream } from '../util/random';
import { normalCdf, normalPdf, normalSf, truncatedNormalCdf, truncatedNormalMoments } from './normal';

export type LevelKind =
  'gaussian' | 'lognormal' | 'empirical' | 'resistance-gaussian' | 'resistance-lognormal';

export interface LevelModel {
  kind: LevelKind;
  /** Expectation of the sampled conductance, siemens. The mapping uses this as the level's value. */
  gMeanSiemens: number;
  /** Standard deviation of the sampled conductance, siemens. */
  gSigmaSiemens: number;
  /** The card's stated value (programming target): mean, sample average, or 1/R. */
  gNominalSiemens: number;
  /** A conductance range holding all but about 1e-4 of the probability (for plots). */
  rangeSiemens: [number, number];
  /** P(G <= g). */
  cdf(gSiemens: number): number;
  /** Write `count` independent draws into out[offset .. offset + count). */
  sample(rng: RandomStream, count: number, out: Float32Array, offset?: number): void;
}

/** N(mean, sigma^2) truncated below at `floorSiemens` by redrawing. Needs mean > floor. */
export function gaussianLevel(meanSiemens: number, sigmaSiemens: number, floorSiemens: number): LevelModel {
  const { mean, sd } = truncatedNormalMoments(meanSiemens, sigmaSiemens, floorSiemens);
  return {
    kind: 'gaussian',
    gMeanSiemens: mean,
    gSigmaSiemens: sd,
    gNominalSiemens: meanSiemens,
    rangeSiemens: [Math.max(floorSiemens, meanSiemens - 4 * sigmaSiemens), meanSiemens + 4 * sigmaSiemens],
    cdf: (g) => truncatedNormalCdf(g, meanSiemens, sigmaSiemens, floorSiemens),
    sample(rng, count, out, offset = 0) {
      for (let i = offset, end = offset + count; i < end; i++) {
        let g: number;
        do g = meanSiemens + sigmaSiemens * rng.normal();
        while (g < floorSiemens);
        out[i] = g;
      }
    },
  };
}

/** G = mean exp(sigmaLn z - sigmaLn^2 / 2): lognormal with E[G] = mean. */
export function lognormalLevel(meanSiemens: number, sigmaLn: number): LevelModel {
  const mu = Math.log(meanSiemens) - (sigmaLn * sigmaLn) / 2;
  return {
    kind: 'lognormal',
    gMeanSiemens: meanSiemens,
    gSigmaSiemens: meanSiemens * Math.sqrt(Math.expm1(sigmaLn * sigmaLn)),
    gNominalSiemens: meanSiemens,
    rangeSiemens: [Math.exp(mu - 4 * sigmaLn), Math.exp(mu + 4 * sigmaLn)],
    cdf: (g) =>
      g <= 0 ? 0 : sigmaLn === 0 ? (g >= meanSiemens ? 1 : 0) : normalCdf((Math.log(g) - mu) / sigmaLn),
    sample(rng, count, out, offset = 0) {
      for (let i = offset, end = offset + count; i < end; i++) out[i] = Math.exp(mu + sigmaLn * rng.normal());
    },
  };
}

/**
 * Empirical distribution of measured conductances: the piecewise-linear CDF through the sorted samples
 * with F(s_k) = k / (n - 1), sampled by inverse-CDF interpolation. Its quantiles are the samples' type-7
 * (linear interpolation) quantiles; its moments are exact sums over the linear pieces.
 */
export function empiricalLevel(samplesSiemens: readonly number[]): LevelModel {
  const s = Float64Array.from(samplesSiemens).sort();
  const n = s.length;
  if (n < 2) throw new Error('an empirical level needs at least 2 samples');
  const pieces = n - 1;
  let m1 = 0;
  let m2 = 0;
  for (let k = 0; k < pieces; k++) {
    const a = s[k];
    const b = s[k + 1];
    m1 += (a + b) / 2; // mean of U(a, b)
    m2 += (a * a + a * b + b * b) / 3; // E[X^2] of U(a, b)
  }
  m1 /= pieces;
  m2 /= pieces;
  const sampleMean = s.reduce((a, b) => a + b, 0) / n;
  return {
    kind: 'empirical',
    gMeanSiemens: m1,
    gSigmaSiemens: Math.sqrt(Math.max(m2 - m1 * m1, 0)),
    gNominalSiemens: sampleMean,
    rangeSiemens: [s[0], s[n - 1]],
    cdf(g) {
      if (g < s[0]) return 0;
      if (g >= s[n - 1]) return 1;
      // Last k with s[k] <= g: right-continuous at ties.
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (s[mid] <= g) lo = mid;
        else hi = mid;
      }
      return (lo + (g - s[lo]) / (s[lo + 1] - s[lo])) / pieces;
    },
    sample(rng, count, out, offset = 0) {
      for (let i = offset, end = offset + count; i < end; i++) {
        const p = rng.uniform() * pieces;
        const k = Math.floor(p);
        out[i] = s[k] + (p - k) * (s[k + 1] - s[k]);
      }
    },
  };
}

/**
 * Binary-device state sampled in the resistance domain: R ~ N(rMean, (sigmaFraction rMean)^2) truncated
 * below at rFloor by redrawing, G = 1 / R. The conductance moments have no closed form: Simpson quadrature.
 */
export function resistanceGaussianLevel(
  rMeanOhms: number,
  sigmaFraction: number,
  rFloorOhms: number,
): LevelModel {
  const sigmaR = sigmaFraction * rMeanOhms;
  const { mean: gMean, sd: gSd } = reciprocalTruncatedNormalMoments(rMeanOhms, sigmaR, rFloorOhms);
  const rLo = Math.max(rFloorOhms, rMeanOhms - 4 * sigmaR);
  return {
    kind: 'resistance-gaussian',
    gMeanSiemens: gMean,
    gSigmaSiemens: gSd,
    gNominalSiemens: 1 / rMeanOhms,
    rangeSiemens: [1 / (rMeanOhms + 4 * sigmaR), 1 / rLo],
    // G <= g  <=>  R >= 1/g.
    cdf: (g) => (g <= 0 ? 0 : 1 - truncatedNormalCdf(1 / g, rMeanOhms, sigmaR, rFloorOhms)),
    sample(rng, count, out, offset = 0) {
      for (let i = offset, end = offset + count; i < end; i++) {
        let r: number;
        do r = rMeanOhms + sigmaR * rng.normal();
        while (r < rFloorOhms);
        out[i] = 1 / r;
      }
    },
  };
}

/**
 * Binary-device state with lognormal resistance, mean preserved: R = rMean exp(s z - s^2/2) with
 * s = sqrt(ln(1 + sigmaFraction^2)), so E[R] = rMean and sd(R) = sigmaFraction rMean. Then
 * G = 1/R is lognormal with E[G] = exp(s^2) / rMean and sd(G) = E[G] sqrt(exp(s^2) - 1).
 */
export function resistanceLognormalLevel(rMeanOhms: number, sigmaFraction: number): LevelModel {
  const s = Math.sqrt(Math.log1p(sigmaFraction * sigmaFraction));
  const muLnR = Math.log(rMeanOhms) - (s * s) / 2;
  const gMean = Math.exp(s * s) / rMeanOhms;
  return {
    kind: 'resistance-lognormal',
    gMeanSiemens: gMean,
    gSigmaSiemens: gMean * Math.sqrt(Math.expm1(s * s)),
    gNominalSiemens: 1 / rMeanOhms,
    rangeSiemens: [Math.exp(-muLnR - 4 * s), Math.exp(-muLnR + 4 * s)],
    // ln G = -ln R ~ N(-muLnR, s^2).
    cdf: (g) => (g <= 0 ? 0 : s === 0 ? (g >= 1 / rMeanOhms ? 1 : 0) : normalCdf((Math.log(g) + muLnR) / s)),
    sample(rng, count, out, offset = 0) {
      for (let i = offset, end = offset + count; i < end; i++) out[i] = Math.exp(-(muLnR + s * rng.normal()));
    },
  };
}

/** E[1/R] and sd(1/R) for R ~ N(mu, sigma^2) truncated at R >= floor > 0. */
function reciprocalTruncatedNormalMoments(
  mu: number,
  sigma: number,
  floor: number,
): { mean: number; sd: number } {
  if (sigma === 0) return { mean: 1 / mu, sd: 0 };
  const zLo = Math.max((floor - mu) / sigma, -10);
  const zHi = 10;
  const steps = 4000; // even, for Simpson; the integrand is smooth and bounded (R >= floor > 0)
  const h = (zHi - zLo) / steps;
  let m1 = 0;
  let m2 = 0;
  for (let k = 0; k <= steps; k++) {
    const z = zLo + k * h;
    const weight = (k === 0 || k === steps ? 1 : k % 2 === 1 ? 4 : 2) * normalPdf(z);
    const g = 1 / (mu + sigma * z);
    m1 += weight * g;
    m2 += weight * g * g;
  }
  const mass = normalSf(zLo);
  m1 = (m1 * h) / 3 / mass;
  m2 = (m2 * h) / 3 / mass;
  return { mean: m1, sd: Math.sqrt(Math.max(m2 - m1 * m1, 0)) };
}
