/**
 * A training run stopped after an epoch and resumed from its checkpoint ends with exactly the weights
 * of the run that never stopped; a checkpoint of another job is not resumed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../src/data';
import { parseArch } from '../src/nn/arch';
import { initBackend } from '../src/nn/backend';
import { checkpointDirFor, loadCheckpoint, saveCheckpoint } from '../src/nn/checkpoint';
import { buildModel } from '../src/nn/model';
import { DEFAULT_TRAIN, trainModel, type TrainCheckpoint, type TrainOptions } from '../src/nn/train';
import { trainAndSave, type TrainJob } from '../src/nn/trainJob';

beforeAll(async () => {
  await initBackend('wasm');
});

const data = loadDataset('mnist', { limit: 320, testLimit: 50 });

// Binary STE on every layer, batch norm and injected noise: every piece of state a run carries.
const options: TrainOptions = {
  ...DEFAULT_TRAIN,
  epochs: 3,
  seed: 5,
  binarizeThreshold: 0.1,
  ste: { kind: 'binary', layers: 'all' },
  weightNoise: (q, rng) => q.map((v) => v * (1 + 0.2 * rng.normal())),
};
const ARCH = 'cnn:c4p4:h16:bn';

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

class Stop extends Error {}

test('stopping after epoch 1 and resuming gives bit for bit the uninterrupted run', async () => {
  const straight = buildModel(parseArch(ARCH), 3);
  const straightLogs = await trainModel(straight, data.train, options);

  const stopped = buildModel(parseArch(ARCH), 3);
  let saved: TrainCheckpoint | undefined;
  await expect(
    trainModel(stopped, data.train, {
      ...options,
      onCheckpoint: (c) => {
        saved = c;
        if (c.epoch === 1) throw new Stop('crash after epoch 1');
      },
    }),
  ).rejects.toThrow(Stop);
  stopped.dispose();
  expect(saved!.epoch).toBe(1);

  // Round trip through the files, as a rerun after a crash would.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-ckpt-'));
  try {
    await saveCheckpoint(dir, 'job-a', saved!);
    const found = loadCheckpoint(dir, 'job-a');
    expect(found.checkpoint).not.toBeNull();
    // A fresh process builds a fresh model (other variable names) from the same seed.
    const resumed = buildModel(parseArch(ARCH), 3);
    const resumedLogs = await trainModel(resumed, data.train, { ...options, resumeFrom: found.checkpoint! });
    expect(resumedLogs.map((l) => l.loss)).toEqual(straightLogs.map((l) => l.loss));
    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    expect(b.length).toBe(a.length);
    a.forEach((w, i) => expect(b[i]).toEqual(w));
    resumed.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    straight.dispose();
  }
});

test('a checkpoint of another job, or a damaged one, is not resumed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-ckpt-'));
  try {
    const c: TrainCheckpoint = {
      epoch: 1,
      logs: [],
      modelWeights: [{ shape: [2, 2], values: Float32Array.of(1, 2, 3, 4) }],
      latentWeights: [],
      momentum: [{ shape: [2], values: Float32Array.of(5, 6) }],
    };
    expect(loadCheckpoint(dir, 'job-a')).toEqual({ checkpoint: null, reason: 'none' });
    await saveCheckpoint(dir, 'job-a', c);
    expect(loadCheckpoint(dir, 'job-a').checkpoint).toEqual(c);
    expect(loadCheckpoint(dir, 'job-b')).toEqual({ checkpoint: null, reason: 'other-job' });
    const tensors = path.join(dir, 'tensors.bin');
    fs.truncateSync(tensors, 8);
    expect(loadCheckpoint(dir, 'job-a')).toEqual({ checkpoint: null, reason: 'unreadable' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint that does not fit the network is refused, not half-loaded', async () => {
  const model = buildModel(parseArch('mlp:8x1'), 1);
  const wrong: TrainCheckpoint = {
    epoch: 1,
    logs: [],
    modelWeights: [{ shape: [3], values: new Float32Array(3) }],
    latentWeights: [],
    momentum: [],
  };
  await expect(
    trainModel(model, data.train, { ...DEFAULT_TRAIN, epochs: 2, seed: 1, resumeFrom: wrong }),
  ).rejects.toThrow(/does not match/);
  model.dispose();
});

test('trainAndSave resumes a stopped job from its checkpoint and removes it once the model is saved', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-ckpt-'));
  const out = path.join(root, 'model');
  const job: TrainJob = {
    arch: 'mlp:8x1',
    epochs: 2,
    batchSize: 32,
    lr: 0.1,
    momentum: 0.9,
    validationSplit: 0.1,
    binarize: 0.1,
    weights: 'float',
    weightLayers: 'dense',
    seed: 4,
  };
  const logs: string[] = [];
  const ckpt = { fingerprint: 'mlp-job', log: (m: string) => logs.push(m) };
  try {
    await expect(
      trainAndSave(job, data, out, 'wasm', {
        onEpoch: (e) => {
          if (e.epoch === 1) throw new Stop('crash after epoch 1');
        },
        checkpoint: ckpt,
      }),
    ).rejects.toThrow(Stop);
    expect(fs.existsSync(out)).toBe(false);
    expect(loadCheckpoint(checkpointDirFor(out), 'mlp-job').checkpoint?.epoch).toBe(1);

    const epochsRun: number[] = [];
    const batches: number[] = [];
    const r = await trainAndSave(job, data, out, 'wasm', {
      onEpoch: (e) => epochsRun.push(e.epoch),
      onBatch: (epoch, batch, n) => {
        if (batch === n) batches.push(epoch, n);
      },
      checkpoint: ckpt,
    });
    expect(batches).toEqual([2, 9]); // 288 training images in batches of 32
    expect(epochsRun).toEqual([2]);
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(logs.some((m) => m.includes('resuming after epoch 1/2'))).toBe(true);
    expect(fs.existsSync(checkpointDirFor(out))).toBe(false);
    expect(fs.existsSync(path.join(out, 'training.json'))).toBe(true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
