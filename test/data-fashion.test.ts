import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labelHistogram, loadDataset } from '../src/data';
import { FASHION_CACHE_NAME, fashionClothesDir, readFashion } from '../src/data/fashion';
import type { RawSplit } from '../src/data/types';

const hashOf = (split: RawSplit, i: number) =>
  crypto
    .createHash('sha1')
    .update(split.pixels.subarray(i * 784, (i + 1) * 784))
    .digest('hex');

const noBuild = () => {
  throw new Error('the cache should have been used');
};

let cacheDir: string;
let first: ReturnType<typeof readFashion>;
beforeAll(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-fashion-'));
  first = readFashion(cacheDir);
});
afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

describe('Fashion-MNIST split', () => {
  test('60k/10k, 6000/1000 per class, interleaved by class', () => {
    expect(first.source).toBe('package');
    expect(first.train.count).toBe(60000);
    expect(first.test.count).toBe(10000);
    expect(labelHistogram(first.train.labels)).toEqual(new Array(10).fill(6000));
    expect(labelHistogram(first.test.labels)).toEqual(new Array(10).fill(1000));
    expect(Array.from(first.test.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  test('no image is in both sets (by pixel hash)', () => {
    const testHashes = new Set<string>();
    for (let i = 0; i < first.test.count; i++) testHashes.add(hashOf(first.test, i));
    let shared = 0;
    for (let i = 0; i < first.train.count; i++) if (testHashes.has(hashOf(first.train, i))) shared++;
    expect(shared).toBe(0);
    // Test images are unique even among themselves (duplicates always go to train).
    expect(testHashes.size).toBe(10000);
  });

  test('the split is the documented rule applied to the package files', () => {
    // Rule: per class, in file order, the first 1000 well-formed images whose pixels occur once in the
    // whole package are the test set; all the others train.
    const byClass: Buffer[][] = [];
    const occurrences = new Map<string, number>();
    for (let c = 0; c < 10; c++) {
      const file = path.join(fashionClothesDir(), `${c}.json`);
      const rows = (JSON.parse(fs.readFileSync(file, 'utf8')).data as number[][])
        .filter((r) => r.length === 784)
        .map((r) => Buffer.from(r));
      byClass.push(rows);
      for (const r of rows)
        occurrences.set(r.toString('latin1'), (occurrences.get(r.toString('latin1')) ?? 0) + 1);
    }
    let mismatches = 0;
    for (let c = 0; c < 10; c++) {
      expect(byClass[c].length).toBe(7000);
      const expectedTest = byClass[c]
        .filter((r) => occurrences.get(r.toString('latin1')) === 1)
        .slice(0, 1000);
      expectedTest.forEach((row, k) => {
        const i = k * 10 + c; // interleaved: image k of class c
        const got = Buffer.from(first.test.pixels.buffer, first.test.pixels.byteOffset + i * 784, 784);
        if (first.test.labels[i] !== c || !got.equals(row)) mismatches++;
      });
    }
    expect(mismatches).toBe(0);
  });

  test('the second load reads the cache and gives the same bytes', () => {
    const second = readFashion(cacheDir, noBuild);
    expect(second.source).toBe('cache');
    expect(Buffer.from(second.train.pixels).equals(Buffer.from(first.train.pixels))).toBe(true);
    expect(Buffer.from(second.test.pixels).equals(Buffer.from(first.test.pixels))).toBe(true);
    expect(Buffer.from(second.test.labels).equals(Buffer.from(first.test.labels))).toBe(true);
  });

  test('loadDataset("fashion-mnist") scales pixels to [0, 1] and applies limits', () => {
    const data = loadDataset('fashion-mnist', { cacheDir, limit: 500, testLimit: 100 });
    expect(data.name).toBe('fashion-mnist');
    expect(data.train.count).toBe(500);
    expect(data.test.count).toBe(100);
    expect(labelHistogram(data.train.labels)).toEqual(new Array(10).fill(50));
    expect(Math.max(...data.test.images)).toBe(1);
    expect(Math.min(...data.test.images)).toBe(0);
    expect(data.test.images[1234]).toBeCloseTo(first.test.pixels[1234] / 255, 7);
  });
});

describe('a damaged cache is rebuilt', () => {
  const dir = () => path.join(cacheDir, FASHION_CACHE_NAME);
  let warnings: jest.SpyInstance;
  beforeEach(() => {
    warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });
  afterEach(() => warnings.mockRestore());

  const damages: Array<[string, () => void]> = [
    [
      'truncated image file',
      () => {
        const f = path.join(dir(), 't10k-images-idx3-ubyte');
        fs.truncateSync(f, fs.statSync(f).size - 100);
      },
    ],
    [
      'a flipped byte (same size)',
      () => {
        const f = path.join(dir(), 'train-images-idx3-ubyte');
        const fd = fs.openSync(f, 'r+');
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, 5000);
        b[0] ^= 0xff;
        fs.writeSync(fd, b, 0, 1, 5000);
        fs.closeSync(fd);
      },
    ],
    ['missing label file', () => fs.rmSync(path.join(dir(), 'train-labels-idx1-ubyte'))],
    ['missing manifest', () => fs.rmSync(path.join(dir(), 'manifest.json'))],
    ['garbage manifest', () => fs.writeFileSync(path.join(dir(), 'manifest.json'), '{not json')],
  ];
  test.each(damages)('%s', (_what, damage) => {
    damage();
    let builds = 0;
    const rebuilt = readFashion(cacheDir, () => {
      builds++;
      return { train: first.train, test: first.test };
    });
    expect(builds).toBe(1);
    expect(rebuilt.source).toBe('package');
    expect(warnings).toHaveBeenCalledWith(
      expect.stringMatching(/Fashion-MNIST cache is damaged, rebuilding it/),
    );
    // The rebuilt cache is sound again, and no temporary directory is left beside it.
    const again = readFashion(cacheDir, noBuild);
    expect(Buffer.from(again.train.pixels).equals(Buffer.from(first.train.pixels))).toBe(true);
    expect(fs.readdirSync(cacheDir)).toEqual([FASHION_CACHE_NAME]);
  });

  test('an unwritable cache location only warns', () => {
    const notADir = path.join(cacheDir, 'file');
    fs.writeFileSync(notADir, 'x');
    const loaded = readFashion(notADir, () => ({ train: first.train, test: first.test }));
    expect(loaded.train.count).toBe(60000);
    expect(warnings).toHaveBeenCalledWith(expect.stringMatching(/could not cache Fashion-MNIST/));
    fs.rmSync(notADir);
  });
});
