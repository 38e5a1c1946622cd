/**
 * Benchmark W1 (../shared/bench/README.md): Monte-Carlo inference of the MLP 784-128-10 on MNIST
 * binarised at 0.1, device hfo2-1t1r-igvva-8, differential pairs on 128 x 128 tiles, every cell drawn per
 * trial, 1-bit inputs on layer 1 and 8-bit on layer 2, 8-bit full-scale ADC per column, digital partial
 * sums. Prints trials/s, effective GFLOP/s and peak memory; --vs-numpy also runs the numpy reference in
 * the same run and prints the ratio.
 *
 *   npm run bench:mc -- [--model DIR] [--trials 100] [--workers N] [--check K] [--vs-numpy]
 *
 * Weights: uniform:4 by default, the numpy script's rounding of |w| / max|w| to 8 magnitudes (15 signed
 * values), each a differential pair of the 8-level card.
 *
 * Layer 1's "1-bit inputs": the circuit card has one DAC for all layers (tile128-adc8: 8 bits). Layer 1
 * sees the binarised pixels, so its DAC range xMax is 1 and the 8-bit DAC maps 0 and 1 exactly to 0 and
 * vRead: a 1-bit input. The bench checks this on the plan and says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { enumFlag, intFlag, validateFlags } from '../src/cli/flags';
import type { AnalogStage } from '../src/sim/plan';
import { prepareSimulation } from '../src/sim/node';
import { runReferenceTrial } from '../src/sim/referenceTrial';
import { samplersForPlan } from '../src/sim/samplers';
import { dacInput } from '../src/sim/trial';
import { defaultWorkers } from '../src/sim/workerPool';
import { InputError } from '../src/util/errors';
import {
  REPO_ROOT,
  fingerprint,
  flopsPerTrial,
  load,
  machine,
  meanAccuracy,
  numpyScript,
  peakRssMiB,
  runNumpy,
  timedTrials,
} from './common';

interface McFlags {
  model: string;
  device: string;
  circuit: string;
  trials: number;
  seed: number;
  workers?: number;
  testLimit?: number;
  check: number;
  vsNumpy?: boolean;
  quantize: string;
  numpyScript?: string;
  numpyTrials?: number;
  json?: boolean;
}

const schema = {
  type: 'object' as const,
  properties: {
    trials: intFlag(1, 100000),
    seed: intFlag(0, 2 ** 31 - 1),
    workers: intFlag(1, 256),
    testLimit: intFlag(1, 10000),
    check: intFlag(0, 1000),
    numpyTrials: intFlag(1, 100000),
    json: { type: 'boolean' },
    vsNumpy: { type: 'boolean' },
    device: { type: 'string' },
    circuit: { type: 'string' },
    quantize: { type: 'string' },
    mapping: enumFlag('differential', 'offset'),
  },
};

/** Describe how each analog stage's DAC treats its inputs (and check layer 1's inputs are 0/1). */
function dacReport(stage: AnalogStage, u: Float32Array | null): string {
  const d = stage.dac;
  const kind = d.kind === 'bits' ? `${d.bits}-bit DAC` : `${d.kind} DAC`;
  if (!u) return `${stage.layerName}: ${kind}, xMax ${d.xMax.toPrecision(4)}`;
  const binary = u.every((v) => v === 0 || v === 1);
  return `${stage.layerName}: ${kind}, xMax ${d.xMax.toPrecision(4)}; inputs ${binary ? 'all 0 or 1, mapped exactly to 0 or vRead (1-bit inputs)' : 'not binary'}`;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench/mc')
    .option('--model <dir>', 'model directory (MLP 784-128-10)', path.join(REPO_ROOT, 'models/reference-mlp'))
    .option('--device <card>', 'device card', 'hfo2-1t1r-igvva-8')
    .option('--circuit <card>', 'circuit card', 'tile128-adc8')
    .option(
      '--quantize <q>',
      "weight quantiser ('none': float weights); uniform:4 = the numpy script's 8 magnitude levels",
      'uniform:4',
    )
    .option('--trials <n>', 'chips to simulate', '100')
    .option('--seed <n>', 'random seed', '1')
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option('--test-limit <n>', 'test images (default: all 10000)')
    .option(
      '--check <k>',
      'also run the first K trials through the plain reference path and require identical results',
      '0',
    )
    .option('--vs-numpy', 'also run the numpy reference (python3) in this run and print the ratio')
    .option(
      '--numpy-script <file>',
      'numpy reference script (default: $XBARSIM_NUMPY_BENCH or ../shared/bench/mc_numpy.py)',
    )
    .option('--numpy-trials <n>', 'trials for the numpy reference (default: --trials)')
    .option('--json', 'print one JSON object')
    .parse(argv);
  const f = validateFlags<McFlags>(schema, program.opts());
  if (!fs.existsSync(path.join(f.model, 'network.json')))
    throw new InputError(`no model at ${f.model} (network.json missing); train one or pass --model DIR`);
  if (f.vsNumpy && f.testLimit !== undefined && f.testLimit !== 10000)
    throw new InputError('--vs-numpy races the numpy script on all 10000 test images: drop --test-limit');
  const script = f.vsNumpy ? numpyScript(f.numpyScript) : null; // fail before the long part
  const workers = f.workers ?? defaultWorkers();
  const m = machine();
  const log = (s: string) => {
    if (!f.json) process.stdout.write(s + '\n');
  };
  log(`machine: ${m.cores} cores, ${m.cpu}, node ${m.node}; load average ${load()}`);

  const t0 = performance.now();
  const setup = await prepareSimulation({
    model: f.model,
    device: f.device,
    circuit: f.circuit,
    testLimit: f.testLimit,
    trials: f.trials,
    seed: f.seed,
    quantize: f.quantize === 'none' ? undefined : f.quantize,
    quantizeLayers: 'all',
    inputLayers: 'dense',
    calibration: 1000,
  });
  const plan = setup.plan;
  const setupSeconds = (performance.now() - t0) / 1000;
  const analog = plan.stages.filter((s): s is AnalogStage => s.kind === 'analog');
  log(
    `workload: ${f.model} (weights ${f.quantize}) on ${f.device}, ${f.circuit}; ${plan.front.count} test images, ${f.trials} trials, seed ${f.seed}, ${workers} workers`,
  );
  for (const [k, s] of analog.entries()) {
    const first = k === 0 && plan.stages.indexOf(s) === 0;
    log(
      `  ${s.rows} x ${s.cols} -> ${s.rowTiles.length} row tiles x ${s.physCols} physical columns (${s.mapping}), ` +
        `ADC ${s.adcBits === null ? 'ideal' : `${s.adcBits} bits`}; ${dacReport(s, first ? dacInput(s, plan.front).u : null)}`,
    );
  }
  log(
    `  effective work per trial: ${(flopsPerTrial(plan) / 1e9).toFixed(3)} GFLOP (2 x images x sum of tile rows x columns); setup ${setupSeconds.toFixed(1)} s`,
  );

  const run = await timedTrials(plan, f.trials, workers);
  const rss = peakRssMiB();
  log(
    `xbarsim: ${f.trials} trials in ${run.seconds.toFixed(2)} s = ${run.trialsPerSecond.toFixed(2)} trials/s, ` +
      `${run.gflops.toFixed(1)} effective GFLOP/s, peak RSS ${rss.toFixed(0)} MiB (load ${run.load})`,
  );
  log(
    `  worker start-up ${run.startSeconds.toFixed(2)} s (plan, device, first-stage input lists); ` +
      `with it ${run.endToEndTrialsPerSecond.toFixed(2)} trials/s end to end; CPU ${run.cpuMsPerTrial.toFixed(0)} ms per trial (all threads)`,
  );
  log(
    `  mean accuracy ${(100 * meanAccuracy(run.results)).toFixed(2)} %, per-trial results fingerprint ${fingerprint(run.results)}`,
  );

  let checked = 0;
  if (f.check > 0) {
    const device = samplersForPlan(plan);
    for (const r of run.results.slice(0, f.check)) {
      const ref = runReferenceTrial(plan, device, r.trial);
      if (ref.accuracy !== r.accuracy || ref.clipRate.some((c, k) => c !== r.clipRate[k]))
        throw new Error(
          `trial ${r.trial}: fast path ${JSON.stringify(r)} differs from the reference ${JSON.stringify(ref)}`,
        );
      checked++;
    }
    log(`  reference path: the first ${checked} trials give identical accuracies and clip rates`);
  }

  let numpy = null;
  if (script) {
    numpy = runNumpy(script, f.numpyTrials ?? f.trials, f.seed);
    log(
      `numpy:   ${numpy.trials} trials in ${numpy.seconds.toFixed(2)} s = ${numpy.trialsPerSecond.toFixed(2)} trials/s, ` +
        `${numpy.gflops.toFixed(1)} GFLOP/s (load ${numpy.load})`,
    );
    log(
      `ratio xbarsim / numpy: ${(run.trialsPerSecond / numpy.trialsPerSecond).toFixed(2)} x trials/s ` +
        `(both timing the trial loop; ${(run.endToEndTrialsPerSecond / numpy.trialsPerSecond).toFixed(2)} x with xbarsim's worker start-up)`,
    );
  }
  if (f.json)
    process.stdout.write(
      JSON.stringify(
        {
          machine: m,
          model: f.model,
          testImages: plan.front.count,
          trials: f.trials,
          workers,
          startSeconds: run.startSeconds,
          seconds: run.seconds,
          trialsPerSecond: run.trialsPerSecond,
          endToEndTrialsPerSecond: run.endToEndTrialsPerSecond,
          cpuMsPerTrial: run.cpuMsPerTrial,
          gflops: run.gflops,
          peakRssMiB: rss,
          load: run.load,
          meanAccuracy: meanAccuracy(run.results),
          fingerprint: fingerprint(run.results),
          referenceChecked: checked,
          numpy,
          ratio: numpy ? run.trialsPerSecond / numpy.trialsPerSecond : null,
          endToEndRatio: numpy ? run.endToEndTrialsPerSecond / numpy.trialsPerSecond : null,
        },
        null,
        2,
      ) + '\n',
    );
}

main(process.argv).catch((err: unknown) => {
  const e = err as Error;
  process.stderr.write(`bench/mc: error: ${e instanceof InputError ? e.message : (e.stack ?? String(e))}\n`);
  process.exit(e instanceof InputError ? 2 : 1);
});
