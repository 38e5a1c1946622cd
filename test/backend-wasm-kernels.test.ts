/**
 * The wasm kernels xbarsim replaces (BatchMatMul with transposed operands, Conv2DBackpropInput,
 * MaxPoolGrad, Slice, Identity, GatherV2, Tile, Sum, Mean) against
 * TF.js's cpu kernels, and whole-network gradients on wasm against cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/nn/backend';
import { parseArch } from '../src/nn/arch';
import { registerWasmKernels } from '../src/nn/kernels';
import { maxPoolGradNonOverlapping } from '../src/nn/kernels/maxPoolGrad';
import { maxPoolGradSimd } from '../src/nn/kernels/maxPoolGradSimd';
import { buildModel } from '../src/nn/model';
import { streamFor, type RandomStream } from '../src/util/random';

const normals = (rng: RandomStream, n: number) => {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a;
};
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Largest difference relative to the reference's largest magnitude. */
function worstError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

/** Run `op` on fresh tensors built from the same data on `backend`; returns the result's shape and data. */
async function on(
  backend: string,
  data: Array<[Float32Array, number[]]>,
  op: (...t: tf.Tensor[]) => tf.Tensor,
) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const out = op(...data.map(([d, s]) => tf.tensor(d, s)));
    return { shape: out.shape, data: Float32Array.from(out.dataSync()) };
  });
}

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('wasm');
});

describe('BatchMatMul with transposed operands', () => {
  // [a shape as stored, b shape as stored]; transposes are applied on top. Shapes range from a tall
  // operand with a small partner (one rewrite form wins) to square ones (the other), with batches.
  const shapes: Array<[number[], number[], boolean, boolean]> = [];
  const pairs: Array<[number, number, number]> = [
    [32, 200, 16],
    [200, 32, 3],
    [7, 5, 9],
    [1, 64, 1],
    [64, 1, 64],
  ];
  for (const [m, k, n] of pairs)
    for (const ta of [false, true])
      for (const tb of [false, true]) shapes.push([ta ? [k, m] : [m, k], tb ? [n, k] : [k, n], ta, tb]);
  shapes.push(
    [[3, 4, 6], [3, 5, 4], true, true],
    [[1, 6, 4], [2, 6, 5], true, false],
    [[2, 4, 6], [5, 6], false, true],
  );
  shapes.push([[2, 6, 4], [1, 5, 4], false, true]);

  test.each(shapes.map((s, i) => [i, JSON.stringify(s), s] as const))(
    'case %d: %s',
    async (i, _label, [aShape, bShape, ta, tb]) => {
      const r = streamFor(7, 'matmul', i);
      const data: Array<[Float32Array, number[]]> = [
        [normals(r, size(aShape)), aShape],
        [normals(r, size(bShape)), bShape],
      ];
      const want = await on('cpu', data, (a, b) => tf.matMul(a, b, ta, tb));
      const got = await on('wasm', data, (a, b) => tf.matMul(a, b, ta, tb));
      expect(got.shape).toEqual(want.shape);
      expect(worstError(got.data, want.data)).toBeLessThan(1e-5);
    },
  );
});

