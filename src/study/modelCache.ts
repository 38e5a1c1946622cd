/**
 * Trained models are cached by a hash of everything that defines them, so reruns and other studies
 * reuse them. Default location: <project>/.cache/models (XBARSIM_CACHE_DIR overrides the .cache root).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from '../data';
import { DESCRIPTION_FILE } from '../nn/load';
import { trainAndSave } from '../nn/trainJob';
import { DEFAULT_TRAIN } from '../nn/train';
import type { ModelJob } from './types';
import { binaryVariationNoise } from './variation';

function cacheRoot(): string {
  if (process.env.XBARSIM_CACHE_DIR) return process.env.XBARSIM_CACHE_DIR;
  return path.resolve(__dirname, __filename.endsWith('.ts') ? '../..' : '../../..', '.cache');
}

/**
 * The key covers the job and the training defaults it runs with, so changing a default (learning-rate
 * schedule, batch size) trains anew instead of reusing a stale model.
 */
export function modelKey(job: ModelJob): string {
  // Spell out every default, so that a job that leaves a field out and one that gives its default
  // value share a model.
  const weights = job.weights ?? 'float';
  const canonical = {
    dataset: job.dataset,
    arch: job.arch,
    epochs: job.epochs,
    limit: job.limit ?? null,
    binarize: job.binarize ?? null,
    weights,
    weightLayers: weights === 'float' ? null : (job.weightLayers ?? 'dense'),
    seed: job.seed ?? 1,
    variation: job.variation ?? null,
    // Only a rate other than the default enters the key, so the keys of default-rate models (and the
    // records that name them) stay what they were before jobs could set it.
    ...(job.lr !== undefined && job.lr !== DEFAULT_TRAIN.learningRate ? { lr: job.lr } : {}),
    ...(job.lrSchedule !== undefined && job.lrSchedule !== DEFAULT_TRAIN.lrSchedule
      ? { lrSchedule: job.lrSchedule }
      : {}),
    ...(job.warmupEpochs !== undefined && job.warmupEpochs !== DEFAULT_TRAIN.warmupEpochs
      ? { warmupEpochs: job.warmupEpochs }
      : {}),
  };
  const hash = createHash('sha256')
    .update(JSON.stringify({ job: canonical, train: DEFAULT_TRAIN }))
    .digest('hex')
    .slice(0, 12);
  return `${job.dataset}-${job.arch.replace(/[^a-z0-9]+/gi, '_')}-${hash}`;
}

export async function cachedModel(
  job: ModelJob,
  data: Dataset,
  log: (m: string) => void,
  root = path.join(cacheRoot(), 'models'),
  provenance?: Record<string, string>,
): Promise<string> {
  const dir = path.join(root, modelKey(job));
  if (fs.existsSync(path.join(dir, DESCRIPTION_FILE))) return dir;
  const { initBackend } = await import('../nn/backend');
  const backend = await initBackend('auto');
  log(
    `training ${job.arch} on ${job.dataset} (${job.epochs} epochs, ${data.train.count} images${job.lr === undefined ? '' : `, SGD rate ${job.lr}`}${job.lrSchedule === undefined ? '' : `, ${job.lrSchedule} rate`}${job.warmupEpochs === undefined ? '' : `, ${job.warmupEpochs} warm-up epochs`})`,
  );
  const r = await trainAndSave(
    {
      batchSize: DEFAULT_TRAIN.batchSize,
      lr: job.lr ?? DEFAULT_TRAIN.learningRate,
      momentum: DEFAULT_TRAIN.momentum,
      lrSchedule: job.lrSchedule ?? DEFAULT_TRAIN.lrSchedule,
      warmupEpochs: job.warmupEpochs ?? DEFAULT_TRAIN.warmupEpochs,
      validationSplit: DEFAULT_TRAIN.validationSplit,
      arch: job.arch,
      epochs: job.epochs,
      binarize: job.binarize,
      weights: job.weights ?? 'float',
      weightLayers: job.weightLayers ?? 'dense',
      seed: job.seed ?? 1,
      weightNoise: job.variation ? binaryVariationNoise(job.variation) : undefined,
    },
    data,
    dir,
    backend.name,
    {
      onEpoch: (e) =>
        log(
          `  ${job.arch} epoch ${e.epoch}/${job.epochs}: loss ${e.loss.toFixed(4)}, validation ${(100 * e.validationAccuracy).toFixed(2)} %, ${e.seconds.toFixed(0)} s`,
        ),
      // The key names the job and its training defaults: a checkpoint under it is this job's.
      checkpoint: { fingerprint: modelKey(job), log },
      provenance,
    },
  );
  log(
    `trained ${job.arch}: test accuracy ${(100 * r.testAccuracy).toFixed(2)} %, ${r.secondsPerEpoch.toFixed(1)} s/epoch`,
  );
  return dir;
}
