/**
 * Our wasm Conv2DBackpropFilter against TF.js's cpu kernel (the reference implementation) on random
 * shapes, strides, paddings, batch sizes and channel counts; and CNN training on wasm through it.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/nn/backend';
import { parseArch } from '../src/nn/arch';
import { buildModel } from '../src/nn/model';
import { trainModel } from '../src/nn/train';
import { windowColumns, type WindowGeometry } from '../src/nn/kernels/conv2dBackpropFilter';
import { streamFor, type RandomStream } from '../src/util/random';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  fH: number;
  fW: number;
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const normals = (rng: RandomStream, n: number) => {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a;
};

/** dW of conv2d(x, w) for output gradient dy, by the backend's Conv2DBackpropFilter kernel. */
async function backpropFilter(
  backend: string,
  c: Case,
  x: Float32Array,
  dy: Float32Array,
  dyShape: number[],
) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const out = tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, [c.batch, c.inH, c.inW, c.inC]), dy: tf.tensor(dy, dyShape) },
        {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          dimRoundingMode: c.dimRoundingMode,
          filterShape: [c.fH, c.fW, c.inC, c.outC],
        } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
    return { shape: out.shape, data: Float32Array.from(out.dataSync()) };
  });
}

/** Largest difference, relative to the reference's scale (float32 sums of up to a few hundred terms). */
function worstError(got: Float32Array, want: Float32Array): number {
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

function randomCase(rng: RandomStream, i: number): Case {
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)];
  const fH = 1 + rng.int(4);
  const fW = 1 + rng.int(4);
  const pads: Pad[] = ['same', 'valid'];
  return {
    batch: 1 + rng.int(4),
    inH: fH + rng.int(9),
    inW: fW + rng.int(9),
    inC: 1 + rng.int(4),
    outC: 1 + rng.int(6),
    fH,
    fW,
    // Every combination of (1, 2) strides comes up; same and valid alternate.
    strides: [pick([1, 2]), pick([1, 2])],
    pad: pads[i % 2],
  };
}

const rng = streamFor(2024, 'conv2d-backprop-filter');
const cases: Case[] = Array.from({ length: 24 }, (_, i) => randomCase(rng.child('case', i), i));
// Fixed corners: 1x1 filter, filter as large as the input, odd sizes with stride 2, explicit and
// numeric paddings with rounding, and the first-study CNN's first layer on a small batch.
cases.push(
  { batch: 2, inH: 5, inW: 5, inC: 3, outC: 2, fH: 1, fW: 1, strides: [2, 2], pad: 'same' },
  { batch: 1, inH: 4, inW: 3, inC: 2, outC: 3, fH: 4, fW: 3, strides: [1, 1], pad: 'valid' },
  { batch: 3, inH: 7, inW: 9, inC: 2, outC: 4, fH: 3, fW: 2, strides: [2, 2], pad: 'same' },
  {
    batch: 2,
    inH: 6,
    inW: 7,
    inC: 2,
    outC: 3,
    fH: 3,
    fW: 3,
    strides: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    batch: 2,
    inH: 8,
    inW: 7,
    inC: 1,
    outC: 2,
    fH: 3,
    fW: 3,
    strides: [2, 2],
    pad: 1,
    dimRoundingMode: 'ceil',
  },
  {
    batch: 2,
    inH: 8,
    inW: 7,
    inC: 1,
    outC: 2,
    fH: 3,
    fW: 3,
    strides: [2, 2],
    pad: 1,
    dimRoundingMode: 'floor',
  },
  { batch: 4, inH: 28, inW: 28, inC: 1, outC: 8, fH: 3, fW: 3, strides: [1, 1], pad: 'valid' },
);

beforeAll(async () => {
  await initBackend('wasm');
});

describe('wasm Conv2DBackpropFilter matches the cpu kernel', () => {
  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))('case %d: %s', async (i, _label, c) => {
    const r = rng.child('data', i);
    const x = normals(r, c.batch * c.inH * c.inW * c.inC);
    // The output shape that conv2d would give, from TF.js's own shape rules.
    const info = tf.backend_util.computeConv2DInfo(
      [c.batch, c.inH, c.inW, c.inC],
      [c.fH, c.fW, c.inC, c.outC],
      c.strides,
      1,
      c.pad,
      c.dimRoundingMode,
    );
    const dyShape = info.outShape;
    const dy = normals(
      r,
      dyShape.reduce((a, b) => a * b, 1),
    );
    const want = await backpropFilter('cpu', c, x, dy, dyShape);
    const got = await backpropFilter('wasm', c, x, dy, dyShape);
    expect(got.shape).toEqual([c.fH, c.fW, c.inC, c.outC]);
    expect(want.shape).toEqual(got.shape);
    expect(worstError(got.data, want.data)).toBeLessThan(1e-5);
  });
});

