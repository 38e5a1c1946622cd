/** Shared by studies: one Monte-Carlo simulation as a compact result record. */
import type { NetworkDescription } from '../nn/description';
import { prepareSimulation, runSimulation, type SimulationSetup } from '../sim/node';
import type { StudyContext } from './types';

export interface SimRecord {
  floatAccuracy: number;
  quantizedAccuracy: number;
  nominalAccuracy: number;
  mean: number;
  std: number;
  ci95: [number, number];
  min: number;
  max: number;
  trials: number;
  perTrial: number[];
  clipRate: number[];
  rmsWeightError: number[];
  seconds: number;
}

export async function simulateConfig(
  ctx: StudyContext,
  dataset: string,
  setup: Partial<SimulationSetup> & Pick<SimulationSetup, 'model' | 'device' | 'circuit'>,
  desc?: NetworkDescription,
): Promise<SimRecord> {
  const prepared = await prepareSimulation(
    {
      trials: ctx.trials,
      seed: ctx.seed,
      quantizeLayers: 'all',
      inputLayers: 'dense',
      calibration: 1000,
      ...setup,
    },
    { data: ctx.dataset(dataset), desc },
  );
  const r = await runSimulation(prepared, { trials: ctx.trials, workers: ctx.workers, progress: false });
  return {
    floatAccuracy: r.floatAccuracy,
    quantizedAccuracy: r.quantizedAccuracy,
    nominalAccuracy: r.nominalAccuracy,
    mean: r.analog.mean,
    std: r.analog.std,
    ci95: r.analog.ci95,
    min: r.analog.min,
    max: r.analog.max,
    trials: r.trials,
    perTrial: r.perTrial.map((t) => t.accuracy),
    clipRate: r.layers.map((l) => l.meanClipRate),
    rmsWeightError: r.layers.map((l) => l.rmsWeightError),
    seconds: r.seconds,
  };
}
