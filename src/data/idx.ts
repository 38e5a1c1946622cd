/**
 * The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian header
 * `0x0000 <type> <ndims>`, then one uint32 per dimension, then the bytes. We read and write only
 * unsigned-byte files: 28x28 images (magic 0x00000803) and labels (magic 0x00000801).
 */
import { InputError } from '../util/errors';
import { CLASSES, IMAGE_SIZE, PIXELS_PER_IMAGE } from './types';

const IDX_IMAGES_MAGIC = 0x00000803;
const IDX_LABELS_MAGIC = 0x00000801;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Check the header of an unsigned-byte IDX file and return its dimensions and payload. */
function parseIdx(
  buf: Uint8Array,
  file: string,
  magic: number,
  what: string,
): { dims: number[]; data: Uint8Array } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 4)
    throw new InputError(`${file}: ${buf.byteLength} bytes, too short for an IDX header`);
  const found = view.getUint32(0);
  // A gzip member starts 1f 8b: the .gz files as distributed, not yet unpacked.
  if (buf.byteLength >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)
    throw new InputError(`${file}: is gzip-compressed (the .gz file as distributed); gunzip it first`);
  if (found !== magic)
    throw new InputError(`${file}: bad magic number ${hex(found)}, expected ${hex(magic)} (IDX ${what})`);
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (buf.byteLength < headerBytes)
    throw new InputError(`${file}: truncated IDX header (${buf.byteLength} bytes)`);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const payload = dims.reduce((a, b) => a * b, 1);
  const actual = buf.byteLength - headerBytes;
  if (actual !== payload) {
    const problem = actual < payload ? 'truncated' : 'has trailing bytes';
    throw new InputError(
      `${file}: ${problem}: header [${dims.join(', ')}] needs ${payload} data bytes, file has ${actual}`,
    );
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, payload) };
}

/** Parse an IDX image file; xbarsim needs 28x28 images. Returns count x 784 bytes. */
export function parseIdxImages(buf: Uint8Array, file: string): { pixels: Uint8Array; count: number } {
  const { dims, data } = parseIdx(buf, file, IDX_IMAGES_MAGIC, 'unsigned-byte images');
  const [count, rows, cols] = dims;
  if (rows !== IMAGE_SIZE || cols !== IMAGE_SIZE)
    throw new InputError(`${file}: images are ${rows}x${cols}, xbarsim needs ${IMAGE_SIZE}x${IMAGE_SIZE}`);
  return { pixels: data, count };
}

/** Parse an IDX label file; every label must be a class 0-9. */
export function parseIdxLabels(buf: Uint8Array, file: string): Uint8Array {
  const { data } = parseIdx(buf, file, IDX_LABELS_MAGIC, 'unsigned-byte labels');
  const bad = data.findIndex((l) => l >= CLASSES);
  if (bad >= 0)
    throw new InputError(`${file}: label ${data[bad]} at index ${bad} is not a class 0-${CLASSES - 1}`);
  return data;
}

function encodeIdx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, headerBytes);
  return out;
}

export function encodeIdxImages(pixels: Uint8Array, count: number): Uint8Array {
  if (pixels.length !== count * PIXELS_PER_IMAGE)
    throw new Error(`${pixels.length} pixels is not ${count} images`);
  return encodeIdx(IDX_IMAGES_MAGIC, [count, IMAGE_SIZE, IMAGE_SIZE], pixels);
}

export function encodeIdxLabels(labels: Uint8Array): Uint8Array {
  return encodeIdx(IDX_LABELS_MAGIC, [labels.length], labels);
}
