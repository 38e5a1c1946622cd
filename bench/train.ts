/**
 * Seconds per training epoch under the training defaults (the first study's SGD 0.1, momentum 0.9,
 * batch 32, 10 % held out, inputs binarised at 0.1) for the reference MLP and CNN on MNIST.
 *
 *   npm run bench:train                 quick figure: a 6000-image subset, scaled to a full epoch
 *   npm run bench:train -- --full       one whole epoch (54,000 training images)
 *   options: --limit N, --arch A[,A...], --backend auto|node|wasm|cpu, --seed N
 *
 * An epoch is the training steps plus two accuracy passes (at most TRAIN_ACCURACY_IMAGES = 5000
 * training images, and the held-out ones). On a subset the two are timed apart and scaled apart: the
 * steps by 54,000 / (training images used), the passes by 11,000 / (images they covered). Scaling the
 * whole epoch by the first ratio would count the 5000-image pass ten times over (`cnn:c32p2:h128`:
 * ~35 s estimated against 20 s measured on a whole epoch). A warm-up epoch on 320 images first keeps
 * one-time costs (kernel set-up, memory growth) out. Both wall-clock and process CPU time are printed:
 * on a shared machine the CPU time is the fairer figure.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data';
import { parseArch } from '../src/nn/arch';
import { type BackendChoice, initBackend } from '../src/nn/backend';
import { buildModel } from '../src/nn/model';
import { DEFAULT_TRAIN, TRAIN_ACCURACY_IMAGES, trainModel } from '../src/nn/train';

const FULL_TRAIN_IMAGES = 60000 * (1 - DEFAULT_TRAIN.validationSplit);

/** Images the accuracy passes of an epoch cover with `trainImages` training and `heldOut` held-out images. */
function accuracyPassImages(trainImages: number, heldOut: number): number {
  return Math.min(trainImages, TRAIN_ACCURACY_IMAGES) + heldOut;
}

interface EpochTimes {
  /** Wall and CPU seconds of the training steps and of the accuracy passes after them. */
  steps: { seconds: number; cpuSeconds: number };
  passes: { seconds: number; cpuSeconds: number };
}

async function epochTimes(
  arch: string,
  images: ReturnType<typeof loadDataset>['train'],
  seed: number,
): Promise<EpochTimes> {
  const model = buildModel(parseArch(arch), seed);
  const opts = { ...DEFAULT_TRAIN, epochs: 1, seed, binarizeThreshold: 0.1 };
  const warm = {
    images: images.images.subarray(0, 320 * 784),
    labels: images.labels.subarray(0, 320),
    count: 320,
  };
  await trainModel(model, warm, opts);
  const clock = () => ({ wall: process.hrtime.bigint(), cpu: process.cpuUsage() });
  // CPU time says what the epoch costs when other processes share the cores (wall time then grows).
  const since = (a: ReturnType<typeof clock>, b: ReturnType<typeof clock>) => ({
    seconds: Number(b.wall - a.wall) / 1e9,
    cpuSeconds: (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1e6,
  });
  const start = clock();
  let lastStep = start;
  await trainModel(model, images, {
    ...opts,
    onBatch: (_epoch, batch, batches) => {
      if (batch === batches) lastStep = clock();
    },
  });
  const end = clock();
  model.dispose();
  return { steps: since(start, lastStep), passes: since(lastStep, end) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      limit: { type: 'string', default: '6000' },
      arch: { type: 'string', default: 'mlp:128x1,cnn:c32p2:h128' },
      backend: { type: 'string', default: 'auto' },
      seed: { type: 'string', default: '1' },
    },
  });
  const limit = values.full ? 60000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 400 || limit > 60000)
    throw new Error(`--limit must be an integer 400..60000, got ${values.limit}`);
  const backend = await initBackend(values.backend as BackendChoice);
  const data = loadDataset('mnist', { limit, testLimit: 1 });
  const trainImages = Math.round(data.train.count * (1 - DEFAULT_TRAIN.validationSplit));
  const cpus = os.cpus();
  console.log(`backend:  ${backend.description}`);
  console.log(
    `machine:  ${cpus[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores available, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os.loadavg()[0].toFixed(2)}, ` +
      `${os.platform()} ${os.arch()}, Node ${process.versions.node}`,
  );
  console.log(
    `protocol: SGD lr ${DEFAULT_TRAIN.learningRate}, momentum ${DEFAULT_TRAIN.momentum}, batch ${DEFAULT_TRAIN.batchSize}, ` +
      `lr schedule ${DEFAULT_TRAIN.lrSchedule}, ${trainImages} training images` +
      (values.full ? ' (one whole epoch)' : ` (subset; scaled to ${FULL_TRAIN_IMAGES})`),
  );
  const heldOut = data.train.count - trainImages;
  const fullHeldOut = 60000 - FULL_TRAIN_IMAGES;
  const stepScale = FULL_TRAIN_IMAGES / trainImages;
  const passScale =
    accuracyPassImages(FULL_TRAIN_IMAGES, fullHeldOut) / accuracyPassImages(trainImages, heldOut);
  for (const arch of String(values.arch).split(',')) {
    const { steps, passes } = await epochTimes(arch, data.train, Number(values.seed));
    const approx = values.full ? '' : '~';
    const wall = steps.seconds * stepScale + passes.seconds * passScale;
    const cpu = steps.cpuSeconds * stepScale + passes.cpuSeconds * passScale;
    console.log(
      `${arch.padEnd(18)} steps ${steps.seconds.toFixed(1).padStart(6)} s, accuracy passes ` +
        `${passes.seconds.toFixed(1).padStart(5)} s measured (wall);  ` +
        `${approx}${wall.toFixed(0)} s/epoch wall, ${approx}${cpu.toFixed(0)} s/epoch cpu`,
    );
  }
  console.log(`load average after: ${os.loadavg()[0].toFixed(2)}`);
}

main().catch((err) => {
  process.stderr.write(`bench/train: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
