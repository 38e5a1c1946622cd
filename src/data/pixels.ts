/** Conversions of stored bytes to the pixels the networks see. */
import { InputError } from '../util/errors';
import type { RawSplit, Split } from './types';
import { CLASSES, PIXELS_PER_IMAGE } from './types';

/** The first `limit` images of a raw split (all when undefined), pixels scaled to [0, 1]. */
export function toSplit(raw: RawSplit, limit?: number): Split {
  const count = limit === undefined ? raw.count : Math.min(limit, raw.count);
  const bytes = raw.pixels.subarray(0, count * PIXELS_PER_IMAGE);
  const images = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) images[i] = bytes[i] / 255;
  return { images, labels: raw.labels.slice(0, count), count };
}

/** A scaled pixel below `threshold` becomes 0, any other 1 (the first study uses 0.1). */
export function binarize(images: Float32Array, threshold: number): Float32Array {
  if (!Number.isFinite(threshold))
    throw new InputError(`binarize threshold must be a finite number, got ${threshold}`);
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i] < threshold ? 0 : 1;
  return out;
}

/** Number of images of each class. */
export function labelHistogram(labels: Uint8Array, classes: number = CLASSES): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}
