/** Shared by studies: one Monte-Carlo simulation as a compact result record. */
import { createHash } from 'node:crypto';
import type { NetworkDescription } from '../nn/description';
import { prepareSimulation, runSimulation, type SimulationSetup } from '../sim/node';
import { digitalAccuracy, type TestSet } from '../sim/simulate';
import type { StudyContext } from './types';
import type { InferenceCost } from '../cost/inference';
import { costsOf } from '../cost/node';
import type { AdcEnergyModel } from '../cost/technology';

/**
 * Digital accuracies per study run, keyed by the network's content and the test set: a study simulates
 * one network under many cards and converters, and its digital forward on the test set (tens of
 * seconds for a CNN on 10k images) would otherwise be repeated for each.
 */
const digitalMemo = new WeakMap<object, Map<string, number>>();

function contentKey(desc: NetworkDescription, testLabel: string, testCount: number): string {
  const hash = createHash('sha256');
  hash.update(`${testLabel}:${testCount}:`);
  hash.update(
    JSON.stringify(desc, (_k, v: unknown) =>
      v instanceof Float32Array
        ? createHash('sha256')
            .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
            .digest('hex')
        : v,
    ),
  );
  return hash.digest('hex');
}

/**
 * Digital test accuracy of a network, computed once per `owner` (a study run, or whatever else the test
 * set belongs to), network content and test set (`testLabel` names it: a dataset, or features of one).
 */
export function memoizedDigitalAccuracy(
  owner: object,
  testLabel: string,
  test: TestSet,
): (d: NetworkDescription) => number {
  let memo = digitalMemo.get(owner);
  if (!memo) digitalMemo.set(owner, (memo = new Map()));
  return (d) => {
    const key = contentKey(d, testLabel, test.count);
    let a = memo.get(key);
    if (a === undefined) memo.set(key, (a = digitalAccuracy(d, test)));
    return a;
  };
}

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
  /** Per analog layer, with parasitics: the nominal chip's mean relative column-current error; else null. */
  irDropError?: Array<number | null>;
  /** With a technology: the cost of one inference per ADC sharing (cost/). */
  cost?: CostSummary[];
  seconds: number;
}

export interface CostSummary {
  technology: string;
  adcModel: string;
  columnsPerAdc: number;
  energyJoules: InferenceCost['energyJoules'];
  adcAreaSquareMeters: number;
  arrayAreaSquareMeters: number;
  latencySeconds: number;
}

/** What to cost a configuration with: a technology card, and the ADC sharings to cost it at. */
export interface CostRequest {
  technology: string;
  adcModel?: AdcEnergyModel;
  columnsPerAdc: number[];
}

export async function simulateConfig(
  ctx: StudyContext,
  dataset: string,
  setup: Partial<SimulationSetup> & Pick<SimulationSetup, 'model' | 'device' | 'circuit'>,
  desc?: NetworkDescription,
  cost?: CostRequest,
): Promise<SimRecord> {
  const prepared = await prepareSimulation(
    {
      trials: ctx.trials,
      seed: ctx.seed,
      quantizeLayers: 'all',
      inputLayers: 'dense',
      calibration: 1000,
      wireResistance: ctx.params.wireResistance,
      accessResistance: ctx.params.accessResistance,
      ...setup,
    },
    { data: ctx.dataset(dataset), desc },
  );
  prepared.refs.digitalAccuracy = memoizedDigitalAccuracy(ctx, dataset, prepared.refs.test);
  const costs = cost && costsOf(prepared, cost, cost.columnsPerAdc);
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
    irDropError: r.layers.map((l) => l.irDropError ?? null),
    ...(costs && {
      cost: costs.map((c) => ({
        technology: c.technology,
        adcModel: c.adcModel,
        columnsPerAdc: c.columnsPerAdc,
        energyJoules: c.energyJoules,
        adcAreaSquareMeters: c.adcAreaSquareMeters,
        arrayAreaSquareMeters: c.arrayAreaSquareMeters,
        latencySeconds: c.latencySeconds,
      })),
    }),
    seconds: r.seconds,
  };
}
