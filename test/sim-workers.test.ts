/**
 * Issue 3, "Done when": same seed, same per-trial accuracies with 1 and 2 workers. The pool runs the
 * compiled worker (dist/src/sim/trialWorker.js): `npm run build` first (npm test does).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDeviceCard } from '../src/device/loadDevice';
import type { NetworkDescription } from '../src/nn/description';
import { serialRunner, simulate } from '../src/sim/simulate';
import { runTrialsInWorkers } from '../src/sim/workerPool';
import { streamFor } from '../src/util/random';
import { circuit, dense, mnist, network, planFor, templateWeights } from './sim-fixtures';

const N = 80;
const TRIALS = [0, 1, 2, 3, 4, 5];

/** igvva-8 with faults and read noise, so that every random path of a trial is exercised. */
function noisyCard(): unknown {
  const card = structuredClone(loadDeviceCard('hfo2-1t1r-igvva-8')) as unknown as Record<string, unknown>;
  card.faults = { stuckAtOn: 0.01, stuckAtOff: 0.02 };
  card.readNoise = { relativeSigma: 0.05 };
  return card;
}

function mlp(): NetworkDescription {
  const t = templateWeights(mnist(N));
  const rng = streamFor(3, 'workers');
  const w1 = Float32Array.from({ length: 784 * 16 }, (_, k) =>
    k % 16 < 10 ? t[(k >> 4) * 10 + (k % 16)] : 0.05 * rng.normal(),
  );
  const w2 = Float32Array.from({ length: 16 * 10 }, (_, k) =>
    (k / 10) >> 0 === k % 10 ? 1 : 0.1 * rng.normal(),
  );
  return network('mlp', [784], [dense('h', w1, 784, 16, 'relu'), dense('o', w2, 16, 10, 'linear')]);
}

const workerScript = path.resolve(__dirname, '../dist/src/sim/trialWorker.js');

describe('trials on worker threads', () => {
  beforeAll(() => {
    if (!fs.existsSync(workerScript)) throw new Error(`${workerScript} is missing: run npm run build first`);
  });

  test('1 worker, 2 workers and the serial runner give the same per-trial results', async () => {
    const plan = planFor(
      mlp(),
      noisyCard(),
      circuit({ dac: { bits: 6 }, adc: { bits: 6, range: { calibrated: 99 } } }),
      mnist(N),
      { seed: 42 },
    );
    const one = await runTrialsInWorkers(plan, TRIALS, 1);
    const two = await runTrialsInWorkers(plan, TRIALS, 2);
    const serial = await serialRunner(plan, TRIALS);
    expect(one.map((r) => r.trial)).toEqual(TRIALS);
    expect(two).toEqual(one);
    expect(serial).toEqual(one);
    // The trials are really random (different chips), and the ADC clips sometimes.
    expect(new Set(one.map((r) => r.accuracy)).size).toBeGreaterThan(1);
    expect(one.some((r) => r.clipRate.some((c) => c > 0))).toBe(true);
  });

  test('a trial depends only on (seed, trial): a subset in another order reproduces it; another seed does not', async () => {
    const desc = mlp();
    const plan = planFor(desc, noisyCard(), circuit(), mnist(N), { seed: 7 });
    const all = await serialRunner(plan, TRIALS);
    const some = await runTrialsInWorkers(plan, [5, 2], 2);
    expect(some).toEqual([all[5], all[2]]);
    const other = await serialRunner(planFor(desc, noisyCard(), circuit(), mnist(N), { seed: 8 }), TRIALS);
    expect(other.map((r) => r.accuracy)).not.toEqual(all.map((r) => r.accuracy));
  });

  test('simulate() with a 2-worker runner reports the same summary as the serial one', async () => {
    const desc = mlp();
    const data = mnist(N);
    const plan = planFor(desc, noisyCard(), circuit(), data, { seed: 11 });
    const refs = {
      float: desc,
      quantized: desc,
      test: { images: data.test.images, labels: data.test.labels, count: N },
    };
    const serial = await simulate(plan, refs, 4);
    const pooled = await simulate(plan, refs, 4, (p, trials, onResult) =>
      runTrialsInWorkers(p, trials, 2, onResult),
    );
    expect(pooled.perTrial).toEqual(serial.perTrial);
    expect(pooled.analog).toEqual(serial.analog);
    expect(pooled.nominalAccuracy).toBe(serial.nominalAccuracy);
  });
});
