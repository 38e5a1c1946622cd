/** Summary statistics and the Kruskal-Wallis rank test used to compare Monte-Carlo trial groups. */
import { InputError } from './errors';

// jstat ships no type declarations; these are the only two distributions we need.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { jStat } = require('jstat') as {
  jStat: {
    studentt: { inv(p: number, dof: number): number };
    chisquare: { cdf(x: number, dof: number): number };
  };
};

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1); 0 when n = 1. */
  std: number;
  min: number;
  max: number;
  median: number;
  /**
   * 95 % confidence interval of the mean, Student's t with n - 1 degrees of freedom, cut to the range
   * the values can take when summarize() is given one.
   */
  ci95: [number, number];
}

export interface KruskalWallisResult {
  /** H, corrected for ties; NaN when every observation is equal (as R's kruskal.test). */
  statistic: number;
  df: number;
  /** Upper tail of chi-square with df degrees of freedom; NaN when statistic is NaN. */
  pValue: number;
}

function checkFinite(values: readonly number[], what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InputError(`${what}: value ${i} is ${values[i]}, expected a finite number`);
    }
  }
}

/**
 * n, mean, sample std, range, median and a t-based 95 % CI of the mean. `bounds`: the range the values
 * can take (an accuracy's [0, 1]); the interval is cut to it, since with few trials the t-interval
 * can reach past it (2 chips at 98 % and 100 % give [86.3 %, 111.7 %]) and the mean cannot.
 */
export function summarize(values: readonly number[], bounds?: [number, number]): Summary {
  const n = values.length;
  if (n === 0) throw new InputError('summarize: no values');
  checkFinite(values, 'summarize');
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  // Two-pass variance: a sum of squared deviations avoids the cancellation of E[x^2] - E[x]^2.
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  let ci95: [number, number] = [mean, mean];
  if (n > 1 && std > 0) {
    const half = jStat.studentt.inv(0.975, n - 1) * (std / Math.sqrt(n));
    ci95 = [mean - half, mean + half];
    if (bounds) ci95 = [Math.max(bounds[0], ci95[0]), Math.min(bounds[1], ci95[1])];
  }
  return { n, mean, std, min: sorted[0], max: sorted[n - 1], median, ci95 };
}

/**
 * Kruskal-Wallis H test: ranks over the pooled sample with tied values sharing their average rank,
 * H = 12 / (N (N + 1)) * sum(R_i^2 / n_i) - 3 (N + 1), divided by the tie correction
 * 1 - sum(t^3 - t) / (N^3 - N); p from chi-square with k - 1 degrees of freedom.
 */
export function kruskalWallis(groups: readonly (readonly number[])[]): KruskalWallisResult {
  if (groups.length < 2) throw new InputError(`kruskalWallis: need at least 2 groups, got ${groups.length}`);
  const pooled: { v: number; g: number }[] = [];
  groups.forEach((group, g) => {
    if (group.length === 0) throw new InputError(`kruskalWallis: group ${g} is empty`);
    checkFinite(group, `kruskalWallis group ${g}`);
    for (const v of group) pooled.push({ v, g });
  });
  pooled.sort((a, b) => a.v - b.v);
  const total = pooled.length;
  const rankSums = new Array<number>(groups.length).fill(0);
  let tieSum = 0;
  for (let i = 0; i < total;) {
    let j = i;
    while (j + 1 < total && pooled[j + 1].v === pooled[i].v) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based: positions i..j hold ranks i+1..j+1
    for (let p = i; p <= j; p++) rankSums[pooled[p].g] += avgRank;
    const t = j - i + 1;
    tieSum += t * t * t - t;
    i = j + 1;
  }
  const df = groups.length - 1;
  const correction = 1 - tieSum / (total * total * total - total);
  if (!(correction > 0)) return { statistic: NaN, df, pValue: NaN };
  let h = 0;
  groups.forEach((group, g) => (h += (rankSums[g] * rankSums[g]) / group.length));
  h = ((12 / (total * (total + 1))) * h - 3 * (total + 1)) / correction;
  // Rounding can leave a tiny negative H when all rank means are equal; H is a sum of squares.
  h = Math.max(0, h);
  return { statistic: h, df, pValue: 1 - jStat.chisquare.cdf(h, df) };
}

/**
 * Wilson score interval (95 % by default) of a proportion: `successes` of `n` (one chip's accuracy over
 * its test images). Unlike the normal approximation it stays inside [0, 1] and is honest near 0 and 1.
 */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): [number, number] {
  if (!(n > 0) || successes < 0 || successes > n)
    throw new InputError(`wilsonInterval: ${successes} of ${n}`);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
