/**
 * What parasitics cost: Monte-Carlo trials per second of the reference MLP on 128 x 128 tiles with ideal
 * wires and with 1 Ohm segments (10,000 test images, worker threads), and the time to solve one tile's
 * effective matrix M for 128 x 128 and 256 x 256 tiles. `npm run bench:parasitics [-- --trials N]`.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { intFlag, validateFlags } from '../src/cli/flags';
import { effectiveConductances, NO_PARASITICS, ParasiticWorkspace } from '../src/crossbar/parasitics';
import { prepareSimulation } from '../src/sim/node';
import { defaultWorkers } from '../src/sim/workerPool';
import { REPO_ROOT, load, machine, peakRssMiB, timedTrials } from './common';

function tileSolveMs(n: number, reps: number): number {
  const ws = new ParasiticWorkspace();
  // A fixed tile of HfO2 1T1R conductances (5-230 uS), 1 Ohm wires and 2 kOhm access transistors.
  const g = Float64Array.from({ length: n * n }, (_, k) => 5e-6 + (225e-6 * ((k * 7919) % 101)) / 100);
  const p = { ...NO_PARASITICS, rowWireOhms: 1, colWireOhms: 1, accessOhms: 2000 };
  const out = new Float64Array(n * n);
  effectiveConductances(g, n, n, p, out, ws); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) effectiveConductances(g, n, n, p, out, ws);
  return (performance.now() - t0) / reps;
}

async function main(): Promise<void> {
  const cmd = new Command('bench:parasitics')
    .option('--trials <n>', 'trials per run', '20')
    .option('--workers <n>', 'worker threads (default: all cores)');
  cmd.parse();
  const f = validateFlags<{ trials: number; workers?: number }>(
    { type: 'object', properties: { trials: intFlag(1, 10000), workers: intFlag(1, 256) } },
    cmd.opts(),
  );
  const workers = f.workers ?? defaultWorkers();
  const m = machine();
  console.log(`machine: ${m.cores} cores, ${m.cpu}, node ${m.node}; load average ${load()}`);
  console.log('tile solve (1 Ohm wires, 2 kOhm access, one thread):');
  for (const [n, reps] of [
    [128, 10],
    [256, 2],
  ])
    console.log(`  ${n} x ${n}: ${tileSolveMs(n, reps).toFixed(0)} ms`);
  const runs: Array<{ label: string; seconds: number; perSecond: number; accuracy: number }> = [];
  for (const [label, wire] of [
    ['ideal wires', undefined],
    ['1 Ohm segments', '1 Ohm'],
  ] as const) {
    const setup = await prepareSimulation({
      model: path.join(REPO_ROOT, 'models/reference-mlp'),
      device: 'hfo2-1t1r-igvva-8',
      circuit: 'tile128-adc8-calibrated',
      quantize: 'uniform:4',
      quantizeLayers: 'all',
      inputLayers: 'dense',
      calibration: 1000,
      trials: f.trials,
      seed: 1,
      wireResistance: wire,
    });
    const run = await timedTrials(setup.plan, f.trials, workers);
    const accuracy = run.results.reduce((a, r) => a + r.accuracy, 0) / run.results.length;
    runs.push({ label, seconds: run.seconds, perSecond: run.trialsPerSecond, accuracy });
    console.log(
      `reference MLP, tile128-adc8-calibrated, ${label}: ${run.trialsPerSecond.toFixed(2)} trials/s ` +
        `(${f.trials} trials, ${workers} workers, ${run.cpuMsPerTrial.toFixed(0)} CPU ms/trial; mean accuracy ${(100 * accuracy).toFixed(2)} %)`,
    );
  }
  console.log(
    `a parasitic trial costs ${(runs[0].perSecond / runs[1].perSecond).toFixed(1)} x an ideal one; peak RSS ${peakRssMiB().toFixed(0)} MiB; load average ${load()}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
