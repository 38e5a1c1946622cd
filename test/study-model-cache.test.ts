/** The model cache: one key per model whatever defaults a job spells out, and a second ask reuses it. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../src/data';
import { cachedModel, modelKey } from '../src/study/modelCache';
import type { ModelJob } from '../src/study/types';

const base: ModelJob = { dataset: 'mnist', arch: 'mlp:8x1', epochs: 1 };

test('defaults spelled out or left out give the same key; any real difference gives another', () => {
  const key = modelKey(base);
  expect(modelKey({ ...base, weights: 'float', seed: 1 })).toBe(key);
  expect(modelKey({ ...base, lr: 0.1 })).toBe(key); // the default rate
  expect(modelKey({ ...base, lrSchedule: 'cosine', warmupEpochs: 1 })).toBe(key); // the default schedule
  // Default-rate jobs keep the keys they had before a job could set the rate (study records name them):
  // both values were computed by the code of that time.
  expect(key).toBe('mnist-mlp_8x1-c6d9deb2a345');
  const binarized: ModelJob = {
    dataset: 'mnist',
    arch: 'cnn:c32p2-c64p2:h128:bn',
    epochs: 30,
    binarize: 0.1,
    weights: 'binary',
    weightLayers: 'all',
  };
  expect(modelKey(binarized)).toBe('mnist-cnn_c32p2_c64p2_h128_bn-db07652bd77e');
  expect(modelKey({ ...base, weights: 'float', weightLayers: 'all' })).toBe(key); // unused for float
  expect(modelKey({ ...base, weights: 'binary' })).toBe(
    modelKey({ ...base, weights: 'binary', weightLayers: 'dense' }),
  );
  const others: ModelJob[] = [
    { ...base, epochs: 2 },
    { ...base, seed: 2 },
    { ...base, limit: 100 },
    { ...base, binarize: 0.1 },
    { ...base, weights: 'binary' },
    { ...base, weights: 'binary', weightLayers: 'all' },
    { ...base, dataset: 'fashion-mnist' },
    { ...base, lr: 0.01 },
    { ...base, lrSchedule: 'constant' },
    { ...base, warmupEpochs: 0 },
    { ...base, variation: { distribution: 'gaussian', sigma: 0.2, device: 'binary-hp' } },
  ];
  const keys = new Set([key, ...others.map(modelKey)]);
  expect(keys.size).toBe(others.length + 1);
});

test('a cached model is trained once and then reused', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cache-'));
  try {
    const data = loadDataset('mnist', { limit: 200, testLimit: 50 });
    const logs: string[] = [];
    const job: ModelJob = { ...base, limit: 200, binarize: 0.1 };
    const first = await cachedModel(job, data, (m) => logs.push(m), root, { 'some/data.idx': 'ab12' });
    const trained = logs.length;
    // The inputs the study noted for its dataset go with the model.
    const training = JSON.parse(fs.readFileSync(path.join(first, 'training.json'), 'utf8'));
    expect(training.provenance).toEqual({ 'some/data.idx': 'ab12' });
    expect(trained).toBeGreaterThan(0);
    const stamp = fs.statSync(path.join(first, 'network.json')).mtimeMs;
    const second = await cachedModel({ ...job, weights: 'float' }, data, (m) => logs.push(m), root);
    expect(second).toBe(first);
    expect(logs.length).toBe(trained); // nothing trained or logged the second time
    expect(fs.statSync(path.join(second, 'network.json')).mtimeMs).toBe(stamp);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a job with its own SGD rate trains at that rate, in a model of its own', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cache-'));
  try {
    const data = loadDataset('mnist', { limit: 200, testLimit: 50 });
    const job: ModelJob = { ...base, limit: 200, binarize: 0.1 };
    const rates = [undefined, 0.01];
    const dirs = [];
    for (const lr of rates) dirs.push(await cachedModel({ ...job, lr }, data, () => undefined, root));
    expect(dirs[1]).not.toBe(dirs[0]);
    const trainedRate = (dir: string) =>
      JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')).train.lr as number;
    expect(dirs.map(trainedRate)).toEqual([0.1, 0.01]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
