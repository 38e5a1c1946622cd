/**
 * Save and load TF.js layers-format models (model.json + weights.bin) on the file system. Plain
 * @tensorflow/tfjs has no file:// handler (only tfjs-node does), so this adapter provides one; it also
 * reads models converted from Keras by tensorflowjs_converter (several weight shard files).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors';
import { writeFileAtomic } from '../util/files';

export const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      // tfjs 4.22 may hand the weights over in several buffers.
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
      writeFileAtomic(path.join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
      const json = {
        format: 'layers-model',
        generatedBy: 'xbarsim',
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
      };
      writeFileAtomic(path.join(dir, MODEL_FILE), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const file = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(file)) throw new InputError(`model directory ${dir} has no ${MODEL_FILE}`);
  let json: {
    modelTopology?: object;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new InputError(`${file}: not a TF.js layers model (needs modelTopology and weightsManifest)`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights))
      throw new InputError(`${file}: a weightsManifest entry lacks paths or weights`);
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!fs.existsSync(shard)) throw new InputError(`${file}: weight file ${p} is missing`);
      buffers.push(fs.readFileSync(shard));
    }
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const expected = expectedWeightBytes(specs);
  if (expected !== null && expected !== total)
    throw new InputError(
      `${file}: the weight files hold ${total} bytes, the manifest describes ${expected} (truncated or mismatched)`,
    );
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.byteLength;
  }
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: weightData.buffer,
      }),
    );
  } catch (err) {
    throw new InputError(`${file}: cannot load model (${(err as Error).message})`);
  }
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Bytes the manifest's weights occupy (null when that is not fixed: string weights, unknown dtypes). */
function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = DTYPE_BYTES[dtype];
    if (bytes === undefined) return null;
    total += spec.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}
