/**
 * trainModel's SGD-with-momentum steps against a textbook float64 backpropagation written here, on the
 * same initial weights: conv 3x3 (valid) + ReLU + max-pool, dense ReLU, softmax, categorical
 * cross-entropy averaged over the batch. Full-batch steps, so the shuffle does not enter.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArch } from '../src/nn/arch';
import { initBackend } from '../src/nn/backend';
import { buildModel } from '../src/nn/model';
import { scheduledRate, trainModel, type LabelledImages } from '../src/nn/train';
import { streamFor } from '../src/util/random';

beforeAll(async () => {
  await initBackend('wasm');
});

const SIDE = 28;
const COUNT = 40;
const LR = 0.1;
const MOMENTUM = 0.9;
const STEPS = 3;

/** Grey-level images (no ties in the max-pool windows) and labels, seeded. */
function randomImages(seed: number): LabelledImages {
  const rng = streamFor(seed, 'reference-images');
  const images = new Float32Array(COUNT * SIDE * SIDE).map(() => rng.uniform());
  const labels = Uint8Array.from({ length: COUNT }, (_, i) => i % 10);
  return { images, labels, count: COUNT };
}

type Weights = Float64Array[];

interface Net {
  /** Conv filters, pool size; null for an MLP. */
  conv: { filters: number; pool: number } | null;
  hidden: number;
}

/** Loss gradients for every weight (model.getWeights() order), by hand, in float64. */
function gradients(net: Net, w: Weights, data: LabelledImages): Weights {
  const g = w.map((t) => new Float64Array(t.length));
  const n = data.count;
  for (let s = 0; s < n; s++) {
    const x = data.images.subarray(s * SIDE * SIDE, (s + 1) * SIDE * SIDE);
    // Forward.
    let feat: Float64Array;
    let conv: { z: Float64Array; arg: Int32Array; f: number; side: number } | null = null;
    if (net.conv) {
      const { filters: f, pool: p } = net.conv;
      const side = SIDE - 2;
      const z = new Float64Array(side * side * f);
      for (let i = 0; i < side; i++)
        for (let j = 0; j < side; j++)
          for (let c = 0; c < f; c++) {
            let v = w[1][c];
            for (let di = 0; di < 3; di++)
              for (let dj = 0; dj < 3; dj++) v += x[(i + di) * SIDE + j + dj] * w[0][(di * 3 + dj) * f + c];
            z[(i * side + j) * f + c] = v;
          }
      const pooled = Math.floor(side / p);
      feat = new Float64Array(pooled * pooled * f);
      const arg = new Int32Array(feat.length);
      for (let i = 0; i < pooled; i++)
        for (let j = 0; j < pooled; j++)
          for (let c = 0; c < f; c++) {
            let best = -Infinity;
            for (let di = 0; di < p; di++)
              for (let dj = 0; dj < p; dj++) {
                const at = ((i * p + di) * side + j * p + dj) * f + c;
                const a = Math.max(0, z[at]);
                if (a > best) {
                  best = a;
                  arg[(i * pooled + j) * f + c] = at;
                }
              }
            feat[(i * pooled + j) * f + c] = best;
          }
      conv = { z, arg, f, side };
    } else feat = Float64Array.from(x);
    const k = conv ? 2 : 0;
    const [w1, b1, w2, b2] = [w[k], w[k + 1], w[k + 2], w[k + 3]];
    const h = net.hidden;
    const z1 = new Float64Array(h);
    for (let u = 0; u < h; u++) {
      let v = b1[u];
      for (let i = 0; i < feat.length; i++) v += feat[i] * w1[i * h + u];
      z1[u] = v;
    }
    const a1 = z1.map((v) => Math.max(0, v));
    const logits = new Float64Array(10);
    for (let o = 0; o < 10; o++) {
      let v = b2[o];
      for (let u = 0; u < h; u++) v += a1[u] * w2[u * 10 + o];
      logits[o] = v;
    }
    const top = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    // Backward: softmax + cross-entropy gives (p - y) / n at the logits.
    const dLogits = e.map((v, o) => (v / sum - (o === data.labels[s] ? 1 : 0)) / n);
    const dA1 = new Float64Array(h);
    for (let u = 0; u < h; u++)
      for (let o = 0; o < 10; o++) {
        g[k + 2][u * 10 + o] += a1[u] * dLogits[o];
        dA1[u] += w2[u * 10 + o] * dLogits[o];
      }
    for (let o = 0; o < 10; o++) g[k + 3][o] += dLogits[o];
    const dFeat = new Float64Array(feat.length);
    for (let u = 0; u < h; u++) {
      if (z1[u] <= 0) continue;
      g[k + 1][u] += dA1[u];
      for (let i = 0; i < feat.length; i++) {
        g[k][i * h + u] += feat[i] * dA1[u];
        dFeat[i] += w1[i * h + u] * dA1[u];
      }
    }
    if (!conv) continue;
    const { z, arg, f, side } = conv;
    for (let q = 0; q < dFeat.length; q++) {
      const at = arg[q];
      if (z[at] <= 0) continue; // ReLU: the window's maximum did not fire
      const c = at % f;
      const pos = (at - c) / f;
      const [i, j] = [Math.floor(pos / side), pos % side];
      g[1][c] += dFeat[q];
      for (let di = 0; di < 3; di++)
        for (let dj = 0; dj < 3; dj++) g[0][(di * 3 + dj) * f + c] += x[(i + di) * SIDE + j + dj] * dFeat[q];
    }
  }
  return g;
}

