/** Train a network end to end and save it: TF.js model, network description and training record. */
import * as path from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../util/files';
import { packageVersion } from '../util/inputLog';
import { parseArch } from './arch';
import { buildModel } from './model';
import {
  DEFAULT_TRAIN,
  trainModel,
  evaluateModel,
  type EpochLog,
  type LrSchedule,
  type WeightNoise,
} from './train';
import { exportDescription } from './export';
import { saveModel } from './modelIo';
import { writeDescription } from './load';
import { binarize, ternarize } from './quantize';
import { checkpointDirFor, loadCheckpoint, removeCheckpoint, saveCheckpoint } from './checkpoint';

import type { Dataset } from '../data';
import type { WeightQuantization } from './description';

export interface TrainJob {
  arch: string;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  /** Default 'cosine' (DEFAULT_TRAIN). */
  lrSchedule?: LrSchedule;
  /** Default DEFAULT_TRAIN.warmupEpochs. */
  warmupEpochs?: number;
  validationSplit: number;
  binarize?: number;
  weights: 'float' | 'binary' | 'ternary';
  weightLayers: 'dense' | 'all';
  seed: number;
  weightNoise?: WeightNoise;
}

export interface TrainResult {
  testAccuracy: number;
  trainAccuracy: number;
  secondsPerEpoch: number;
  history: EpochLog[];
}

/**
 * Checkpoint after every epoch and resume a stopped run of the same job. `fingerprint` names the job
 * (everything that shapes the run: a checkpoint with another fingerprint is ignored).
 */
export interface CheckpointOptions {
  fingerprint: string;
  log: (message: string) => void;
}

export interface TrainHooks {
  onEpoch?: (e: EpochLog) => void;
  onBatch?: (epoch: number, batch: number, batches: number) => void;
  checkpoint?: CheckpointOptions;
  /** The files the data came from, by path and hash (util/inputLog), recorded with the model. */
  provenance?: Record<string, string>;
}

export async function trainAndSave(
  job: TrainJob,
  data: Dataset,
  out: string,
  backend: string,
  { onEpoch, onBatch, checkpoint, provenance }: TrainHooks = {},
): Promise<TrainResult> {
  const spec = parseArch(job.arch);
  const model = buildModel(spec, job.seed, data.classes);
  const ste = job.weights === 'float' ? undefined : { kind: job.weights, layers: job.weightLayers };
  const checkpointDir = checkpointDirFor(out);
  let resumeFrom;
  if (checkpoint) {
    const found = loadCheckpoint(checkpointDir, checkpoint.fingerprint);
    if (found.checkpoint) {
      resumeFrom = found.checkpoint;
      checkpoint.log(`resuming after epoch ${resumeFrom.epoch}/${job.epochs} from ${checkpointDir}`);
    } else if (found.reason !== 'none')
      checkpoint.log(
        `ignoring the checkpoint in ${checkpointDir} (${found.reason === 'other-job' ? 'another job' : 'unreadable'}); training from the start`,
      );
  }
  const history = await trainModel(model, data.train, {
    epochs: job.epochs,
    batchSize: job.batchSize,
    learningRate: job.lr,
    momentum: job.momentum,
    lrSchedule: job.lrSchedule ?? DEFAULT_TRAIN.lrSchedule,
    warmupEpochs: job.warmupEpochs ?? DEFAULT_TRAIN.warmupEpochs,
    validationSplit: job.validationSplit,
    seed: job.seed,
    binarizeThreshold: job.binarize,
    ste,
    weightNoise: job.weightNoise,
    onEpoch,
    onBatch,
    resumeFrom,
    onCheckpoint: checkpoint && ((c) => saveCheckpoint(checkpointDir, checkpoint.fingerprint, c)),
  });
  const testAccuracy = evaluateModel(model, data.test, job.binarize);
  const trainAccuracy = history[history.length - 1].trainAccuracy;
  const secondsPerEpoch = history.reduce((a, e) => a + e.seconds, 0) / history.length;
  const quantOf = (layerName: string): WeightQuantization => {
    const layer = model.getLayer(layerName);
    const cls = layer.getClassName();
    if (!ste || !(cls === 'Dense' || (ste.layers === 'all' && cls === 'Conv2D'))) return { kind: 'float' };
    const w = layer.getWeights()[0].dataSync() as Float32Array;
    // The kernels already hold quantised values; recover alpha for the record.
    return ste.kind === 'binary'
      ? { kind: 'binary', alpha: binarize(w).alpha }
      : { kind: 'ternary', alpha: ternarize(w).alpha };
  };
  const meta = {
    arch: spec.text,
    dataset: data.name,
    // The images it saw (--limit, --test-limit) and the code that trained it.
    trainImages: data.train.count,
    testImages: data.test.count,
    xbarsim: packageVersion(),
    ...(provenance && { provenance }),
    train: {
      ...job,
      lrSchedule: job.lrSchedule ?? DEFAULT_TRAIN.lrSchedule,
      warmupEpochs: job.warmupEpochs ?? DEFAULT_TRAIN.warmupEpochs,
      weightNoise: job.weightNoise ? 'custom' : undefined,
    },
    backend,
    testAccuracy,
    trainAccuracy,
    secondsPerEpoch,
  };
  const desc = exportDescription(model, {
    name: path.basename(path.resolve(out)),
    binarizeThreshold: job.binarize,
    meta,
    weightQuantization: quantOf,
  });
  await writeDirAtomic(out, async (tmp) => {
    await saveModel(model, tmp);
    writeDescription(desc, tmp);
    writeFileAtomic(path.join(tmp, 'training.json'), JSON.stringify({ ...meta, history }, null, 2));
  });
  model.dispose();
  if (checkpoint) removeCheckpoint(checkpointDir);
  return { testAccuracy, trainAccuracy, secondsPerEpoch, history };
}