describe('float32 products a . b and a^T . b (gemmSimd, or XNNPACK above 512 plain rows)', () => {
  /** XNNPACK's arithmetic: from +0, each product rounded to float32, then each addition, k in order. */
  function reference(at: (i: number, p: number) => number, b: Float32Array, m: number, k: number, n: number) {
    const c = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(at(i, p) * b[p * n + j]));
        c[i * n + j] = acc;
      }
    return c;
  }

  // [m, k, n, transposeA, batch axis]: row blocks of 4 with 1-3 left over, column blocks of 8, 4 and 1,
  // k = 0, rank 3, both sides of the 512-row switch (the kernels must agree, bit for bit, with each other
  // and the reference), and transposed A as in a weight gradient x^T dy.
  const cases: Array<[number, number, number, boolean, boolean]> = [
    [9, 300, 32, false, false],
    [5, 7, 13, false, false],
    [34, 77, 29, false, false],
    [3, 0, 5, false, false],
    [4, 6, 5, false, true],
    [512, 20, 9, false, false],
    [513, 20, 9, false, false],
    [37, 32, 21, true, false],
    [600, 32, 12, true, false],
    [6, 5, 3, true, true],
  ];
  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))(
    'case %d: %s, NaN, infinities and -0 included',
    (i, _label, [m, k, n, transposeA, batched]) => {
      const r = streamFor(8, 'plain-matmul', i);
      // -0 anywhere; NaN and infinities only in op(A)'s first row and B's first column, so that they
      // reach some sums and leave the others finite.
      const fill = (len: number) =>
        Float32Array.from({ length: len }, () => (r.uniform() < 0.05 ? -0 : r.normal()));
      const a = fill(m * k);
      const b = fill(k * n);
      const aIndex = (row: number, p: number) => (transposeA ? p * m + row : row * k + p);
      const specials = [NaN, Infinity, -Infinity];
      for (let p = 0; p < k; p += 7) {
        a[aIndex(0, p)] = specials[r.int(3)];
        b[p * n] = specials[r.int(3)];
      }
      const lead = batched ? [1] : [];
      const got = tf.tidy(() => {
        const aT = tf.tensor(a, [...lead, ...(transposeA ? [k, m] : [m, k])]);
        const out = tf.matMul(aT, tf.tensor(b, [...lead, k, n]), transposeA, false);
        return { shape: out.shape, data: Float32Array.from(out.dataSync()) };
      });
      expect(got.shape).toEqual([...lead, m, n]);
      const want = reference((row, p) => a[aIndex(row, p)], b, m, k, n);
      for (let e = 0; e < want.length; e++)
        if (!Object.is(got.data[e], want[e])) expect([e, got.data[e]]).toEqual([e, want[e]]);
    },
  );
});

describe('fused dense products (gemmSimd up to 512 rows, XNNPACK above)', () => {
  // XNNPACK's fused product: sums from the bias (+0 without one), then ReLU as "0 < x ? x : 0" (NaN
  // gives 0); sigmoid is the backend's sigmoid of the linear result.
  const cases: Array<[number, number, number, 'linear' | 'relu' | 'sigmoid', boolean]> = [];
  for (const m of [7, 600])
    for (const activation of ['linear', 'relu', 'sigmoid'] as const)
      for (const withBias of [true, false]) cases.push([m, 45, 21, activation, withBias]);
  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))(
    'case %d: %s',
    (i, _label, [m, k, n, activation, withBias]) => {
      const r = streamFor(9, 'fused-matmul', i);
      const fill = (len: number) =>
        Float32Array.from({ length: len }, () => (r.uniform() < 0.05 ? -0 : r.normal()));
      const a = fill(m * k);
      const b = fill(k * n);
      const bias = fill(n);
      a[0] = NaN; // row 0: NaN sums, which ReLU turns to 0
      const linear = new Float32Array(m * n);
      for (let row = 0; row < m; row++)
        for (let j = 0; j < n; j++) {
          let acc = withBias ? bias[j] : 0;
          for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(a[row * k + p] * b[p * n + j]));
          linear[row * n + j] = acc;
        }
      const want =
        activation === 'relu'
          ? linear.map((v) => (0 < v ? v : 0))
          : activation === 'sigmoid'
            ? tf.tidy(() => Float32Array.from(tf.sigmoid(tf.tensor(linear)).dataSync()))
            : linear;
      const got = tf.tidy(() =>
        Float32Array.from(
          tf.fused
            .matMul({
              a: tf.tensor2d(a, [m, k]),
              b: tf.tensor2d(b, [k, n]),
              bias: withBias ? tf.tensor1d(bias) : undefined,
              activation,
            })
            .dataSync(),
        ),
      );
      for (let e = 0; e < want.length; e++)
        if (!Object.is(got[e], want[e])) expect([e, got[e]]).toEqual([e, want[e]]);
    },
  );
});