/** STEPS full-batch steps of SGD with momentum (acc = m acc + g; w -= lr acc) at the scheduled rate. */
function referenceRun(net: Net, init: Weights, data: LabelledImages): Weights {
  const w = init.map((t) => Float64Array.from(t));
  const acc = w.map((t) => new Float64Array(t.length));
  for (let step = 0; step < STEPS; step++) {
    const lr = scheduledRate(LR, 'cosine', step, STEPS, 0);
    const g = gradients(net, w, data);
    w.forEach((t, i) => {
      for (let j = 0; j < t.length; j++) {
        acc[i][j] = MOMENTUM * acc[i][j] + g[i][j];
        t[j] -= lr * acc[i][j];
      }
    });
  }
  return w;
}

function weightsOf(model: tf.LayersModel): Weights {
  return model.getWeights().map((t) => Float64Array.from(t.dataSync() as Float32Array));
}

const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));

test.each([
  ['mlp:16x1', { conv: null, hidden: 16 }],
  ['cnn:c4p2:h8', { conv: { filters: 4, pool: 2 }, hidden: 8 }],
  ['cnn:c3p3:h8', { conv: { filters: 3, pool: 3 }, hidden: 8 }],
] as Array<[string, Net]>)('%s: trained weights match a float64 textbook backprop', async (arch, net) => {
  const data = randomImages(7);
  const model = buildModel(parseArch(arch), 11);
  const init = weightsOf(model);
  const ref = referenceRun(net, init, data);
  // Full batch, no validation split, no warm-up: one cosine-scheduled step per epoch.
  await trainModel(model, data, {
    epochs: STEPS,
    batchSize: COUNT,
    learningRate: LR,
    momentum: MOMENTUM,
    validationSplit: 0,
    lrSchedule: 'cosine',
    warmupEpochs: 0,
    seed: 1,
  });
  const ours = weightsOf(model);
  model.dispose();
  expect(ours.map((t) => t.length)).toEqual(ref.map((t) => t.length));
  ours.forEach((t, i) => {
    const moveRef = ref[i].map((v, j) => v - init[i][j]);
    const diff = t.map((v, j) => v - ref[i][j]);
    // Every weight moved, and by what the reference says to float32 precision.
    expect(norm(moveRef)).toBeGreaterThan(0);
    expect(norm(diff)).toBeLessThan(1e-4 * norm(moveRef) + 1e-6 * Math.sqrt(t.length));
  });
});
