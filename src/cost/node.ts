/**
 * Node adapter: the cost of one inference of a prepared simulation, with the technology card read from
 * technology/ and the activity measured on the simulation's own test images.
 */
import type { PreparedSimulation } from '../sim/node';
import { InputError } from '../util/errors';
import { planActivity } from './activity';
import { type InferenceCost, inferenceCost } from './inference';
import { loadTechnologyCard } from './loadTechnology';
import type { AdcEnergyModel } from './technology';

export interface CostFlags {
  technology?: string;
  adcModel?: AdcEnergyModel;
}

/** Test images whose activity the cost is computed from (the first N; all when fewer). */
export const ACTIVITY_IMAGES = 1000;

/** The cost of one inference of a prepared simulation, its activity measured on its test images. */
export function costOf(prepared: PreparedSimulation, flags: CostFlags): InferenceCost {
  return costsOf(prepared, flags, [prepared.circuit.columnsPerAdc])[0];
}

/**
 * The same cost for several ADC sharings (columns per ADC change area and latency only), the activity
 * measured once.
 */
export function costsOf(
  prepared: PreparedSimulation,
  flags: CostFlags,
  columnsPerAdc: readonly number[],
): InferenceCost[] {
  if (!flags.technology) throw new InputError('flag --technology is required');
  const tech = loadTechnologyCard(flags.technology);
  const { plan, refs, circuit, device } = prepared;
  const count = Math.min(ACTIVITY_IMAGES, refs.test.count);
  const pixels = refs.test.images.length / refs.test.count;
  const activity = planActivity(plan, refs.quantized, refs.test.images.subarray(0, count * pixels), count);
  return columnsPerAdc.map((k) => {
    const cost = inferenceCost(
      plan,
      activity,
      { ...circuit, columnsPerAdc: k },
      tech,
      device.levels.map((l) => l.gMeanSiemens),
      flags.adcModel ?? tech.adc.model,
    );
    cost.notes.push(`activity measured on the first ${count} test images`);
    return cost;
  });
}
