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
      const weightData = artifacts.weightData as ArrayBuffer;
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
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      if (!fs.existsSync(shard)) throw new InputError(`${file}: weight file ${p} is missing`);
      buffers.push(fs.readFileSync(shard));
    }
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.byteLength;
  }
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, specs, weightData.buffer));
  } catch (err) {
    throw new InputError(`${file}: cannot load model (${(err as Error).message})`);
  }
}
