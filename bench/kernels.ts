/**
 * The wasm kernels xbarsim replaces (src/nn/kernels/), against the backend's own, on the shapes of a
 * training step, with fresh operands on every call as in training (XNNPACK repacks a new B each time).
 * Prints milliseconds per call for both and whether the outputs are identical bit for bit.
 *
 *   npm run bench:kernels
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/nn/backend';
import { originalKernel } from '../src/nn/kernels/wrap';
import { load, machine } from './common';

interface Case {
  label: string;
  kernel: string;
  /** Fresh inputs for call i (seeded), and the attributes. */
  inputs: (i: number) => tf.NamedTensorMap;
  attrs: tf.NamedAttrMap;
}

const CALLS = 20;
const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

function poolCase(label: string, shape: [number, number, number, number], pool: number): Case {
  return {
    label,
    kernel: 'MaxPoolGrad',
    inputs: (i) => {
      // Distinct positive values: where a window ties, the backend's kernel picks another maximum than
      // the cpu backend's (and ours), and a window of negative values gets no gradient from it at all
      // (tfjs-backend-wasm 4.22); those are different answers, not different speeds.
      const input = tf.abs(normal(shape, i)) as tf.Tensor4D;
      const output = tf.maxPool(input, pool, pool, 'valid');
      return { input, output, dy: normal(output.shape, 1000 + i) };
    },
    attrs: { filterSize: pool, strides: pool, pad: 'valid' } as unknown as tf.NamedAttrMap,
  };
}

const CASES: Case[] = [
  {
    label: 'dense 5408 -> 128 forward, ReLU (batch 32)',
    kernel: '_FusedMatMul',
    inputs: (i) => ({
      a: normal([1, 32, 5408], i),
      b: normal([1, 5408, 128], 1000 + i),
      bias: normal([128], i),
    }),
    attrs: { transposeA: false, transposeB: false, activation: 'relu' } as unknown as tf.NamedAttrMap,
  },
  {
    label: 'dense 5408 -> 128 weight gradient x^T dy',
    kernel: 'BatchMatMul',
    inputs: (i) => ({ a: normal([32, 5408], i), b: normal([32, 128], 1000 + i) }),
    attrs: { transposeA: true, transposeB: false } as unknown as tf.NamedAttrMap,
  },
  {
    label: 'first conv (32 filters) filter gradient product',
    kernel: 'BatchMatMul',
    inputs: (i) => ({ a: normal([9, 21632], i), b: normal([21632, 32], 1000 + i) }),
    attrs: { transposeA: false, transposeB: false } as unknown as tf.NamedAttrMap,
  },
  {
    label: 'paper2 second conv filter gradient product',
    kernel: 'BatchMatMul',
    inputs: (i) => ({ a: normal([288, 3872], i), b: normal([3872, 64], 1000 + i) }),
    attrs: { transposeA: false, transposeB: false } as unknown as tf.NamedAttrMap,
  },
  poolCase('max-pool gradient 2 x 2, 32 x 26 x 26 x 32', [32, 26, 26, 32], 2),
  poolCase('max-pool gradient 3 x 3, 32 x 26 x 26 x 8', [32, 26, 26, 8], 3),
];

/** Milliseconds per call of `run` over CALLS fresh input sets (made before timing), and the last output. */
function time(c: Case, run: (inputs: tf.NamedTensorMap) => tf.TensorInfo): { ms: number; out: Float32Array } {
  const sets = Array.from({ length: CALLS + 1 }, (_, i) => c.inputs(i));
  tf.dispose(tf.engine().makeTensorFromTensorInfo(run(sets[CALLS]))); // warm-up
  const outs: tf.TensorInfo[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) outs.push(run(sets[i]));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / CALLS;
  const tensors = outs.map((o) => tf.engine().makeTensorFromTensorInfo(o));
  const out = Float32Array.from(tensors[CALLS - 1].dataSync());
  tf.dispose([...tensors, ...sets.flatMap((s) => Object.values(s))]);
  return { ms, out };
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${backend.description}`);
  console.log(`load average before: ${load()}`);
  for (const c of CASES) {
    const ours = tf.getKernel(c.kernel, 'wasm');
    const theirs = originalKernel(c.kernel, 'wasm');
    if (!ours || !theirs) throw new Error(`${c.kernel}: kernel or original missing`);
    const call = (k: tf.KernelConfig) => (inputs: tf.NamedTensorMap) =>
      k.kernelFunc({ inputs, attrs: c.attrs, backend: tf.backend() }) as tf.TensorInfo;
    const a = time(c, call(theirs));
    const b = time(c, call(ours));
    const same = Buffer.compare(Buffer.from(a.out.buffer), Buffer.from(b.out.buffer)) === 0;
    console.log(
      `${c.label.padEnd(48)} backend ${a.ms.toFixed(2).padStart(7)} ms  xbarsim ${b.ms.toFixed(2).padStart(6)} ms` +
        `  ${(a.ms / b.ms).toFixed(1).padStart(4)} x  ${same ? 'identical' : 'DIFFERENT'}`,
    );
    if (!same) process.exitCode = 1;
  }
  console.log(`load average after: ${load()}`);
}

void main();
