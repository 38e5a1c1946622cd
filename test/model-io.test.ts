import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../src/data';
import { parseArch } from '../src/nn/arch';
import { initBackend } from '../src/nn/backend';
import type { DenseLayer } from '../src/nn/description';
import { exportDescription } from '../src/nn/export';
import { classify, prepareInput, runLayers } from '../src/nn/forward';
import { loadNetwork } from '../src/nn/load';
import { buildModel } from '../src/nn/model';
import { loadModel, saveModel } from '../src/nn/modelIo';
import { InputError } from '../src/util/errors';
import { streamFor } from '../src/util/random';

const FIXTURE = path.join(__dirname, 'fixtures', 'keras-mlp');

let root: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-modelio-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const weightBytes = (m: tf.LayersModel) =>
  Buffer.concat(m.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer)));

describe('TF.js layers format round trip', () => {
  test.each(['mlp:16x2', 'cnn:c4p2:h8', 'paper2:depth0'])('%s', async (arch) => {
    const model = buildModel(parseArch(arch), 11);
    const dir = path.join(root, arch.replace(/:/g, '_'));
    await saveModel(model, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(4 * model.countParams());

    const loaded = await loadModel(dir);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    expect(weightBytes(loaded).equals(weightBytes(model))).toBe(true);
    const shape = (model.inputs[0].shape as number[]).slice(1);
    const r = streamFor(3, 'x');
    const x = tf.tensor(
      Float32Array.from({ length: 4 * 784 }, () => r.uniform()),
      [4, ...shape],
    );
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((model.predict(x) as tf.Tensor).dataSync()),
    );
    // Without a network.json, loadNetwork exports the TF.js model: the same description as our export.
    const desc = await loadNetwork(dir);
    const ours = exportDescription(model, { name: 'x' });
    expect(desc.layers.map((l) => l.kind)).toEqual(ours.layers.map((l) => l.kind));
    expect(desc.meta).toEqual({ source: 'tfjs-layers', dir });
  });
});

describe('a Keras model converted by tensorflowjs_converter', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'model.json'), 'utf8'));
  // The shard read directly: kernel [784, 8], bias [8], kernel [8, 10], bias [10], float32 little-endian.
  const shard = fs.readFileSync(path.join(FIXTURE, 'group1-shard1of1.bin'));
  const floats = new Float32Array(shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength));
  const w1 = floats.subarray(0, 6272);
  const b1 = floats.subarray(6272, 6280);
  const w2 = floats.subarray(6280, 6360);
  const b2 = floats.subarray(6360, 6370);

  /** The MLP in float64, straight from the shard: softmax(relu(x W1 + b1) W2 + b2). */
  function reference(x: Float32Array): number[] {
    const h = Array.from(b1, Number);
    for (let i = 0; i < 784; i++) if (x[i] !== 0) for (let j = 0; j < 8; j++) h[j] += x[i] * w1[i * 8 + j];
    const z = Array.from(b2, Number);
    for (let j = 0; j < 8; j++) for (let k = 0; k < 10; k++) z[k] += Math.max(0, h[j]) * w2[j * 10 + k];
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  }

  test('the fixture is what the converter writes for a Keras Sequential model', () => {
    expect(manifest.format).toBe('layers-model');
    expect(manifest.modelTopology.backend).toBe('tensorflow');
    expect(manifest.modelTopology.model_config.class_name).toBe('Sequential');
    expect(floats.length).toBe(784 * 8 + 8 + 8 * 10 + 10);
  });

  test('loadNetwork reads it into a description with the shard weights', async () => {
    const desc = await loadNetwork(FIXTURE);
    expect(desc.inputShape).toEqual([784]);
    expect(desc.input).toEqual({});
    expect(desc.layers.map((l) => [l.kind, l.name, (l as DenseLayer).activation])).toEqual([
      ['dense', 'dense', 'relu'],
      ['dense', 'dense_1', 'softmax'],
    ]);
    const [d1, d2] = desc.layers as DenseLayer[];
    expect(d1.weights.shape).toEqual([784, 8]);
    expect(d2.weights.shape).toEqual([8, 10]);
    expect(d1.weights.data).toEqual(w1);
    expect(d1.bias!.data).toEqual(b1);
    expect(d2.weights.data).toEqual(w2);
    expect(d2.bias!.data).toEqual(b2);
    expect(d1.weightQuantization).toEqual({ kind: 'float' });
  });

  test('the digital forward pass evaluates it like our own models', async () => {
    const desc = await loadNetwork(FIXTURE);
    const test = loadDataset('mnist', { limit: 1, testLimit: 300 }).test;
    const out = runLayers(desc, prepareInput(desc, test.images, test.count)).data;
    let worst = 0;
    let hits = 0;
    let refHits = 0;
    const predicted = classify(desc, test.images, test.count);
    for (let n = 0; n < test.count; n++) {
      const p = reference(test.images.subarray(n * 784, (n + 1) * 784));
      for (let k = 0; k < 10; k++) worst = Math.max(worst, Math.abs(out[n * 10 + k] - p[k]));
      const best = p.indexOf(Math.max(...p));
      if (best === test.labels[n]) refHits++;
      if (predicted[n] === test.labels[n]) hits++;
    }
    expect(worst).toBeLessThan(1e-5);
    expect(hits).toBe(refHits);
    // The fixture holds trained weights (784-8-10 on grey MNIST), far above chance.
    expect(hits / test.count).toBeGreaterThan(0.75);
    // A binarisation threshold can be set for models that carry none.
    expect((await loadNetwork(FIXTURE, { binarizeThreshold: 0.1 })).input).toEqual({
      binarizeThreshold: 0.1,
    });
  });
});

describe('bad model directories are input errors naming the problem', () => {
  /** A copy of the Keras fixture with one change. */
  function brokenCopy(name: string, breakIt: (dir: string) => void): string {
    const dir = path.join(root, name);
    fs.cpSync(FIXTURE, dir, { recursive: true });
    breakIt(dir);
    return dir;
  }
  const shardOf = (dir: string) => path.join(dir, 'group1-shard1of1.bin');
  const jsonOf = (dir: string) => path.join(dir, 'model.json');

  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['no model.json', (d) => fs.rmSync(jsonOf(d)), /has no model\.json/],
    ['model.json not JSON', (d) => fs.writeFileSync(jsonOf(d), '{"format": '), /model\.json: not valid JSON/],
    [
      'not a layers model',
      (d) => fs.writeFileSync(jsonOf(d), '{"format": "graph-model"}'),
      /not a TF\.js layers model/,
    ],
    ['missing weight shard', (d) => fs.rmSync(shardOf(d)), /weight file group1-shard1of1\.bin is missing/],
    [
      'truncated weight shard',
      (d) => fs.truncateSync(shardOf(d), 1000),
      /weight files hold 1000 bytes, the manifest describes 25480 \(truncated or mismatched\)/,
    ],
    [
      'unknown layer class',
      (d) => fs.writeFileSync(jsonOf(d), fs.readFileSync(jsonOf(d), 'utf8').replace('"Dense"', '"Dense3D"')),
      /cannot load model .*Dense3D/,
    ],
  ];
  test.each(cases)('%s', async (name, breakIt, message) => {
    const dir = brokenCopy(name.replace(/\W+/g, '-'), breakIt);
    const attempt = loadNetwork(dir);
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(message);
  });

  test('a missing directory', async () => {
    await expect(loadNetwork(path.join(root, 'absent'))).rejects.toThrow(
      /^model directory not found: .*absent$/,
    );
  });
});
