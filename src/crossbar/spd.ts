/**
 * Dense float64 kernels of the parasitic tile solves (src/crossbar/parasitics.ts, dissection.ts): row
 * products, Cholesky factorisation, inverse and triangular solves of symmetric positive definite blocks.
 * Matrices are row-major Float64Arrays; loops work on 4 x 4 outputs at a time so that each loaded value
 * serves four sums (the solves' time is in these kernels).
 */
import { createSpdSimdKernel, type SpdSimdKernel } from './spdSimd';

/**
 * Reusable float64 buffers of the solve (no allocation per tile once warm), and the WebAssembly SIMD
 * kernels of the nested dissection with their own memory (one instance per workspace, so per thread).
 */
export class ParasiticWorkspace {
  private readonly buffers = new Map<string, Float64Array<ArrayBuffer>>();
  private kernel: SpdSimdKernel | null | undefined;
  /** `simd: false`: the JavaScript kernels even where WebAssembly SIMD is available (tests, benches). */
  constructor(private readonly options: { simd?: boolean } = {}) {}
  get(key: string, size: number): Float64Array<ArrayBuffer> {
    let b = this.buffers.get(key);
    if (!b || b.length < size) this.buffers.set(key, (b = new Float64Array(size)));
    return b;
  }
  /** The SIMD kernels, or null (unavailable, or turned off): made on first use. */
  simd(): SpdSimdKernel | null {
    if (this.kernel === undefined) this.kernel = this.options.simd === false ? null : createSpdSimdKernel();
    return this.kernel;
  }
}

/** How `rowDots` forms and stores its products. */
export interface RowDotsMode {
  /** Factor on every product (default 1). */
  scale?: number;
  /**
   * a = b upper triangular: sums start at the block's first column (earlier terms vanish), and only the
   * blocks on and above the diagonal are computed, the lower ones mirrored.
   */
  triangular?: boolean;
}

/**
 * out[r * outStride + c] = scale * sum_{k >= from(c)} a[r * n + k] b[c * n + k] for r < rowsA,
 * c < rowsB: the products of rows, 4 x 4 outputs at a time so that each loaded value serves four sums (the
 * solves' time is in these products and the Cholesky factorisation). from(c) is 0, or c's block start
 * when `triangular`.
 */
export function rowDots(
  a: Float64Array,
  rowsA: number,
  b: Float64Array,
  rowsB: number,
  n: number,
  out: Float64Array,
  outStride: number,
  mode: RowDotsMode = {},
): void {
  const scale = mode.scale ?? 1;
  const triangular = !!mode.triangular;
  for (let r0 = 0; r0 < rowsA; r0 += 4) {
    const rn = Math.min(4, rowsA - r0);
    for (let c0 = 0; c0 < rowsB; c0 += 4) {
      const cn = Math.min(4, rowsB - c0);
      if (triangular && c0 < r0) continue; // a = b: the lower blocks are mirrored below
      const k0 = triangular ? c0 : 0;
      if (rn === 4 && cn === 4) {
        const a0 = r0 * n,
          a1 = a0 + n,
          a2 = a1 + n,
          a3 = a2 + n;
        const b0 = c0 * n,
          b1 = b0 + n,
          b2 = b1 + n,
          b3 = b2 + n;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let k = k0; k < n; k++) {
          const x0 = a[a0 + k],
            x1 = a[a1 + k],
            x2 = a[a2 + k],
            x3 = a[a3 + k];
          const y0 = b[b0 + k],
            y1 = b[b1 + k],
            y2 = b[b2 + k],
            y3 = b[b3 + k];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        let o = r0 * outStride + c0;
        out[o] = scale * s00;
        out[o + 1] = scale * s01;
        out[o + 2] = scale * s02;
        out[o + 3] = scale * s03;
        o += outStride;
        out[o] = scale * s10;
        out[o + 1] = scale * s11;
        out[o + 2] = scale * s12;
        out[o + 3] = scale * s13;
        o += outStride;
        out[o] = scale * s20;
        out[o + 1] = scale * s21;
        out[o + 2] = scale * s22;
        out[o + 3] = scale * s23;
        o += outStride;
        out[o] = scale * s30;
        out[o + 1] = scale * s31;
        out[o + 2] = scale * s32;
        out[o + 3] = scale * s33;
        continue;
      }
      for (let r = r0; r < r0 + rn; r++)
        for (let c = c0; c < c0 + cn; c++) {
          let s = 0;
          const ar = r * n;
          const bc = c * n;
          for (let k = k0; k < n; k++) s += a[ar + k] * b[bc + k];
          out[r * outStride + c] = scale * s;
        }
    }
  }
  if (triangular)
    for (let r = 1; r < rowsA; r++)
      for (let c = 0; c < Math.min(r, rowsB); c++) out[r * outStride + c] = out[c * outStride + r];
}