describe('Conv2DBackpropInput', () => {
  type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
  const rng = streamFor(11, 'backprop-input');
  const cases: Array<{ x: number[]; f: number[]; strides: [number, number]; pad: Pad }> = [];
  for (let i = 0; i < 20; i++) {
    const r = rng.child(i);
    const fH = 1 + r.int(4);
    const fW = 1 + r.int(4);
    cases.push({
      x: [1 + r.int(3), fH + r.int(8), fW + r.int(8), 1 + r.int(4)],
      f: [fH, fW, 0, 1 + r.int(5)],
      strides: i < 14 ? [1, 1] : [1 + r.int(2), 2],
      pad: i % 2 ? 'same' : 'valid',
    });
  }
  cases.push(
    { x: [2, 13, 13, 32], f: [3, 3, 0, 64], strides: [1, 1], pad: 'valid' }, // paper2's second conv
    {
      x: [2, 7, 6, 3],
      f: [3, 2, 0, 4],
      strides: [1, 1],
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
    {
      x: [1, 6, 6, 2],
      f: [2, 2, 0, 3],
      strides: [1, 1],
      pad: [
        [0, 0],
        [3, 0],
        [0, 0],
        [0, 0],
      ],
    }, // wider than the filter
  );
  for (const c of cases) c.f[2] = c.x[3];

  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))('case %d: %s', async (i, _label, c) => {
    const r = streamFor(12, 'backprop-input-data', i);
    const info = tf.backend_util.computeConv2DInfo(
      c.x as [number, number, number, number],
      c.f as [number, number, number, number],
      c.strides,
      1,
      c.pad,
    );
    const data: Array<[Float32Array, number[]]> = [
      [normals(r, size(info.outShape)), info.outShape],
      [normals(r, size(c.f)), c.f],
    ];
    const kernel = (dy: tf.Tensor, filter: tf.Tensor) =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const want = await on('cpu', data, kernel);
    const got = await on('wasm', data, kernel);
    expect(got.shape).toEqual(c.x);
    expect(worstError(got.data, want.data)).toBeLessThan(1e-5);
  });
});

describe('Slice and Identity', () => {
  const rng = streamFor(15, 'slice');
  const cases: Array<{ shape: number[]; begin: number[]; size: number[] }> = [];
  for (let i = 0; i < 24; i++) {
    const r = rng.child(i);
    const rank = 1 + (i % 5);
    const shape = Array.from({ length: rank }, () => 1 + r.int(6));
    const begin = shape.map((n) => r.int(n));
    // -1 means "to the end"; a 0 gives an empty slice.
    const size = shape.map((n, d) =>
      r.int(5) === 0 ? -1 : i === 7 && d === 0 ? 0 : 1 + r.int(n - begin[d]),
    );
    cases.push({ shape, begin, size });
  }
  // Runs along the last axis long enough for the block copy (short ones are copied by hand).
  cases.push(
    { shape: [3, 150], begin: [1, 7], size: [2, 130] },
    { shape: [2, 3, 200], begin: [0, 1, 0], size: [2, 2, -1] },
  );
  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))('slice %d: %s', async (i, _l, c) => {
    const data: Array<[Float32Array, number[]]> = [[normals(streamFor(16, i), size(c.shape)), c.shape]];
    const want = await on('cpu', data, (x) => tf.slice(x, c.begin, c.size));
    const got = await on('wasm', data, (x) => tf.slice(x, c.begin, c.size));
    expect(got.shape).toEqual(want.shape);
    expect(got.data).toEqual(want.data);
  });

  test('int32 slices and identity copies that outlive their source', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expect(Array.from(tf.slice(x, [0, 1], [2, 2]).dataSync())).toEqual([2, 3, 5, 6]);
    const before = tf.memory().numTensors;
    const y = tf.clone(x); // Identity: shares the data
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });
});

