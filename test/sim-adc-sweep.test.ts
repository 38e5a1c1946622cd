/**
 * withAdcBits: a plan derived for another ADC resolution runs exactly like a plan built for it, so a
 * sweep over ADC bits (the dense-resolution study) maps and calibrates the network once.
 */
import * as path from 'node:path';
import { loadDeviceCard } from '../src/device/loadDevice';
import { loadNetwork } from '../src/nn/load';
import { withAdcBits } from '../src/sim/buildPlan';
import { samplersForPlan } from '../src/sim/samplers';
import { runTrial, TrialScratch } from '../src/sim/trial';
import type { SimPlan } from '../src/sim/plan';
import { circuit, mnist, planFor } from './sim-fixtures';

const card = loadDeviceCard('hfo2-1t1r-igvva-8');

function trials(plan: SimPlan) {
  const device = samplersForPlan(plan);
  const scratch = new TrialScratch();
  return [-1, 0, 1].map((t) => runTrial(plan, device, t, scratch, { nominal: t < 0 }));
}

test.each([
  ['full-scale', 'full-scale'],
  ['calibrated at the 99th percentile', { calibrated: 99 }],
])(
  'ADC range %s: derived plans give the trials of plans built at 4, 12 bits and ideal',
  async (_n, range) => {
    const desc = await loadNetwork(path.join(__dirname, '../models/reference-mlp'));
    const data = mnist(200);
    const adc = (bits: number | 'ideal') => circuit({ dac: { bits: 8 }, adc: { bits, range } });
    const base = planFor(desc, card, adc(8), data);
    for (const bits of [4, 12]) {
      const built = trials(planFor(desc, card, adc(bits), data));
      expect(trials(withAdcBits(base, bits))).toEqual(built);
    }
    const ideal = trials(planFor(desc, card, circuit({ dac: { bits: 8 }, adc: { bits: 'ideal' } }), data));
    expect(trials(withAdcBits(base, null))).toEqual(ideal);
    // Not vacuous: the resolution changes the results.
    expect(trials(withAdcBits(base, 4))).not.toEqual(ideal);
  },
);

test('a plan with an ideal ADC has no range to derive a finite one from', async () => {
  const desc = await loadNetwork(path.join(__dirname, '../models/reference-mlp'));
  const ideal = planFor(desc, card, circuit({ adc: { bits: 'ideal' } }), mnist(200));
  expect(() => withAdcBits(ideal, 8)).toThrow(/ideal ADC/);
});
