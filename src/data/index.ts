/** Dataset loading: `mnist`, `fashion-mnist` or `idx:DIR`. See docs/datasets.md. */
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { datasetCacheDir } from './cache';
import { readFashion } from './fashion';
import { readIdxDir } from './idxDir';
import { readMnist } from './mnist';
import { toSplit } from './pixels';
import type { Dataset, RawSplit } from './types';
import { CLASSES } from './types';

export type { Dataset, Split } from './types';
export { binarize, labelHistogram } from './pixels';

const DATASET_SPECS = ['mnist', 'fashion-mnist', 'idx:DIR'] as const;

export interface LoadOptions {
  /** Keep only the first N training images. */
  limit?: number;
  /** Keep only the first N test images. */
  testLimit?: number;
  /** Where caches go (default $XBARSIM_CACHE_DIR, else <project root>/.cache/datasets). */
  cacheDir?: string;
}

function checkLimit(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw new InputError(`${name} must be a positive integer, got ${value}`);
}

function readRaw(spec: string, opts: LoadOptions): { name: string; train: RawSplit; test: RawSplit } {
  if (spec === 'mnist') return { name: spec, ...readMnist() };
  if (spec === 'fashion-mnist') return { name: spec, ...readFashion(datasetCacheDir(opts.cacheDir)) };
  if (spec.startsWith('idx:') && spec.length > 4) {
    const dir = path.resolve(spec.slice(4));
    return { name: `idx:${dir}`, ...readIdxDir(dir) };
  }
  throw new InputError(`unknown dataset '${spec}': allowed values are ${DATASET_SPECS.join(', ')}`);
}

/**
 * Load a dataset. `limit`/`testLimit` keep the first N images of each split (all of them when N is
 * larger), so subsets are deterministic.
 */
export function loadDataset(spec: string, opts: LoadOptions = {}): Dataset {
  checkLimit('limit', opts.limit);
  checkLimit('testLimit', opts.testLimit);
  const raw = readRaw(spec, opts);
  return {
    name: raw.name,
    train: toSplit(raw.train, opts.limit),
    test: toSplit(raw.test, opts.testLimit),
    classes: CLASSES,
    imageShape: [28, 28, 1],
  };
}
