/**
 * C (n x m) = A (n x k) . B (k x m), all row-major Float32Array. Loop order i-k-j keeps B's rows and
 * C's row contiguous; zero entries of A are skipped, which pays for ReLU outputs and binary images.
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  n: number,
  k: number,
  m: number,
  c: Float32Array = new Float32Array(n * m),
): Float32Array {
  c.fill(0, 0, n * m);
  for (let i = 0; i < n; i++) {
    const aRow = i * k;
    const cRow = i * m;
    for (let p = 0; p < k; p++) {
      const av = a[aRow + p];
      if (av === 0) continue;
      const bRow = p * m;
      for (let j = 0; j < m; j++) c[cRow + j] += av * b[bRow + j];
    }
  }
  return c;
}
