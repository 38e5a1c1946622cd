/** Node adapter: read a model directory as a network description. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { type NetworkDescription, deserializeDescription, serializeDescription } from './description';
import { writeFileAtomic } from '../util/files';

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
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InputError(`model directory not found: ${dir}`);
  const file = path.join(dir, DESCRIPTION_FILE);
  if (fs.existsSync(file)) {
    const desc = deserializeDescription(fs.readFileSync(file, 'utf8'), file);
    if (opts.binarizeThreshold !== undefined) desc.input = { binarizeThreshold: opts.binarizeThreshold };
    return desc;
  }
  // Lazy imports: TF.js is only needed for models without a description.
  const { loadModel } = await import('./modelIo');
  const { exportDescription } = await import('./export');
  const model = await loadModel(dir);
  return exportDescription(model, {
    name: path.basename(path.resolve(dir)),
    binarizeThreshold: opts.binarizeThreshold,
    meta: { source: 'tfjs-layers', dir },
  });
}
