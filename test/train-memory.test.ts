/**
 * Training keeps no tensors per batch: a leak per batch (an STE kernel not released, say) grows the
 * wasm heap by a kernel every step and ends a long run with "memory access out of bounds".
 */
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../src/data';
import { parseArch } from '../src/nn/arch';
import { initBackend } from '../src/nn/backend';
import { buildModel } from '../src/nn/model';
import { DEFAULT_TRAIN, trainModel } from '../src/nn/train';

beforeAll(async () => {
  await initBackend('wasm');
});

test.each([
  ['float', undefined],
  ['binary STE', { kind: 'binary' as const, layers: 'all' as const }],
  ['ternary STE', { kind: 'ternary' as const, layers: 'dense' as const }],
])('%s training leaves no tensor behind, however many batches', async (_name, ste) => {
  const data = loadDataset('mnist', { limit: 640, testLimit: 1 });
  const model = buildModel(parseArch('cnn:c4p4:h16'), 2);
  const before = tf.memory().numTensors;
  await trainModel(model, data.train, { ...DEFAULT_TRAIN, epochs: 2, seed: 2, binarizeThreshold: 0.1, ste });
  // 2 epochs of 18 batches.
  expect(tf.memory().numTensors - before).toBe(0);
  model.dispose();
});
