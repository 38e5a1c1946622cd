import seedrandom from 'seedrandom';
import { matmul, matmulPlain, simdMatmulAvailable } from '../src/util/matmul';

/** Bit patterns, so that the comparison also tells -0 from +0 (NaN payloads are left out). */
function bits(c: Float32Array): number[] {
  return Array.from(new Uint32Array(c.buffer, c.byteOffset, c.length), (b, i) =>
    Number.isNaN(c[i]) ? -1 : b,
  );
}

function randomMatrix(rng: () => number, len: number, density: number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    const r = rng();
    // magnitudes over 10 decades, so that float32 rounding happens at every addition
    if (r < density) a[i] = (rng() - 0.4) * 10 ** Math.floor(rng() * 10 - 5);
    else if (r < density + 0.05) a[i] = -0;
  }
  return a;
}

describe('matmul', () => {
  test('computes exact products on a small integer case', () => {
    // [[1, 2, 0], [0, -1, 3]] . [[1, 0], [2, 1], [-1, 4]]
    const a = Float32Array.from([1, 2, 0, 0, -1, 3]);
    const b = Float32Array.from([1, 0, 2, 1, -1, 4]);
    expect(Array.from(matmul(a, b, 2, 3, 2))).toEqual([5, 2, -5, 11]);
  });

  test('the SIMD kernel gives the plain loop bit for bit: random shapes across chunk, slice and block edges', () => {
    const rng = seedrandom('matmul');
    const shapes: Array<[number, number, number]> = [
      [129, 130, 17], // one row and one B row past a chunk and a slice, one column past a block
      [300, 290, 10],
      [64, 1, 64],
      [1, 1000, 33],
      [256, 256, 32],
    ];
    for (let t = 0; t < 20; t++)
      shapes.push([1 + Math.floor(rng() * 200), 1 + Math.floor(rng() * 300), 1 + Math.floor(rng() * 70)]);
    expect(simdMatmulAvailable()).toBe(true); // Node 20 has WebAssembly SIMD: the kernel is what is tested
    let simdRuns = 0;
    for (const [n, k, m] of shapes) {
      const a = randomMatrix(rng, n * k, rng());
      const b = randomMatrix(rng, k * m, 0.9);
      if (n * k * m >= 1 << 14) simdRuns++;
      expect(bits(matmul(a, b, n, k, m))).toEqual(bits(matmulPlain(a, b, n, k, m)));
    }
    expect(simdRuns).toBeGreaterThan(15);
  });

  test('keeps the loop semantics on special values: zero inputs skipped, infinities, subnormals, overflow', () => {
    const n = 40;
    const k = 30;
    const m = 20;
    const rng = seedrandom('special');
    const a = randomMatrix(rng, n * k, 0.5);
    const b = randomMatrix(rng, k * m, 0.9);
    a[0] = 0; // skipped although b[0][*] holds an infinity: no NaN in row 0
    b[0] = Infinity;
    a[k + 1] = 3e38; // overflows float32 in row 1
    a[2 * k] = 1e-40; // subnormal
    a[3 * k + 2] = NaN;
    const c = matmul(a, b, n, k, m);
    expect(bits(c)).toEqual(bits(matmulPlain(a, b, n, k, m)));
    expect(Number.isNaN(c[0])).toBe(false);
  });

  test('writes into a given output and overwrites what it held', () => {
    const rng = seedrandom('out');
    const a = randomMatrix(rng, 50 * 40, 0.7);
    const b = randomMatrix(rng, 40 * 20, 0.9);
    const c = new Float32Array(50 * 20).fill(7);
    expect(matmul(a, b, 50, 40, 20, c)).toBe(c);
    expect(bits(c)).toEqual(bits(matmulPlain(a, b, 50, 40, 20)));
  });
});
