/** Labelled 28x28 grey-level images as the rest of xbarsim sees them. */
export interface Split {
  /** count x 784 pixels, row-major, scaled from bytes to [0, 1] (byte / 255). */
  images: Float32Array;
  /** Class of each image, 0-9. */
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  name: string;
  train: Split;
  test: Split;
  classes: number;
  imageShape: [28, 28, 1];
}

/** A split as stored on disk: one byte per pixel. */
export interface RawSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export const IMAGE_SIZE = 28;
export const PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