describe('GatherV2', () => {
  const rng = streamFor(17, 'gather');
  const cases: Array<{ shape: number[]; axis: number; indices: number[]; indexShape: number[] }> = [
    // a training batch: 32 of 200 images, some twice
    {
      shape: [200, 28, 28, 1],
      axis: 0,
      indices: Array.from({ length: 32 }, (_, k) => (k * 37) % 200),
      indexShape: [32],
    },
  ];
  for (let i = 0; i < 16; i++) {
    const r = rng.child(i);
    const rank = 1 + (i % 4);
    const shape = Array.from({ length: rank }, () => 1 + r.int(5));
    const axis = r.int(rank);
    const indexShape = i % 3 === 0 ? [2, 1 + r.int(3)] : [1 + r.int(6)];
    const indices = Array.from({ length: size(indexShape) }, () => r.int(shape[axis]));
    cases.push({ shape, axis, indices, indexShape });
  }
  test.each(cases.map((c, i) => [i, JSON.stringify(c.shape), c] as const))(
    'gather %d: %s',
    async (i, _l, c) => {
      const data: Array<[Float32Array, number[]]> = [[normals(streamFor(18, i), size(c.shape)), c.shape]];
      const op = (x: tf.Tensor) => tf.gather(x, tf.tensor(c.indices, c.indexShape, 'int32'), c.axis);
      const want = await on('cpu', data, op);
      const got = await on('wasm', data, op);
      expect(got.shape).toEqual(want.shape);
      expect(got.data).toEqual(want.data);
    },
  );

  test('int32 values; an index out of range is an error that leaves no tensor behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const idx = tf.tensor1d([2, 0, 2], 'int32');
    const g = tf.gather(x, idx);
    expect(g.dtype).toBe('int32');
    expect(Array.from(g.dataSync())).toEqual([5, 6, 1, 2, 5, 6]);
    g.dispose();
    const bad = tf.tensor1d([1, 3], 'int32');
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, bad)).toThrow(/index 3 is not in \[0, 2\]/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, idx, bad]);
  });
});

describe('Tile, Sum and Mean', () => {
  const tiles: Array<[number[], number[]]> = [
    [
      [1, 1, 1, 32],
      [4, 5, 6, 1],
    ], // batch norm's gradient
    [
      [3, 1, 2],
      [2, 4, 3],
    ],
    [[5], [7]],
    [
      [2, 3],
      [1, 1],
    ],
    [
      [4, 1],
      [1, 3],
    ],
    [
      [2, 1, 3, 1],
      [1, 3, 1, 2],
    ],
    [
      [2, 3],
      [0, 2],
    ],
  ];
  test.each(tiles.map((c, i) => [i, JSON.stringify(c), c] as const))(
    'tile %d: %s',
    async (i, _l, [shape, reps]) => {
      const data: Array<[Float32Array, number[]]> = [[normals(streamFor(21, i), size(shape)), shape]];
      const want = await on('cpu', data, (x) => tf.tile(x, reps));
      const got = await on('wasm', data, (x) => tf.tile(x, reps));
      expect(got.shape).toEqual(want.shape);
      expect(got.data).toEqual(want.data);
    },
  );

  test('int32 and bool tiles keep their dtype and values', async () => {
    await tf.setBackend('wasm');
    const i = tf.tile(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), [2, 1]);
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    const b = tf.tile(tf.tensor1d([true, false], 'bool'), [3]);
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.dataSync())).toEqual([1, 0, 1, 0, 1, 0]);
    tf.dispose([i, b]);
  });

  // [shape, axes, keepDims]: leading axes (the fast path, with row counts around the 8-row unrolling)
  // and others (the original kernels).
  const reductions: Array<[number[], number[] | number, boolean]> = [
    [[32, 26, 26, 32], [0, 1, 2], false],
    [[7, 3, 5], [0], true],
    [[9, 4], 0, false],
    [[3, 5, 2], [1, 0], true],
    [[1, 6], [0], false],
    [[4, 5, 6], [2], false],
    [[4, 5, 6], [0, 2], false],
    [[4, 5], [0, 1], true],
  ];
  test.each(reductions.map((c, i) => [i, JSON.stringify(c), c] as const))(
    'sum and mean %d: %s',
    async (i, _l, [shape, axes, keepDims]) => {
      const data: Array<[Float32Array, number[]]> = [[normals(streamFor(22, i), size(shape)), shape]];
      for (const op of [tf.sum, tf.mean]) {
        const want = await on('cpu', data, (x) => op(x, axes, keepDims));
        const got = await on('wasm', data, (x) => op(x, axes, keepDims));
        expect(got.shape).toEqual(want.shape);
        expect(worstError(got.data, want.data)).toBeLessThan(1e-5);
      }
    },
  );
});

