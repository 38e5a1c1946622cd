import * as tf from '@tensorflow/tfjs';
import { exportDescription } from '../src/nn/export';
import { im2col, runLayers, prepareInput } from '../src/nn/forward';
import { deserializeDescription, serializeDescription } from '../src/nn/description';
import { streamFor } from '../src/util/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomBatchNormWeights(model: tf.LayersModel, seed: number) {
  const rng = streamFor(seed, 'bn');
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.getWeights().map((w, i) =>
        tf.tensor(
          Float32Array.from({ length: w.size }, () => (i === 3 ? 0.5 + rng.uniform() : rng.normal() * 0.3)),
          w.shape,
        ),
      ),
    );
  }
}

function compare(model: tf.LayersModel, inputShape: number[], seed: number) {
  const rng = streamFor(seed, 'input');
  const n = 5;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * size }, () => rng.uniform());
  const expected = (model.predict(tf.tensor(x, [n, ...inputShape])) as tf.Tensor).dataSync();
  const desc = exportDescription(model, { name: 't' });
  const got = runLayers(desc, prepareInput(desc, x, n)).data;
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i], 4);
  return desc;
}

describe('digital forward pass matches TF.js', () => {
  test('MLP with relu, sigmoid, tanh and softmax', () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ units: 7, activation: 'relu', inputShape: [12] }));
    m.add(tf.layers.dense({ units: 5, activation: 'sigmoid' }));
    m.add(tf.layers.dense({ units: 4, activation: 'tanh', useBias: false }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    compare(m, [12], 1);
  });

  test.each([
    ['valid', 1, 'valid'],
    ['same', 2, 'same'],
    ['same', 1, 'valid'],
  ])('CNN conv padding %s stride %d, pool padding %s, batch norm', (pad, stride, poolPad) => {
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: stride as number,
        padding: pad as 'same',
        inputShape: [9, 8, 2],
      }),
    );
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.activation({ activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: poolPad as 'same' }));
    m.add(tf.layers.conv2d({ filters: 3, kernelSize: [2, 3], activation: 'relu' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 6, activation: 'relu' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    randomBatchNormWeights(m, 2);
    compare(m, [9, 8, 2], 3);
  });

  test('description survives serialisation bit for bit', () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [6, 6, 1] }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const desc = exportDescription(m, { name: 'rt', binarizeThreshold: 0.1, meta: { a: 1 } });
    const back = deserializeDescription(serializeDescription(desc));
    expect(back.input).toEqual({ binarizeThreshold: 0.1 });
    expect(back.meta).toEqual({ a: 1 });
    expect(back.layers.length).toBe(desc.layers.length);
    for (let i = 0; i < desc.layers.length; i++) {
      const a = desc.layers[i];
      const b = back.layers[i];
      expect(b.kind).toBe(a.kind);
      if ((a.kind === 'dense' || a.kind === 'conv2d') && (b.kind === 'dense' || b.kind === 'conv2d')) {
        expect(b.weights.shape).toEqual(a.weights.shape);
        expect(Array.from(b.weights.data)).toEqual(Array.from(a.weights.data));
        expect(Array.from(b.bias!.data)).toEqual(Array.from(a.bias!.data));
      }
    }
  });

  test('bad descriptions are rejected with the field named', () => {
    expect(() => deserializeDescription('{"format":"other"}')).toThrow(/"format"/);
    expect(() => deserializeDescription('{"format":"xbarsim-network","version":9}')).toThrow(/"version"/);
    expect(() => deserializeDescription('not json')).toThrow(/not valid JSON/);
  });
});

test('many images run in chunks give exactly the outputs of each image run alone', () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  const desc = exportDescription(model, { name: 'chunks' });
  const rng = streamFor(9, 'chunks');
  const n = 2500; // more than two chunks, the last one partial
  const x = Float32Array.from({ length: n * 64 }, () => rng.uniform());
  const all = runLayers(desc, prepareInput(desc, x, n));
  expect(all.count).toBe(n);
  expect(all.data.length).toBe(n * 4);
  for (const i of [0, 1023, 1024, 2047, 2048, 2499]) {
    const one = runLayers(desc, prepareInput(desc, x.subarray(i * 64, (i + 1) * 64), 1));
    expect(all.data.subarray(i * 4, (i + 1) * 4)).toEqual(one.data);
  }
  model.dispose();
});

describe('im2col', () => {
  // Patch (oy, ox), element (ky, kx, c) = input (oy s + ky - padT, ox s + kx - padL, c), 0 outside;
  // 'same' pads as TF does: total max((out - 1) s + k - in, 0), the smaller half before.
  function naive(img: Float32Array, [h, w, c]: number[], k: number, s: number, same: boolean): number[] {
    const oh = same ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
    const ow = same ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
    const padT = same ? Math.floor(Math.max((oh - 1) * s + k - h, 0) / 2) : 0;
    const padL = same ? Math.floor(Math.max((ow - 1) * s + k - w, 0) / 2) : 0;
    const out: number[] = [];
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++)
            for (let ch = 0; ch < c; ch++) {
              const y = oy * s + ky - padT;
              const x = ox * s + kx - padL;
              out.push(y < 0 || y >= h || x < 0 || x >= w ? 0 : img[(y * w + x) * c + ch]);
            }
    return out;
  }

  // 16 and 32 channels: kernel rows of 48 and 96 inputs take the block copy; 1 and 3 the element loop.
  test.each([
    [1, 'valid', 1],
    [3, 'same', 1],
    [16, 'same', 1],
    [16, 'same', 2],
    [32, 'valid', 1],
    [32, 'valid', 2],
  ])('%d channels, padding %s, stride %d: each patch as the definition', (c, padding, s) => {
    const shape = [7, 6, c];
    const rng = streamFor(3, 'im2col');
    const size = shape[0] * shape[1] * c;
    // Two images back to back, the second read at an offset.
    const imgs = Float32Array.from({ length: 2 * size }, () => rng.normal());
    const expected = naive(imgs.subarray(size), shape, 3, s, padding === 'same');
    const out = new Float32Array(expected.length + 5).fill(NaN);
    im2col(imgs, size, shape, 3, 3, [s, s], padding as 'same', out, 5);
    expect(Array.from(out.subarray(5))).toEqual(expected.map((v) => Math.fround(v)));
    expect(Array.from(out.subarray(0, 5)).every(Number.isNaN)).toBe(true);
  });
});