/**
 * s[r * n + c] -= sum_{k < e} x[k * ld + r] x[k * ld + c] for r, c < n (s symmetric, n x n; x e rows of
 * ld >= n, k-major: row k holds every port's coupling to interface midpoint k): the Schur update of a
 * join, on 4 x 4 blocks of outputs so that each loaded value serves four sums. Each output sums its
 * products in k order, then is subtracted (the WebAssembly kernel `gramUpdate` does the same, bit for bit).
 * Only the blocks on and above the diagonal are read and computed; the strict lower triangle is then
 * overwritten by the upper one's mirror (so the caller need not fill it). A block whose row and column
 * blocks have the same non-zero `family` (4-port blocks) is not needed and is left as it was.
 */
export function subtractGramT(
  x: Float64Array,
  ld: number,
  n: number,
  e: number,
  s: Float64Array,
  family: Int8Array,
): void {
  for (let r0 = 0; r0 < n; r0 += 4) {
    const rn = Math.min(4, n - r0);
    const fr = family[r0 >> 2];
    for (let c0 = r0; c0 < n; c0 += 4) {
      if (fr !== 0 && family[c0 >> 2] === fr) continue;
      const cn = Math.min(4, n - c0);
      if (rn === 4 && cn === 4) {
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let k = 0, a = r0, b = c0; k < e; k++, a += ld, b += ld) {
          const x0 = x[a],
            x1 = x[a + 1],
            x2 = x[a + 2],
            x3 = x[a + 3];
          const y0 = x[b],
            y1 = x[b + 1],
            y2 = x[b + 2],
            y3 = x[b + 3];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        let o = r0 * n + c0;
        s[o] -= s00;
        s[o + 1] -= s01;
        s[o + 2] -= s02;
        s[o + 3] -= s03;
        o += n;
        s[o] -= s10;
        s[o + 1] -= s11;
        s[o + 2] -= s12;
        s[o + 3] -= s13;
        o += n;
        s[o] -= s20;
        s[o + 1] -= s21;
        s[o + 2] -= s22;
        s[o + 3] -= s23;
        o += n;
        s[o] -= s30;
        s[o + 1] -= s31;
        s[o + 2] -= s32;
        s[o + 3] -= s33;
        continue;
      }
      for (let r = r0; r < r0 + rn; r++)
        for (let c = c0; c < c0 + cn; c++) {
          let sum = 0;
          for (let k = 0; k < e; k++) sum += x[k * ld + r] * x[k * ld + c];
          s[r * n + c] -= sum;
        }
    }
  }
  for (let r = 1; r < n; r++) for (let c = 0; c < r; c++) s[r * n + c] = s[c * n + r];
}

/**
 * a = L L^T in place for a symmetric positive definite n x n matrix (row-major): L is written into the
 * lower triangle and diagonal, the strict upper triangle is left as it was. About n^3 / 6 multiply-adds.
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  // Cholesky, four rows at a time: L[i][j] = (a[i][j] - sum_{k<j} L[i][k] L[j][k]) / L[j][j].
  for (let i0 = 0; i0 < n; i0 += 4) {
    const iEnd = Math.min(n, i0 + 4);
    if (iEnd - i0 === 4) {
      const r0 = i0 * n,
        r1 = r0 + n,
        r2 = r1 + n,
        r3 = r2 + n;
      for (let j = 0; j < i0; j++) {
        const rj = j * n;
        let s0 = a[r0 + j],
          s1 = a[r1 + j],
          s2 = a[r2 + j],
          s3 = a[r3 + j];
        for (let k = 0; k < j; k++) {
          const l = a[rj + k];
          s0 -= a[r0 + k] * l;
          s1 -= a[r1 + k] * l;
          s2 -= a[r2 + k] * l;
          s3 -= a[r3 + k] * l;
        }
        const d = a[rj + j];
        a[r0 + j] = s0 / d;
        a[r1 + j] = s1 / d;
        a[r2 + j] = s2 / d;
        a[r3 + j] = s3 / d;
      }
    }
    for (let i = i0; i < iEnd; i++) {
      const ri = i * n;
      for (let j = iEnd - i0 === 4 ? i0 : 0; j <= i; j++) {
        const rj = j * n;
        let sum = a[ri + j];
        for (let k = 0; k < j; k++) sum -= a[ri + k] * a[rj + k];
        if (j < i) a[ri + j] = sum / a[rj + j];
        else {
          if (!(sum > 0))
            throw new RangeError(`cholesky: matrix not positive definite at pivot ${i} (${sum})`);
          a[ri + i] = Math.sqrt(sum);
        }
      }
    }
  }
}

/**
 * inv = a^-1 for a symmetric positive definite n x n matrix (row-major, full storage), by Cholesky:
 * a = L L^T, U = L^-T (upper), a^-1 = U U^T. About n^3 / 2 multiply-adds, all on contiguous rows.
 * `a` is overwritten by L.
 */
