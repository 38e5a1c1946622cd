/**
 * What parasitics cost: Monte-Carlo trials per second of the reference MLP on 128 x 128 tiles with ideal
 * wires and with 1 Ohm segments (10,000 test images, worker threads), and the time to solve one tile's
 * effective matrix M for 128 x 128 and 256 x 256 tiles, by the nested dissection (the default) and, side by
 * side in the same process, by the row-by-row sweep it replaced. `npm run bench:parasitics [-- --trials N]`.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { intFlag, validateFlags } from '../src/cli/flags';
import {
  DEFAULT_SOLVER,
  effectiveConductances,
  NO_PARASITICS,
  ParasiticWorkspace,
  type TileSolver,
} from '../src/crossbar/parasitics';
import { prepareSimulation } from '../src/sim/node';
import { defaultWorkers } from '../src/sim/workerPool';
import { REPO_ROOT, load, machine, peakRssMiB, timedTrials } from './common';

/** The fastest of `reps` solves (the machine may be shared: the minimum is the least disturbed). */
function tileSolveMs(n: number, reps: number, solver: TileSolver): number {
  const ws = new ParasiticWorkspace();
  // A fixed tile of HfO2 1T1R conductances (5-230 uS), 1 Ohm wires and 2 kOhm access transistors.
  const g = Float64Array.from({ length: n * n }, (_, k) => 5e-6 + (225e-6 * ((k * 7919) % 101)) / 100);
  const p = { ...NO_PARASITICS, rowWireOhms: 1, colWireOhms: 1, accessOhms: 2000 };
  const out = new Float64Array(n * n);
  effectiveConductances(g, n, n, p, out, ws, solver); // warm-up
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    effectiveConductances(g, n, n, p, out, ws, solver);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
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
  console.log('tile solve (1 Ohm wires, 2 kOhm access, one thread, fastest of several):');
  const sweep: TileSolver = { ...DEFAULT_SOLVER, method: 'sweep' };
  for (const [n, reps, sweepReps] of [
    [128, 20, 5],
    [256, 5, 2],
  ]) {
    const cut = tileSolveMs(n, reps, DEFAULT_SOLVER);
    const old = tileSolveMs(n, sweepReps, sweep);
    console.log(
      `  ${n} x ${n}: ${cut.toFixed(1)} ms (nested dissection; row-by-row sweep ${old.toFixed(0)} ms, ${(old / cut).toFixed(1)} x)`,
    );
  }
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