describe('MaxPoolGrad', () => {
  // [x shape, pool, strides, pad]: non-overlapping pools (the fast path), sizes that leave a ragged
  // edge, and an overlapping pool (handed to the original kernel). Padded ('same') pools are left out:
  // there the original wasm kernel itself disagrees with cpu (tfjs 4.22), and no xbarsim network pads.
  const cases: Array<[number[], [number, number], [number, number], 'valid' | 'same']> = [
    [[2, 26, 26, 32], [2, 2], [2, 2], 'valid'],
    [[3, 26, 26, 5], [3, 3], [3, 3], 'valid'],
    [[1, 13, 11, 7], [4, 4], [4, 4], 'valid'],
    [[2, 9, 8, 3], [2, 3], [2, 3], 'valid'],
    [[1, 8, 8, 1], [8, 8], [8, 8], 'valid'],
    [[2, 7, 7, 4], [3, 3], [2, 2], 'valid'],
    // Channels in fours: the SIMD kernel, with ragged edges, the second conv of paper2:* and a big pool.
    [[2, 26, 26, 8], [3, 3], [3, 3], 'valid'],
    [[1, 13, 11, 16], [4, 4], [4, 4], 'valid'],
    [[2, 11, 11, 64], [2, 2], [2, 2], 'valid'],
    [[1, 16, 16, 4], [8, 8], [8, 8], 'valid'],
  ];
  test.each(cases.map((c, i) => [i, JSON.stringify(c), c] as const))(
    'case %d: %s',
    async (i, _label, [shape, pool, strides, pad]) => {
      const r = streamFor(14, 'max-pool-grad', i);
      // Fast path: values on a coarse grid, many of them 0 as after a ReLU, so windows hold ties: the
      // gradient must go to the first maximum of each window, as on cpu. The original kernel (the
      // overlapping and padded cases) breaks ties its own way, so those get distinct values.
      const fastPath = pad === 'valid' && pool[0] === strides[0] && pool[1] === strides[1];
      const x = fastPath
        ? Float32Array.from({ length: size(shape) }, () => Math.max(0, r.int(7) - 3))
        : normals(r, size(shape));
      const info = tf.backend_util.computePool2DInfo(
        shape as [number, number, number, number],
        pool,
        strides,
        1,
        pad,
      );
      const dy = normals(r, size(info.outShape));
      const kernel = (input: tf.Tensor, dyT: tf.Tensor) =>
        tf
          .engine()
          .runKernel(
            'MaxPoolGrad',
            { dy: dyT, input, output: tf.maxPool(input as tf.Tensor4D, pool, strides, pad) },
            { filterSize: pool, strides, pad } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
      const data: Array<[Float32Array, number[]]> = [
        [x, shape],
        [dy, info.outShape],
      ];
      const want = await on('cpu', data, kernel);
      const got = await on('wasm', data, kernel);
      expect(got.shape).toEqual(shape);
      expect(got.data).toEqual(want.data);
    },
  );
});

/** WebAssembly.Memory (the project's TypeScript lib has no WebAssembly types). */
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
  }
).WebAssembly.Memory;

