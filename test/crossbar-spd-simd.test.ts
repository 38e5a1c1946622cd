import { effectiveConductances, ParasiticWorkspace } from '../src/crossbar/parasitics';
import { choleskyInPlace, forwardSubstituteCols, subtractGramT } from '../src/crossbar/spd';
import { createSpdSimdKernel, type SpdSimdKernel } from '../src/crossbar/spdSimd';
import { lcg, randomParasitics } from './parasitics-netlist';

/** Bit for bit (Object.is also tells 0 from -0). */
function sameBits(got: Float64Array, want: Float64Array): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) return false;
  return true;
}

/** A copy of `data` at a fresh place in the kernel's memory (grown as needed); its byte address. */
function place(kernel: SpdSimdKernel, top: { bytes: number }, data: Float64Array | Int8Array): number {
  const at = top.bytes;
  top.bytes += (data.byteLength + 15) & ~15;
  const mem = kernel.mem;
  if (mem.buffer.byteLength < top.bytes) mem.grow(Math.ceil((top.bytes - mem.buffer.byteLength) / 65536));
  new Uint8Array(mem.buffer, at, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return at;
}

const view = (kernel: SpdSimdKernel, ptr: number, length: number) =>
  Float64Array.from(new Float64Array(kernel.mem.buffer, ptr, length));

/** A random SPD e x e matrix's Cholesky factor (lower triangle; garbage above, which must not be read). */
function randomFactor(e: number, rand: () => number): Float64Array {
  const b = Float64Array.from({ length: e * e }, () => rand() - 0.5);
  const a = new Float64Array(e * e);
  for (let i = 0; i < e; i++)
    for (let j = 0; j < e; j++) {
      let s = i === j ? e : 0;
      for (let k = 0; k < e; k++) s += b[i * e + k] * b[j * e + k];
      a[i * e + j] = s;
    }
  choleskyInPlace(a, e);
  for (let i = 0; i < e; i++) for (let j = i + 1; j < e; j++) a[i * e + j] = rand() * 1e300;
  return a;
}

describe('WebAssembly SIMD kernels of the nested dissection', () => {
  const kernel = createSpdSimdKernel();

  test('are available in Node (WebAssembly SIMD)', () => {
    expect(kernel).not.toBeNull();
  });

  // The kernels promise the JavaScript kernels' arithmetic exactly, and those each output's plain sum in
  // k (j) order: all three are compared bit for bit.
  test('gramUpdate = subtractGramT = the plain sums, bit for bit, on random inputs', () => {
    if (!kernel) return;
    const rand = lcg(5);
    for (let t = 0; t < 60; t++) {
      const n = 1 + Math.floor(rand() * 70);
      const e = Math.floor(rand() * 20);
      const ld = (n + 3) & ~3;
      const x = Float64Array.from({ length: e * ld }, () => rand() - 0.5);
      const s0 = Float64Array.from({ length: n * n }, () => rand() - 0.5);
      // Families: some 4-port blocks of drivers (1) or senses (2), whose same-family blocks are skipped.
      const fam = Int8Array.from({ length: (n + 3) >> 2 }, () =>
        rand() < 0.5 ? 0 : 1 + Math.floor(rand() * 2),
      );
      const want = Float64Array.from(s0);
      for (let r = 0; r < n; r++)
        for (let c = r; c < n; c++) {
          const fr = fam[r >> 2];
          if (fr !== 0 && fam[c >> 2] === fr) continue;
          let sum = 0;
          for (let k = 0; k < e; k++) sum += x[k * ld + r] * x[k * ld + c];
          want[r * n + c] -= sum;
        }
      for (let r = 1; r < n; r++) for (let c = 0; c < r; c++) want[r * n + c] = want[c * n + r];
      const js = Float64Array.from(s0);
      subtractGramT(x, ld, n, e, js, fam);
      expect(sameBits(js, want)).toBe(true);
      const top = { bytes: 0 };
      const xPtr = place(kernel, top, x);
      const sPtr = place(kernel, top, s0);
      const famPtr = place(kernel, top, fam);
      kernel.gramUpdate(xPtr, ld, n, e, sPtr, famPtr);
      expect(sameBits(view(kernel, sPtr, n * n), want)).toBe(true);
    }
  });

  test('forwardSubstitute = forwardSubstituteCols = the plain substitution, bit for bit', () => {
    if (!kernel) return;
    const rand = lcg(9);
    for (let t = 0; t < 60; t++) {
      const e = 1 + Math.floor(rand() * 40);
      const cols = 4 * (1 + Math.floor(rand() * 20));
      const ld = cols + 4 * Math.floor(rand() * 2);
      const l = randomFactor(e, rand);
      const x0 = Float64Array.from({ length: e * ld }, () => rand() - 0.5);
      const want = Float64Array.from(x0);
      for (let p = 0; p < cols; p++)
        for (let k = 0; k < e; k++) {
          let s = want[k * ld + p];
          for (let j = 0; j < k; j++) s -= l[k * e + j] * want[j * ld + p];
          want[k * ld + p] = s / l[k * e + k];
        }
      const js = Float64Array.from(x0);
      forwardSubstituteCols(l, e, js, ld, cols);
      expect(sameBits(js, want)).toBe(true);
      const top = { bytes: 0 };
      const lPtr = place(kernel, top, l);
      const xPtr = place(kernel, top, x0);
      kernel.forwardSubstitute(lPtr, e, xPtr, ld, cols);
      expect(sameBits(view(kernel, xPtr, e * ld), want)).toBe(true);
    }
  });

  // The whole solve: SIMD kernels (one workspace across shapes, so its memory grows and its views are
  // re-taken) against the JavaScript ones, bit for bit, on random shapes, sides, resistances, leaf widths.
  test('tile solves with and without SIMD give the same M bit for bit', () => {
    const rand = lcg(17);
    const simd = new ParasiticWorkspace();
    const plain = new ParasiticWorkspace({ simd: false });
    for (let t = 0; t < 40; t++) {
      const big = t % 8 === 0;
      const rows = 1 + Math.floor(rand() * (big ? 70 : 30));
      const cols = 1 + Math.floor(rand() * (big ? 70 : 30));
      const p = randomParasitics(rand, t);
      const g = Float64Array.from({ length: rows * cols }, () => (rand() < 0.2 ? 0 : 5e-6 + 245e-6 * rand()));
      const solver = { method: 'dissection' as const, leafCols: 1 + Math.floor(rand() * 10) };
      const want = effectiveConductances(g, rows, cols, p, undefined, plain, solver);
      const got = effectiveConductances(g, rows, cols, p, undefined, simd, solver);
      expect(sameBits(got, want)).toBe(true);
    }
  });
});
