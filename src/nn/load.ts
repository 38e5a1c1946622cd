/** Node adapter: read a model directory as a network description. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import {
  type NetworkDescription,
  checkFiniteParameters,
  deserializeDescription,
  serializeDescription,
} from './description';
import { stripBom, writeFileAtomic } from '../util/files';
import { noteInput } from '../util/inputLog';

export const DESCRIPTION_FILE = 'network.json';

export function writeDescription(desc: NetworkDescription, dir: string): void {
  writeFileAtomic(path.join(dir, DESCRIPTION_FILE), serializeDescription(desc));
}

/**
 * The network in `dir`: its network.json if present (our own models); otherwise a TF.js layers model
 * (model.json, for example converted from Keras) loaded with TF.js and exported on the fly.
 */
export async function loadNetwork(
  dir: string,
  opts: { binarizeThreshold?: number } = {},
): Promise<NetworkDescription> {
  if (!fs.existsSync(dir)) throw new InputError(`model directory not found: ${dir}`);
  if (!fs.statSync(dir).isDirectory())
    throw new InputError(`${dir} is a file, not a model directory (give the folder that holds network.json)`);
  const file = path.join(dir, DESCRIPTION_FILE);
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    noteInput(file, text);
    const desc = deserializeDescription(stripBom(text), file);
    if (opts.binarizeThreshold !== undefined) desc.input = { binarizeThreshold: opts.binarizeThreshold };
    return desc;
  }
  for (const name of fs.readdirSync(dir).sort()) {
    const f = path.join(dir, name);
    if (fs.statSync(f).isFile()) noteInput(f, fs.readFileSync(f));
  }
  // Lazy imports: TF.js is only needed for models without a description.
  const { loadModel } = await import('./modelIo');
  const { exportDescription } = await import('./export');
  const model = await loadModel(dir);
  const desc = exportDescription(model, {
    name: path.basename(path.resolve(dir)),
    binarizeThreshold: opts.binarizeThreshold,
    meta: { source: 'tfjs-layers', dir },
  });
  checkFiniteParameters(desc, dir);
  return desc;
}

/**
 * The dataset a model runs on: the one its description was trained on, unless `flag` (--dataset) names
 * another, in which case `warning` says so (its numbers are not the model's test accuracy; print it once
 * the dataset has opened). Without either: `fallback`, else an error.
 */
export function datasetFor(
  desc: NetworkDescription,
  flag: string | undefined,
  model: string,
  fallback?: string,
): { name: string; warning?: string } {
  const trained = typeof desc.meta.dataset === 'string' ? desc.meta.dataset : undefined;
  if (flag === undefined) {
    const name = trained ?? fallback;
    if (name === undefined)
      throw new InputError(
        `--model ${model}: its description names no dataset; give --dataset mnist | fashion-mnist | idx:DIR`,
      );
    return { name };
  }
  if (trained !== undefined && flag !== trained)
    return {
      name: flag,
      warning: `xbarsim: warning: --model ${model} was trained on ${trained}, running it on ${flag} as --dataset asks\n`,
    };
  return { name: flag };
}
