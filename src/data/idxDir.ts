/** A directory of the four standard MNIST-layout IDX files (uncompressed). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { readFileOrFail, writeFileAtomic } from '../util/files';
import { noteInput } from '../util/inputLog';
import { encodeIdxImages, encodeIdxLabels, parseIdxImages, parseIdxLabels } from './idx';
import type { RawSplit } from './types';

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function readSplit(dir: string, imagesName: string, labelsName: string): RawSplit {
  const imagesFile = path.join(dir, imagesName);
  const labelsFile = path.join(dir, labelsName);
  const imageBytes = readFileOrFail(imagesFile, 'IDX image file');
  const labelBytes = readFileOrFail(labelsFile, 'IDX label file');
  // The files are inputs of whatever is computed from them (provenance, docs/studies.md).
  noteInput(imagesFile, imageBytes);
  noteInput(labelsFile, labelBytes);
  const { pixels, count } = parseIdxImages(imageBytes, imagesFile);
  const labels = parseIdxLabels(labelBytes, labelsFile);
  if (labels.length !== count)
    throw new InputError(`${labelsFile}: ${labels.length} labels, but ${imagesFile} has ${count} images`);
  return { pixels, labels, count };
}

/** Read train and test splits from `dir`. */
export function readIdxDir(dir: string): { train: RawSplit; test: RawSplit } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InputError(
      `IDX dataset directory not found: ${dir} (needs ${Object.values(IDX_FILES).join(', ')})`,
    );
  return {
    train: readSplit(dir, IDX_FILES.trainImages, IDX_FILES.trainLabels),
    test: readSplit(dir, IDX_FILES.testImages, IDX_FILES.testLabels),
  };
}

/** Write train and test splits as the four IDX files, each atomically. */
export function writeIdxDir(dir: string, data: { train: RawSplit; test: RawSplit }): void {
  const { train, test } = data;
  writeFileAtomic(path.join(dir, IDX_FILES.trainImages), encodeIdxImages(train.pixels, train.count));
  writeFileAtomic(path.join(dir, IDX_FILES.trainLabels), encodeIdxLabels(train.labels));
  writeFileAtomic(path.join(dir, IDX_FILES.testImages), encodeIdxImages(test.pixels, test.count));
  writeFileAtomic(path.join(dir, IDX_FILES.testLabels), encodeIdxLabels(test.labels));
}