export function invertSpd(
  a: Float64Array,
  n: number,
  inv: Float64Array,
  ws = new ParasiticWorkspace(),
): void {
  choleskyInPlace(a, n);
  // U = L^-T, row-major upper: U[j][i] = -(sum_{k=j}^{i-1} L[i][k] U[j][k]) / L[i][i], four rows j at a
  // time (U is zero left of its diagonal, so the sums may start at the block's first row).
  const u = ws.get('spd.u', n * n);
  u.fill(0, 0, n * n);
  for (let j0 = 0; j0 < n; j0 += 4) {
    const jEnd = Math.min(n, j0 + 4);
    for (let j = j0; j < jEnd; j++) {
      const rj = j * n;
      u[rj + j] = 1 / a[rj + j];
      for (let i = j + 1; i < jEnd; i++) {
        const ri = i * n;
        let sum = 0;
        for (let k = j; k < i; k++) sum += a[ri + k] * u[rj + k];
        u[rj + i] = -sum / a[ri + i];
      }
    }
    if (jEnd - j0 < 4) {
      for (let j = j0; j < jEnd; j++)
        for (let i = jEnd; i < n; i++) {
          const ri = i * n;
          const rj = j * n;
          let sum = 0;
          for (let k = j0; k < i; k++) sum += a[ri + k] * u[rj + k];
          u[rj + i] = -sum / a[ri + i];
        }
      continue;
    }
    const u0 = j0 * n,
      u1 = u0 + n,
      u2 = u1 + n,
      u3 = u2 + n;
    for (let i = jEnd; i < n; i++) {
      const ri = i * n;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = j0; k < i; k++) {
        const l = a[ri + k];
        s0 += l * u[u0 + k];
        s1 += l * u[u1 + k];
        s2 += l * u[u2 + k];
        s3 += l * u[u3 + k];
      }
      const d = -a[ri + i];
      u[u0 + i] = s0 / d;
      u[u1 + i] = s1 / d;
      u[u2 + i] = s2 / d;
      u[u3 + i] = s3 / d;
    }
  }
  // inv[r][c] = sum_k U[r][k] U[c][k] (U is zero left of its diagonal): the upper blocks, mirrored.
  rowDots(u, n, u, n, n, inv, n, { triangular: true });
}

/**
 * X <- L^-1 X for the columns 0 .. cols - 1 of x (e rows of ld, k-major as in `subtractGramT`), L the
 * Cholesky factor in the lower triangle of l (e x e, from `choleskyInPlace`): forward substitution, four
 * columns at a time so that each loaded L entry serves four. Each entry subtracts its terms in j order,
 * then divides (as the WebAssembly kernel `forwardSubstitute`, bit for bit). About cols e^2 / 2
 * multiply-adds.
 */
export function forwardSubstituteCols(
  l: Float64Array,
  e: number,
  x: Float64Array,
  ld: number,
  cols: number,
): void {
  let p = 0;
  for (; p + 4 <= cols; p += 4) {
    for (let k = 0; k < e; k++) {
      const lk = k * e;
      const xk = k * ld + p;
      let s0 = x[xk],
        s1 = x[xk + 1],
        s2 = x[xk + 2],
        s3 = x[xk + 3];
      for (let j = 0, xj = p; j < k; j++, xj += ld) {
        const v = l[lk + j];
        s0 -= v * x[xj];
        s1 -= v * x[xj + 1];
        s2 -= v * x[xj + 2];
        s3 -= v * x[xj + 3];
      }
      const d = l[lk + k];
      x[xk] = s0 / d;
      x[xk + 1] = s1 / d;
      x[xk + 2] = s2 / d;
      x[xk + 3] = s3 / d;
    }
  }
  for (; p < cols; p++)
    for (let k = 0; k < e; k++) {
      const lk = k * e;
      let s = x[k * ld + p];
      for (let j = 0; j < k; j++) s -= l[lk + j] * x[j * ld + p];
      x[k * ld + p] = s / l[lk + k];
    }
}
