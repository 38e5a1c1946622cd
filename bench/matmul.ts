/**
 * The digital layers' matmul: the plain float32 loop against the WebAssembly SIMD kernel that gives it
 * bit for bit (src/util/matmul.ts), on the shapes of the studies' networks. Prints milliseconds and
 * multiply-adds per second (of the non-zero inputs) for both, and checks that the outputs are equal.
 *
 *   npm run bench:matmul
 */
import seedrandom from 'seedrandom';
import { matmul, matmulPlain } from '../src/util/matmul';
import { load, machine } from './common';

/** [name, rows of A (images or patches), inputs, outputs, share of non-zero inputs] */
const SHAPES: Array<[string, number, number, number, number]> = [
  ['paper2:width3 dense 1 (1000 images)', 1000, 1600, 1024, 0.6],
  ['paper2 conv 2 (im2col, 40 images)', 40 * 121, 288, 64, 1],
  ['mlp:128x1 dense 1 (2000 binarised images)', 2000, 784, 128, 0.17],
  ['output layer 1024-10 (3000 images)', 3000, 1024, 10, 1],
];

function timed(f: () => Float32Array): { ms: number; c: Float32Array } {
  f(); // warm-up: compilation, kernel memory
  const t0 = process.hrtime.bigint();
  const c = f();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, c };
}

function main(): void {
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, load average ${load()}`);
  const rng = seedrandom('bench-matmul');
  for (const [label, n, k, cols, density] of SHAPES) {
    const a = Float32Array.from({ length: n * k }, () => (rng() < density ? rng() : 0));
    const b = Float32Array.from({ length: k * cols }, () => rng() - 0.5);
    const plain = timed(() => matmulPlain(a, b, n, k, cols));
    const simd = timed(() => matmul(a, b, n, k, cols));
    const same = Buffer.compare(Buffer.from(plain.c.buffer), Buffer.from(simd.c.buffer)) === 0;
    const gmac = (ms: number) => ((n * k * cols * density) / ms / 1e6).toFixed(2);
    console.log(
      `${label.padEnd(44)} plain ${plain.ms.toFixed(0).padStart(6)} ms (${gmac(plain.ms)} GMAC/s)` +
        `  simd ${simd.ms.toFixed(0).padStart(5)} ms (${gmac(simd.ms)} GMAC/s)` +
        `  ${(plain.ms / simd.ms).toFixed(1)} x  ${same ? 'identical' : 'DIFFERENT'}`,
    );
    if (!same) process.exitCode = 1;
  }
  console.log(`load average after: ${load()}`);
}

main();
