/**
 * Trained models are cached by a hash of everything that defines them, so reruns and other studies
 * reuse them. Default location: <project>/.cache/models (XBARSIM_CACHE_DIR overrides the .cache root;
 * a study's --model-cache DIR replaces the models directory). Several processes, also on several
 * hosts sharing the directory (cluster array tasks), may ask for one model: a lock file per model makes
 * one of them train it while the others wait and then reuse it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from '../data';
import { DESCRIPTION_FILE } from '../nn/load';
import { trainAndSave } from '../nn/trainJob';
import { DEFAULT_TRAIN } from '../nn/train';
import { describeHolder, holderAlive, readHolder, thisHolder } from './lock';
import type { ModelJob } from './types';
import { binaryVariationNoise } from './variation';

/** The models directory of the default cache. */
export function defaultModelCache(): string {
  return path.join(cacheRoot(), 'models');
}

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
  root = defaultModelCache(),
  provenance?: Record<string, string>,
): Promise<string> {
  const dir = path.join(root, modelKey(job));
  const done = () => fs.existsSync(path.join(dir, DESCRIPTION_FILE));
  if (done()) return dir;
  const release = await lockModelTraining(root, modelKey(job), done, log);
  if (!release) return dir; // trained by the process we waited for
  try {
    await train(job, data, log, dir, provenance);
  } finally {
    release();
  }
  return dir;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Take the lock `<root>/.KEY.lock` to train model KEY, or wait until whoever holds it has trained it.
 * Resolves to the lock's release, or to null once `done()` (someone else trained it). The lock is
 * created with O_EXCL ('wx'), atomic on local filesystems and NFS v3+. A holder that is gone (same
 * host, dead pid; or its Slurm job left the queue) is stale: its lock is taken over and the training
 * resumes from its checkpoint. A lock file still empty or unreadable after `emptyGraceMs` counts as the
 * remains of a crash.
 */
export async function lockModelTraining(
  root: string,
  key: string,
  done: () => boolean,
  log: (m: string) => void,
  { pollMs = 2000, emptyGraceMs = 60000 } = {},
): Promise<(() => void) | null> {
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, `.${key}.lock`);
  const me = JSON.stringify(thisHolder()) + '\n';
  let waitingFor = '';
  for (;;) {
    if (done()) return null;
    try {
      fs.writeFileSync(file, me, { flag: 'wx' });
      return () => {
        // Only our own lock: a release after a takeover by another process must not free theirs.
        if (readText(file) === me) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = readText(file);
    if (text === null) continue; // released just now: try again
    const h = readHolder(file);
    const stale = h ? !holderAlive(h) : Date.now() - mtimeMs(file) > emptyGraceMs;
    if (stale) {
      log(
        `taking over the lock of model ${key}${h ? ` from ${describeHolder(h)}, which is gone` : ' (unreadable)'}`,
      );
      takeOver(file, text);
      continue;
    }
    const who = h ? describeHolder(h) : 'a process starting up';
    if (who !== waitingFor) log(`waiting for ${who}, which trains model ${key}`);
    waitingFor = who;
    await sleep(pollMs);
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

/**
 * Remove a stale lock whose content was `seen`. Rename first (atomic: of two processes taking over, one
 * wins), then check that the renamed file is the stale one; if a fresh lock was taken in between, put it
 * back.
 */
function takeOver(file: string, seen: string): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else moved it: look again
  }
  if (readText(aside) !== seen)
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third process has locked meanwhile; the moved holder will find its lock gone at release.
    }
  fs.rmSync(aside, { force: true });
}

async function train(
  job: ModelJob,
  data: Dataset,
  log: (m: string) => void,
  dir: string,
  provenance?: Record<string, string>,
): Promise<void> {
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
}
