/** `xbarsim train`: train a network on a dataset and save it with its description. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  addBackendOption,
  addDatasetOptions,
  backendFlagSchema,
  checkOverwrite,
  datasetFlagSchema,
  openDataset,
  pct,
} from './common';
import { enumFlag, intFlag, numFlag, validateFlags } from './flags';
import { featureCount, parseArch } from '../nn/arch';
import { MODEL_FILE } from '../nn/modelIo';
import { DESCRIPTION_FILE } from '../nn/load';
import { trainAndSave, type TrainJob } from '../nn/trainJob';
import { collectInputs } from '../util/inputLog';
import { InputError, XbarsimError } from '../util/errors';
import { createProgress, type Progress } from '../util/progress';

/** Test accuracy within this of chance counts as a diverged (or never started) training. */
const DIVERGED_MARGIN = 0.02;

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train a network (defaults follow the first study: SGD 0.1, momentum 0.9, 30 epochs, batch 32)',
    )
    .requiredOption('--arch <arch>', 'architecture, e.g. mlp:128x1, cnn:c32p2:h128, paper2:initial')
    .requiredOption('--out <dir>', 'model directory to write (an existing one only with --force)')
    .option('--force', 'replace an existing model directory, or write into the shipped models/');
  addDatasetOptions(cmd);
  cmd
    .option('--epochs <n>', 'training epochs', '30')
    .option('--batch-size <n>', 'mini-batch size', '32')
    .option('--lr <x>', 'SGD learning rate', '0.1')
    .option('--momentum <x>', 'SGD momentum', '0.9')
    .option(
      '--lr-schedule <s>',
      'constant | cosine (decay to 0 over the run; see docs/training.md)',
      'cosine',
    )
    .option('--warmup-epochs <x>', 'epochs of linear learning-rate warm-up (0: none)', '1')
    .option('--validation-split <x>', 'share of training data held out', '0.1')
    .option('--binarize <t>', 'input binarisation threshold, or "none"', '0.1')
    .option('--weights <kind>', 'float | binary | ternary (binary/ternary trained with an STE)', 'float')
    .option('--weight-layers <which>', 'layers binary/ternary apply to: dense | all', 'dense')
    .option('--seed <n>', 'random seed', '1');
  addBackendOption(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    const f = validateFlags<
      Omit<TrainJob, 'binarize'> & {
        binarize: number | 'none';
        dataset: string;
        limit?: number;
        testLimit?: number;
        backend: string;
        out: string;
      }
    >(
      {
        type: 'object',
        properties: {
          ...datasetFlagSchema,
          ...backendFlagSchema,
          epochs: intFlag(1, 1000),
          batchSize: intFlag(1, 65536),
          lr: numFlag(1e-9, 100),
          momentum: numFlag(0, 0.9999),
          lrSchedule: enumFlag('constant', 'cosine'),
          warmupEpochs: numFlag(0, 1000),
          validationSplit: numFlag(0, 0.9),
          binarize: {
            anyOf: [
              { type: 'string', enum: ['none'] },
              { type: 'number', minimum: 0, maximum: 1 },
            ],
          },
          weights: enumFlag('float', 'binary', 'ternary'),
          weightLayers: enumFlag('dense', 'all'),
          seed: intFlag(0, 2 ** 31 - 1),
        },
      },
      opts,
    );
    // Everything that can be checked without training is checked first, so bad input fails fast.
    featureCount(parseArch(f.arch));
    checkOutDir(f.out, opts.force === true);
    // The dataset's files, by path and hash, go into training.json and the description.
    const { result: data, inputs } = await collectInputs(async () => openDataset(f));
    const { initBackend } = await import('../nn/backend');
    const backend = await initBackend(f.backend as 'auto');
    const job: TrainJob = {
      arch: f.arch,
      epochs: f.epochs,
      batchSize: f.batchSize,
      lr: f.lr,
      momentum: f.momentum,
      lrSchedule: f.lrSchedule,
      warmupEpochs: f.warmupEpochs,
      validationSplit: f.validationSplit,
      binarize: f.binarize === 'none' ? undefined : Number(f.binarize),
      weights: f.weights,
      weightLayers: f.weightLayers,
      seed: f.seed,
    };
    // A rerun of the same command after a crash continues from the last finished epoch.
    const fingerprint = JSON.stringify({ job, dataset: f.dataset, trainImages: data.train.count });
    const result = await trainAndSave(job, data, f.out, backend.name, {
      onEpoch: (e) =>
        process.stderr.write(
          `epoch ${e.epoch}/${f.epochs}: loss ${e.loss.toFixed(4)}, train ${pct(e.trainAccuracy)}, validation ${pct(e.validationAccuracy)}, ${e.seconds.toFixed(1)} s\n`,
        ),
      onBatch: batchProgress(f.epochs),
      checkpoint: { fingerprint, log: (m) => process.stderr.write(`${m}\n`) },
      provenance: inputs,
    });
    // A diverged run (NaN loss, or no better than chance) saved a model that is no use: say so, exit 3.
    const last = result.history[result.history.length - 1];
    const classes = Math.max(...data.test.labels) + 1;
    if (!last || !Number.isFinite(last.loss) || result.testAccuracy <= 1 / classes + DIVERGED_MARGIN)
      throw new XbarsimError(
        `training diverged: last epoch loss ${last ? last.loss : 'none'}, test accuracy ${pct(result.testAccuracy)} (chance ${pct(1 / classes)}); the model saved to ${f.out} is not usable (try a smaller --lr)`,
        3,
      );
    process.stdout.write(
      `${f.arch} on ${f.dataset}: test accuracy ${pct(result.testAccuracy)} (${result.secondsPerEpoch.toFixed(1)} s/epoch, backend ${backend.name}); saved to ${f.out}\n`,
    );
  });
}

/** A bar with ETA over each epoch's batches on a terminal; nothing when stderr is not one. */
function batchProgress(epochs: number): (epoch: number, batch: number, batches: number) => void {
  let bar: Progress | null = null;
  return (epoch, batch, batches) => {
    bar ??= createProgress(batches, `epoch ${epoch}/${epochs}`, { logWhenPiped: false });
    bar.tick();
    if (batch === batches) {
      bar.stop();
      bar = null;
    }
  };
}

/**
 * The model directory is written as a whole at the end, so check now that it may be: never replace a
 * directory that holds something other than an xbarsim model, an existing model only with --force, and
 * nothing in the shipped models/ without it. (A crashed run's checkpoint sits beside the directory, so
 * resuming does not need --force.)
 */
function checkOutDir(out: string, force: boolean): void {
  const dir = path.resolve(out);
  let entries: string[] = [];
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new InputError(`--out ${out}: exists and is not a directory`);
    entries = fs.readdirSync(dir);
    const isModel = entries.includes(MODEL_FILE) || entries.includes(DESCRIPTION_FILE);
    if (entries.length > 0 && !isModel)
      throw new InputError(
        `--out ${out}: directory exists and is not a model directory; refusing to replace it`,
      );
  }
  // An empty directory holds nothing to lose; a model, or anything in the shipped models/, needs --force.
  checkOverwrite(out, force, entries.length > 0);
  // The nearest existing ancestor must be a writable directory (the rest is created at the end).
  let parent = path.dirname(dir);
  while (!fs.existsSync(parent)) parent = path.dirname(parent);
  try {
    if (!fs.statSync(parent).isDirectory()) throw new Error(`${parent} is not a directory`);
    fs.accessSync(parent, fs.constants.W_OK);
  } catch (err) {
    throw new InputError(`--out ${out}: cannot be created (${(err as Error).message})`);
  }
}
