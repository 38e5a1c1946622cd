/** `xbarsim cost`: energy, area and latency of one inference for a model, device, circuit and technology. */
import type { Command } from 'commander';
import type { InferenceCost } from '../cost/inference';
import { type CostFlags, costOf } from '../cost/node';
import { ADC_ENERGY_MODELS } from '../cost/technology';
import { markdownTable } from '../report/tables';
import { prepareSimulation } from '../sim/node';
import { collectInputs } from '../util/inputLog';
import { InputError } from '../util/errors';
import { printJson, resistanceFlag } from './common';
import { enumFlag, intFlag, validateFlags } from './flags';
import { addSimulationOptions, type SimulateFlags, simulateFlagSchema } from './simulationOptions';

/** The cost flags (the options themselves are among the simulation options). */
export const costFlagSchema = {
  technology: { type: 'string' },
  adcModel: enumFlag(...ADC_ENERGY_MODELS),
  columnsPerAdc: intFlag(1, 65536),
};

const si = (v: number, unit: string, digits = 3): string => {
  if (v === 0) return `0 ${unit}`;
  const prefixes: Array<[number, string]> = [
    [1e-15, 'f'],
    [1e-12, 'p'],
    [1e-9, 'n'],
    [1e-6, 'u'],
    [1e-3, 'm'],
    [1, ''],
  ];
  let chosen = prefixes[0];
  for (const p of prefixes) if (Math.abs(v) >= p[0]) chosen = p;
  return `${(v / chosen[0]).toPrecision(digits)} ${chosen[1]}${unit}`;
};

export function formatCost(c: InferenceCost): string {
  const e = c.energyJoules;
  const share = (v: number) => (e.total > 0 ? `${((100 * v) / e.total).toFixed(1)} %` : '');
  const lines = [
    `technology ${c.technology}, ADC energy model ${c.adcModel}, ${c.columnsPerAdc} column${c.columnsPerAdc === 1 ? '' : 's'} per ADC`,
    '',
    markdownTable(
      ['per inference', 'energy', 'share'],
      [
        ['ADC', si(e.adc, 'J'), share(e.adc)],
        ['DAC', si(e.dac, 'J'), share(e.dac)],
        ['array', si(e.array, 'J'), share(e.array)],
        ['digital', si(e.digital, 'J'), share(e.digital)],
        ['total', si(e.total, 'J'), ''],
      ],
    ),
    '',
    `latency ${si(c.latencySeconds, 's')} per image; ADC area ${(c.adcAreaSquareMeters * 1e6).toPrecision(3)} mm^2, array area ${(c.arrayAreaSquareMeters * 1e6).toPrecision(3)} mm^2`,
    '',
    markdownTable(
      [
        'layer',
        'positions',
        'tiles',
        'ADCs',
        'ADC bits',
        'conversions',
        'ADC',
        'DAC',
        'array',
        'digital',
        'latency',
      ],
      c.stages.map((s) => [
        s.layer,
        String(s.positions),
        `${s.rowTiles} x ${s.colTiles}`,
        String(s.adcs),
        s.adcBits === null ? 'ideal' : String(s.adcBits),
        String(s.conversionsPerImage),
        si(s.energyJoules.adc, 'J'),
        si(s.energyJoules.dac, 'J'),
        si(s.energyJoules.array, 'J'),
        si(s.energyJoules.digital, 'J'),
        si(s.latencySeconds, 's'),
      ]),
    ),
    '',
    ...c.notes.map((n) => `note: ${n}`),
  ];
  return lines.join('\n') + '\n';
}

export function registerCost(program: Command): void {
  const cmd = program
    .command('cost')
    .description('energy (ADC, DAC, array, digital), area and latency of one inference on a technology card');
  addSimulationOptions(cmd).option('--json', 'print one machine-readable JSON object');
  cmd.action(async (opts: Record<string, unknown>) => {
    const f = validateFlags<SimulateFlags & CostFlags & { json?: boolean }>(
      { ...simulateFlagSchema, properties: { ...simulateFlagSchema.properties, ...costFlagSchema } },
      { trials: 1, ...opts },
    );
    for (const k of ['model', 'device', 'circuit', 'technology'] as const)
      if (f[k] === undefined) throw new InputError(`flag --${k} is required`);
    f.wireResistance = resistanceFlag(f.wireResistance, '--wire-resistance');
    f.accessResistance = resistanceFlag(f.accessResistance, '--access-resistance');
    const { result: cost, inputs } = await collectInputs(async () => costOf(await prepareSimulation(f), f));
    if (f.json) printJson({ model: f.model, device: f.device, circuit: f.circuit, cost, provenance: inputs });
    else process.stdout.write(formatCost(cost));
  });
}
