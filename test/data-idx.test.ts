import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binarize, loadDataset } from '../src/data';
import { InputError } from '../src/util/errors';

/** An IDX file written byte by byte from the format description (big-endian header), not by our encoder. */
function idx(magic: number, dims: number[], payload: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** `count` 28x28 images; image k has pixel p = (k * 7 + p) mod 256. */
const pixelOf = (k: number, p: number) => (k * 7 + p) % 256;
function images(count: number): Buffer {
  const bytes: number[] = [];
  for (let k = 0; k < count; k++) for (let p = 0; p < 784; p++) bytes.push(pixelOf(k, p));
  return idx(0x803, [count, 28, 28], bytes);
}
const labels = (values: number[]) => idx(0x801, [values.length], values);

const TRAIN_LABELS = [3, 1, 4];
const TEST_LABELS = [9, 0];
const FILES = {
  'train-images-idx3-ubyte': images(3),
  'train-labels-idx1-ubyte': labels(TRAIN_LABELS),
  't10k-images-idx3-ubyte': images(2),
  't10k-labels-idx1-ubyte': labels(TEST_LABELS),
};

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-idx-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh dataset directory holding the four files, with some replaced. */
function datasetDir(replace: Partial<Record<keyof typeof FILES, Buffer | null>> = {}): string {
  const dir = fs.mkdtempSync(path.join(root, 'ds-'));
  for (const [name, data] of Object.entries({ ...FILES, ...replace }))
    if (data) fs.writeFileSync(path.join(dir, name), data);
  return dir;
}

describe('idx:DIR datasets', () => {
  test('reads a user IDX pair: counts, labels, pixels = byte / 255', () => {
    const dir = datasetDir();
    const data = loadDataset(`idx:${dir}`);
    expect(data.name).toBe(`idx:${dir}`);
    expect(data.train.count).toBe(3);
    expect(data.test.count).toBe(2);
    expect(Array.from(data.train.labels)).toEqual(TRAIN_LABELS);
    expect(Array.from(data.test.labels)).toEqual(TEST_LABELS);
    for (const [k, p] of [
      [0, 0],
      [0, 255],
      [1, 783],
      [2, 100],
    ])
      expect(data.train.images[k * 784 + p]).toBeCloseTo(pixelOf(k, p) / 255, 7);
    expect(data.test.images[784 + 5]).toBeCloseTo(pixelOf(1, 5) / 255, 7);
  });

  test('a relative directory is resolved; --limit applies', () => {
    const dir = datasetDir();
    const data = loadDataset(`idx:${path.relative(process.cwd(), dir)}`, { limit: 2, testLimit: 1 });
    expect(data.name).toBe(`idx:${dir}`);
    expect(data.train.count).toBe(2);
    expect(data.train.images.length).toBe(2 * 784);
    expect(Array.from(data.test.labels)).toEqual([9]);
  });

  test('binarisation at 0.1 of stored bytes', () => {
    // Bytes 0, 25, 26, 255 -> 0, 0.098, 0.102, 1 -> 0, 0, 1, 1.
    const img = new Array(784).fill(0);
    img[1] = 25;
    img[2] = 26;
    img[3] = 255;
    const dir = datasetDir({
      't10k-images-idx3-ubyte': idx(0x803, [1, 28, 28], img),
      't10k-labels-idx1-ubyte': labels([5]),
    });
    const bin = binarize(loadDataset(`idx:${dir}`).test.images, 0.1);
    expect(Array.from(bin.subarray(0, 5))).toEqual([0, 0, 1, 1, 0]);
    expect(bin.reduce((a, b) => a + b, 0)).toBe(2);
  });

  const cases: Array<[string, keyof typeof FILES, Buffer | null, RegExp]> = [
    ['missing file', 'train-labels-idx1-ubyte', null, /IDX label file not found: .*train-labels-idx1-ubyte/],
    [
      'bad magic',
      'train-images-idx3-ubyte',
      idx(0x801, [3], [1, 2, 3]),
      /train-images-idx3-ubyte: bad magic number 0x00000801/,
    ],
    [
      'truncated payload',
      't10k-images-idx3-ubyte',
      images(2).subarray(0, 16 + 784 + 100),
      /t10k-images-idx3-ubyte: truncated/,
    ],
    [
      'truncated header',
      'train-labels-idx1-ubyte',
      labels([1, 2, 3]).subarray(0, 6),
      /train-labels-idx1-ubyte: truncated IDX header/,
    ],
    [
      'shorter than a magic number',
      't10k-labels-idx1-ubyte',
      Buffer.from([0, 0]),
      /t10k-labels-idx1-ubyte: 2 bytes, too short/,
    ],
    ['empty file', 't10k-labels-idx1-ubyte', Buffer.alloc(0), /t10k-labels-idx1-ubyte: 0 bytes/],
    [
      'trailing bytes',
      'train-labels-idx1-ubyte',
      Buffer.concat([labels([1, 2, 3]), Buffer.from([7])]),
      /has trailing bytes/,
    ],
    [
      'label out of range',
      't10k-labels-idx1-ubyte',
      labels([9, 12]),
      /t10k-labels-idx1-ubyte: label 12 at index 1/,
    ],
    [
      'count mismatch',
      'train-labels-idx1-ubyte',
      labels([1, 2]),
      /train-labels-idx1-ubyte: 2 labels, but .*train-images-idx3-ubyte has 3 images/,
    ],
    [
      'not 28x28',
      'train-images-idx3-ubyte',
      idx(0x803, [1, 2, 2], [1, 2, 3, 4]),
      /images are 2x2, xbarsim needs 28x28/,
    ],
  ];
  test.each(cases)('%s: InputError naming the file', (_what, name, data, message) => {
    const dir = datasetDir({ [name]: data });
    let err: unknown;
    try {
      loadDataset(`idx:${dir}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path.join(dir, name));
    expect((err as Error).message).not.toContain('\n');
  });

  test('a missing directory is bad input listing the files it needs', () => {
    expect(() => loadDataset(`idx:${path.join(root, 'nope')}`)).toThrow(
      /IDX dataset directory not found: .*nope \(needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte\)/,
    );
  });
});
