/**
 * Scaling benchmark: the CNN path (a conv front kept digital, dense layers on 128 x 128 tiles) for
 * `--trials` trials, then Monte-Carlo time of a model (default the W1 MLP) against the number of trials,
 * the tile size and the test-set size, and the training speed recorded with each model. Prints
 * markdown tables (or --json). Times are the trial loop, as the numpy reference times it; worker start-up
 * (plan, device, first-stage input lists) is shown apart.
 *
 *   npm run bench:scaling -- [--cnn DIR] [--mlp DIR] [--trials 100] [--scale-trials 50] [--workers N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { intFlag, validateFlags } from '../src/cli/flags';
import { loadDataset } from '../src/data';
import { prepareSimulation } from '../src/sim/node';
import { cachedModel } from '../src/study/modelCache';
import { defaultWorkers } from '../src/sim/workerPool';
import { InputError } from '../src/util/errors';
import { REPO_ROOT, flopsPerTrial, load, machine, meanAccuracy, peakRssMiB, timedTrials } from './common';

interface ScalingFlags {
  cnn?: string;
  mlp: string;
  trials: number;
  scaleTrials: number;
  workers?: number;
  skipCnn?: boolean;
  skipScaling?: boolean;
  json?: boolean;
}

const schema = {
  type: 'object' as const,
  properties: {
    trials: intFlag(1, 100000),
    scaleTrials: intFlag(1, 100000),
    workers: intFlag(1, 256),
    skipCnn: { type: 'boolean' },
    skipScaling: { type: 'boolean' },
    json: { type: 'boolean' },
  },
};

interface Row {
  case: string;
  testImages: number;
  trials: number;
  tile: number;
  startSeconds: number;
  seconds: number;
  trialsPerSecond: number;
  msPerTrialPer1000Images: number;
  gflops: number;
  meanAccuracy: number;
  load: string;
}

async function measure(
  label: string,
  model: string,
  opts: { trials: number; workers: number; tile?: number; testLimit?: number },
): Promise<Row> {
  const setup = await prepareSimulation({
    model,
    device: 'hfo2-1t1r-igvva-8',
    circuit: 'tile128-adc8',
    tileRows: opts.tile,
    tileCols: opts.tile,
    testLimit: opts.testLimit,
    trials: opts.trials,
    seed: 1,
    quantizeLayers: 'all',
    inputLayers: 'dense',
    calibration: 1000,
  });
  const run = await timedTrials(setup.plan, opts.trials, opts.workers);
  const images = setup.plan.front.count;
  return {
    case: label,
    testImages: images,
    trials: opts.trials,
    tile: opts.tile ?? 128,
    startSeconds: run.startSeconds,
    seconds: run.seconds,
    trialsPerSecond: run.trialsPerSecond,
    msPerTrialPer1000Images: (1000 * run.seconds) / opts.trials / (images / 1000),
    gflops: (flopsPerTrial(setup.plan) * opts.trials) / run.seconds / 1e9,
    meanAccuracy: meanAccuracy(run.results),
    load: run.load,
  };
}

function table(rows: Row[]): string {
  const head =
    '| case | test images | trials | tile | start-up s | trial loop s | trials/s | ms per trial per 1000 images | eff. GFLOP/s | mean accuracy | load (1, 5, 15 min) |';
  const lines = rows.map(
    (r) =>
      `| ${r.case} | ${r.testImages} | ${r.trials} | ${r.tile} | ${r.startSeconds.toFixed(2)} | ${r.seconds.toFixed(2)} | ${r.trialsPerSecond.toFixed(2)} | ` +
      `${r.msPerTrialPer1000Images.toFixed(2)} | ${r.gflops.toFixed(1)} | ${(100 * r.meanAccuracy).toFixed(2)} % | ${r.load} |`,
  );
  return [head, head.replace(/[^|]+/g, '---'), ...lines].join('\n');
}

function trainingSpeed(
  dir: string,
): { model: string; arch: unknown; backend: unknown; secondsPerEpoch: unknown } | null {
  const file = path.join(dir, 'training.json');
  if (!fs.existsSync(file)) return null;
  const t = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const train = (t.train ?? {}) as Record<string, unknown>;
  return {
    model: dir,
    arch: t.arch,
    backend: t.backend,
    secondsPerEpoch: t.secondsPerEpoch,
    ...(train.limit ? { limit: train.limit } : {}),
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench/scaling')
    .option(
      '--cnn <dir>',
      'CNN model (cnn:c32p2:h128; default: one trained for timing, 1 epoch on 5000 images, cached)',
    )
    .option(
      '--mlp <dir>',
      'model for the scaling runs (W1: MLP 784-128-10)',
      path.join(REPO_ROOT, 'models/reference-mlp'),
    )
    .option('--trials <n>', 'trials of the CNN run', '100')
    .option(
      '--scale-trials <n>',
      'trials of each tile-size and test-set-size run (the trials series uses 1/4, 1/2, 1, 2 x this)',
      '50',
    )
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option('--skip-cnn', 'leave out the CNN run')
    .option('--skip-scaling', 'leave out the scaling runs')
    .option('--json', 'print one JSON object')
    .parse(argv);
  const f = validateFlags<ScalingFlags>(schema, program.opts());
  const workers = f.workers ?? defaultWorkers();
  // The speed does not depend on how well the weights are trained: without --cnn, a CNN trained for
  // one epoch (seconds) stands in, from the study model cache.
  const cnnDir =
    f.cnn ??
    (f.skipCnn
      ? ''
      : await cachedModel(
          { dataset: 'mnist', arch: 'cnn:c32p2:h128', epochs: 1, limit: 5000, binarize: 0.1 },
          loadDataset('mnist', { limit: 5000, testLimit: 1 }),
          (m) => process.stderr.write(`bench/scaling: ${m}\n`),
        ));
  for (const [flag, dir, skip] of [
    ['--cnn', cnnDir, f.skipCnn],
    ['--mlp', f.mlp, f.skipScaling],
  ] as const)
    if (!skip && !fs.existsSync(path.join(dir, 'network.json')))
      throw new InputError(`${flag}: no model at ${dir} (network.json missing)`);
  const log = (s: string) => {
    if (!f.json) process.stdout.write(s + '\n');
  };
  const m = machine();
  log(`machine: ${m.cores} cores, ${m.cpu}, node ${m.node}; ${workers} workers; load average ${load()}\n`);

  const cnn: Row[] = [];
  if (!f.skipCnn) {
    cnn.push(await measure('CNN, dense layers analog', cnnDir, { trials: f.trials, workers }));
    log(`## CNN (${cnnDir})\n\n${table(cnn)}\n`);
  }
  const trialsSeries: Row[] = [];
  const tileSeries: Row[] = [];
  const imageSeries: Row[] = [];
  if (!f.skipScaling) {
    const t = f.scaleTrials;
    for (const trials of [Math.max(1, Math.round(t / 4)), Math.max(1, Math.round(t / 2)), t, 2 * t])
      trialsSeries.push(await measure('trials', f.mlp, { trials, workers }));
    log(`## Time against trials (${f.mlp})\n\n${table(trialsSeries)}\n`);
    for (const tile of [64, 128, 256])
      tileSeries.push(await measure('tile size', f.mlp, { trials: t, workers, tile }));
    log(`## Time against tile size\n\n${table(tileSeries)}\n`);
    for (const testLimit of [2500, 5000, 10000])
      imageSeries.push(await measure('test images', f.mlp, { trials: t, workers, testLimit }));
    log(`## Time against test-set size\n\n${table(imageSeries)}\n`);
  }
  const training = [f.mlp, ...(f.skipCnn ? [] : [cnnDir])].map(trainingSpeed).filter((t) => t !== null);
  if (training.length) {
    log("## Training speed (as recorded in each model's training.json)\n");
    for (const t of training)
      log(
        `- ${t.model}: ${String(t.arch)}, backend ${String(t.backend)}, ${Number(t.secondsPerEpoch).toFixed(1)} s per epoch`,
      );
    log('');
  }
  log(`peak RSS ${peakRssMiB().toFixed(0)} MiB; load average at the end ${load()}`);
  if (f.json)
    process.stdout.write(
      JSON.stringify(
        {
          machine: m,
          workers,
          cnn,
          trialsSeries,
          tileSeries,
          imageSeries,
          training,
          peakRssMiB: peakRssMiB(),
        },
        null,
        2,
      ) + '\n',
    );
}

main(process.argv).catch((err: unknown) => {
  const e = err as Error;
  process.stderr.write(
    `bench/scaling: error: ${e instanceof InputError ? e.message : (e.stack ?? String(e))}\n`,
  );
  process.exit(e instanceof InputError ? 2 : 1);
});