describe('MaxPoolGrad SIMD kernel against the loop', () => {
  test.each([
    [3, 26, 26, 8, 2, 2],
    [2, 13, 13, 12, 3, 3],
    [1, 11, 9, 4, 2, 3],
    [2, 8, 8, 16, 8, 8],
  ])(
    'x [%d, %d, %d, %d], pool %d x %d: bit for bit, NaN, infinities and -0 included',
    (n, h, w, c, fH, fW) => {
      const shape = { n, h, w, c, fH, fW, outH: Math.floor(h / fH), outW: Math.floor(w / fW) };
      const r = streamFor(15, 'max-pool-grad-simd', n, h, w, c, fH, fW);
      const specials = [NaN, Infinity, -Infinity, -0, 0];
      const pick = () => (r.uniform() < 0.1 ? specials[r.int(specials.length)] : r.int(5) - 2);
      const xLen = n * h * w * c;
      const dyLen = n * shape.outH * shape.outW * c;
      const memory = new WasmMemory({ initial: Math.ceil(((2 * xLen + dyLen) * 4 + 64) / 65536) });
      // Odd (but 4-byte) offsets: the kernel may not assume 16-byte alignment.
      const xPtr = 4;
      const dyPtr = xPtr + xLen * 4;
      const dxPtr = dyPtr + dyLen * 4;
      const x = new Float32Array(memory.buffer, xPtr, xLen);
      const dy = new Float32Array(memory.buffer, dyPtr, dyLen);
      const dx = new Float32Array(memory.buffer, dxPtr, xLen);
      x.forEach((_, i) => (x[i] = pick()));
      dy.forEach((_, i) => (dy[i] = pick()));
      dx.fill(NaN); // every cell must be written
      expect(maxPoolGradSimd(memory, { xPtr, dyPtr, dxPtr, dx }, shape)).toBe(true);
      const want = new Float32Array(xLen);
      maxPoolGradNonOverlapping(x, dy, want, shape);
      expect(new Uint32Array(dx.slice().buffer)).toEqual(new Uint32Array(want.buffer));
    },
  );

  test('declines channel counts that are not a multiple of 4, and memories that are not wasm memories', () => {
    const shape = { n: 1, h: 4, w: 4, c: 3, fH: 2, fW: 2, outH: 2, outW: 2 };
    const memory = new WasmMemory({ initial: 1 });
    const heap = { xPtr: 0, dyPtr: 256, dxPtr: 512, dx: new Float32Array(memory.buffer, 512, 48) };
    expect(maxPoolGradSimd(memory, heap, shape)).toBe(false);
    expect(maxPoolGradSimd(new ArrayBuffer(1024), heap, { ...shape, c: 4 })).toBe(false);
  });
});

describe('whole-network gradients on wasm equal those on cpu', () => {
  test.each(['mlp:64x2', 'cnn:c8p2-c16p2:h32', 'cnn:c4k5p2-c8p2:h16', 'cnn:c4p2-c8p2:h16:bn'])(
    '%s',
    async (arch) => {
      const model = buildModel(parseArch(arch), 4);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const shape = (model.inputs[0].shape as number[]).slice(1);
      const r = streamFor(13, arch);
      const x = Float32Array.from({ length: 8 * 784 }, () => (r.uniform() < 0.25 ? 1 : 0));
      const labels = Array.from({ length: 8 }, (_, i) => (i * 3) % 10);
      const gradients = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
          const { grads } = tf.variableGrads(() => {
            const pred = model.apply(tf.tensor(x, [8, ...shape]), { training: true }) as tf.Tensor;
            return tf.metrics.categoricalCrossentropy(y, pred).mean() as tf.Scalar;
          }, vars);
          return vars.map((v) => Float32Array.from(grads[v.name].dataSync()));
        });
      };
      const want = await gradients('cpu');
      const got = await gradients('wasm');
      want.forEach((g, i) => expect(worstError(got[i], g)).toBeLessThan(1e-4));
      model.dispose();
    },
  );

  test('the replaced kernels leak no tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const a = tf.randomNormal([5, 40], 0, 1, 'float32', 3);
    const b = tf.randomNormal([5, 7], 0, 1, 'float32', 4);
    const step = () =>
      tf.tidy(() => {
        // Gradients wrt the conv input (Conv2DBackpropInput) and a transposed product both ways.
        tf.grad((v) => tf.conv2d(v as tf.Tensor4D, w, 1, 'same').sum())(x).dataSync();
        tf.matMul(a, b, true, false).dataSync();
        tf.matMul(b, a, true, false).dataSync();
        tf.matMul(b, tf.transpose(a).matMul(b), false, true).dataSync(); // [5,7] x [40,7]^T: the flipped form
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, a, b]);
  });

  test('registering again changes nothing and warns nothing', async () => {
    const warn = jest.spyOn(console, 'warn');
    const before = tf.getKernel('BatchMatMul', 'wasm');
    registerWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm') === before).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