describe('windowColumns (the im2col copy inside the kernel)', () => {
  /** The definition, element by element: the padded channels-first input at each window tap. */
  function direct(xc: Float32Array, g: WindowGeometry): Float32Array {
    const out: number[] = [];
    for (let i = 0; i < g.fH; i++)
      for (let j = 0; j < g.fW; j++)
        for (let c = 0; c < g.channels; c++)
          for (let b = 0; b < g.batch; b++)
            for (let y = 0; y < g.outH; y++)
              for (let x = 0; x < g.outW; x++) {
                const row = y * g.sH + i - g.top;
                const col = x * g.sW + j - g.left;
                const inside = row >= 0 && row < g.inH && col >= 0 && col < g.inW;
                out.push(inside ? xc[((c * g.batch + b) * g.inH + row) * g.inW + col] : 0);
              }
    return Float32Array.from(out);
  }

  test.each(Array.from({ length: 40 }, (_, i) => i))('random geometry %d, bit for bit', (i) => {
    const r = rng.child('windows', i);
    const fH = 1 + r.int(4);
    const fW = 1 + r.int(4);
    const g: WindowGeometry = {
      channels: 1 + r.int(3),
      batch: 1 + r.int(3),
      inH: 1 + r.int(9),
      inW: 1 + r.int(9),
      fH,
      fW,
      sH: 1 + r.int(3),
      sW: 1 + r.int(3),
      // Padding may exceed the filter (windows wholly in the padding) and outputs may reach past the
      // input (rounding modes): both must read zeros.
      top: r.int(fH + 1),
      left: r.int(fW + 1),
      outH: 1 + r.int(6),
      outW: 1 + r.int(6),
    };
    const xc = normals(r, g.channels * g.batch * g.inH * g.inW);
    const want = direct(xc, g);
    const got = new Float32Array(want.length).fill(NaN);
    windowColumns(xc, g, got);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});

describe('training through the kernel on wasm', () => {
  afterEach(async () => {
    await tf.setBackend('wasm');
  });

  /** Gradient of a small loss with respect to a conv filter, via tf.grad (the path training uses). */
  async function filterGradient(backend: string, strides: [number, number], pad: 'same' | 'valid') {
    await tf.setBackend(backend);
    const r = streamFor(5, 'grad', strides.join('x'), pad);
    const x = tf.tensor4d(normals(r, 2 * 9 * 8 * 3), [2, 9, 8, 3]);
    const w = tf.tensor4d(normals(r, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
    const g = tf.grad((f) =>
      tf
        .conv2d(x, f as tf.Tensor4D, strides, pad)
        .relu()
        .square()
        .sum(),
    )(w);
    const data = Float32Array.from(g.dataSync());
    tf.dispose([x, w, g]);
    return data;
  }

  test.each([
    [[1, 1], 'valid'],
    [[2, 2], 'same'],
    [[1, 2], 'same'],
  ] as Array<[[number, number], 'same' | 'valid']>)(
    'tf.grad of conv2d, strides %j, padding %s',
    async (strides, pad) => {
      const want = await filterGradient('cpu', strides, pad);
      const got = await filterGradient('wasm', strides, pad);
      expect(worstError(got, want)).toBeLessThan(1e-5);
    },
  );

  test('the kernel leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() =>
        tf
          .grad((f) => tf.conv2d(x, f as tf.Tensor4D, 2, 'same').sum())(w)
          .dataSync(),
      );
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  test('a tiny CNN trains for one epoch on wasm and its conv filters move', async () => {
    await tf.setBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const model = buildModel(parseArch('cnn:c4p2:h16'), 3);
    const conv = model.layers.find((l) => l.getClassName() === 'Conv2D')!;
    const before = Float32Array.from(conv.getWeights()[0].dataSync());
    const r = streamFor(9, 'images');
    const count = 96;
    const images = Float32Array.from({ length: count * 784 }, () => (r.uniform() < 0.2 ? 1 : 0));
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    const logs = await trainModel(
      model,
      { images, labels, count },
      {
        epochs: 1,
        batchSize: 16,
        learningRate: 0.05,
        momentum: 0.9,
        validationSplit: 0,
        seed: 1,
      },
    );
    expect(logs).toHaveLength(1);
    expect(Number.isFinite(logs[0].loss)).toBe(true);
    const after = conv.getWeights()[0].dataSync();
    let moved = 0;
    for (let i = 0; i < before.length; i++) if (Math.abs(after[i] - before[i]) > 1e-7) moved++;
    expect(moved).toBeGreaterThan(before.length / 2);
    model.dispose();
  });
});
