/**
 * Normal-distribution helpers with full double precision in the tails (level-overlap probabilities can be
 * tiny). erfc is W. J. Cody's rational Chebyshev approximation (netlib specfun/erf, 1987), the same one
 * mathjs uses for erf, kept here as erfc so that 1 - Phi(x) does not cancel for large x.
 */
/* eslint-disable no-loss-of-precision -- Cody's coefficients are kept digit for digit as published;
   each literal becomes the nearest double, which is what the algorithm intends. */

const SQRT1_2PI = 1 / Math.sqrt(2 * Math.PI);
const THRESH = 0.46875;
const SQRPI = 5.6418958354775628695e-1;
const P = [
  [3.1611237438705656, 113.86415415105016, 377.485237685302021, 3209.37758913846947, 0.185777706184603153],
  [
    0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
    1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
  ],
  [
    0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
    6.58749161529837803e-4, 0.0163153871373020978,
  ],
];
const Q = [
  [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062],
  [
    15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
    4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
  ],
  [
    2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191,
    0.00233520497626869185,
  ],
];
/* eslint-enable no-loss-of-precision */

function erfSmall(y: number): number {
  const ysq = y * y;
  let num = P[0][4] * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + P[0][i]) * ysq;
    den = (den + Q[0][i]) * ysq;
  }
  return (y * (num + P[0][3])) / (den + Q[0][3]);
}

/** e^(-y^2) split as in Cody's code to keep precision for large y. */
function expNegSquare(y: number): number {
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del);
}

function erfcPositive(y: number): number {
  if (y <= THRESH) return 1 - erfSmall(y);
  if (y <= 4) {
    let num = P[1][8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + P[1][i]) * y;
      den = (den + Q[1][i]) * y;
    }
    return expNegSquare(y) * ((num + P[1][7]) / (den + Q[1][7]));
  }
  if (y > 27) return 0; // underflows double anyway
  const ysq = 1 / (y * y);
  let num = P[2][5] * ysq;
  let den = ysq;
  for (let i = 0; i < 4; i++) {
    num = (num + P[2][i]) * ysq;
    den = (den + Q[2][i]) * ysq;
  }
  const r = (ysq * (num + P[2][4])) / (den + Q[2][4]);
  return (expNegSquare(y) * (SQRPI - r)) / y;
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x >= 0 ? erfcPositive(x) : 2 - erfcPositive(-x);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return SQRT1_2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal CDF Phi(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Upper tail 1 - Phi(z), accurate for large z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Mean and standard deviation of N(mu, sigma^2) conditioned on X >= floor (lower truncation):
 * with alpha = (floor - mu)/sigma and lambda = phi(alpha)/(1 - Phi(alpha)),
 * E = mu + sigma lambda, Var = sigma^2 (1 + alpha lambda - lambda^2).
 */
export function truncatedNormalMoments(
  mu: number,
  sigma: number,
  floor: number,
): { mean: number; sd: number } {
  if (sigma === 0) return { mean: Math.max(mu, floor), sd: 0 };
  const alpha = (floor - mu) / sigma;
  const tail = normalSf(alpha);
  const lambda = normalPdf(alpha) / tail;
  const variance = sigma * sigma * (1 + alpha * lambda - lambda * lambda);
  return { mean: mu + sigma * lambda, sd: Math.sqrt(Math.max(variance, 0)) };
}

/** CDF at x of N(mu, sigma^2) conditioned on X >= floor. */
export function truncatedNormalCdf(x: number, mu: number, sigma: number, floor: number): number {
  if (x < floor) return 0;
  if (sigma === 0) return x >= mu ? 1 : 0;
  const tail = normalSf((floor - mu) / sigma);
  const z = (x - mu) / sigma;
  // Work with upper tails when z > 0 so that tiny tail mass is not lost to cancellation.
  if (z > 0) return 1 - normalSf(z) / tail;
  return Math.max(0, (normalCdf(z) - normalCdf((floor - mu) / sigma)) / tail);
}
