/** Resolve a plan's device card into the samplers a trial draws from. */
import { parseDeviceCard } from '../device/card';
import { resolveDevice } from '../device/model';
import type { SimPlan } from './plan';
import type { DeviceSamplers } from './trial';

export function samplersForPlan(plan: SimPlan): DeviceSamplers {
  return resolveDevice(parseDeviceCard(plan.deviceCard, 'plan device card'));
}
