/** The flags that set up a simulation, shared by `simulate` and `cost`. */
import type { Command } from 'commander';
import { addDatasetOptions, datasetFlagSchema } from './common';
import { enumFlag, intFlag } from './flags';
import type { SimulationSetup } from '../sim/node';

export interface SimulateFlags extends SimulationSetup {
  json?: boolean;
  out?: string;
  force?: boolean;
}

export const simulateFlagSchema = {
  type: 'object' as const,
  properties: {
    ...datasetFlagSchema,
    trials: intFlag(1, 100000),
    seed: intFlag(0, 2 ** 31 - 1),
    workers: intFlag(1, 256),
    calibration: intFlag(1, 60000),
    adcBits: { anyOf: [intFlag(1, 16), { type: 'string', enum: ['ideal'] }] },
    dacBits: { anyOf: [intFlag(1, 16), { type: 'string', enum: ['ideal', 'binary'] }] },
    tileRows: intFlag(2, 4096),
    tileCols: intFlag(2, 4096),
    weightSlices: intFlag(1, 8),
    bitsPerCell: intFlag(1, 8),
    mapping: enumFlag('differential', 'offset'),
    quantizeLayers: enumFlag('all', 'dense'),
    inputLayers: enumFlag('all', 'dense'),
  },
};

export function addSimulationOptions(cmd: Command): Command {
  cmd
    .option('--model <dir>', 'model directory (required unless --from)')
    .option('--device <card>', 'device card: a name in devices/ or a path (required unless --from)')
    .option('--circuit <card>', 'circuit card: a name in circuits/ or a path (required unless --from)')
    .option(
      '--from <result.json>',
      'rerun a saved result: its model, cards, circuit after overrides, data, quantisers, seed and trials (other flags override); checks that its input files are unchanged',
    );
  addDatasetOptions(cmd, false);
  return cmd
    .option('--seed <n>', 'random seed (trial t draws from a stream of (seed, t))', '1')
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option(
      '--quantize <q>',
      'weight quantiser before mapping: quantile:N, uniform:B, uniform:B@P (range at the P-th percentile of |w|), fixed:B, fixed:B@max (truncation, docs/quantization.md), binary, ternary',
    )
    .option('--quantize-layers <which>', 'layers the weight quantiser applies to: all | dense', 'all')
    .option('--input <q>', 'input quantiser: uniform:B, fixed:B, fixed:B@max, expfit:mean, expfit:q3')
    .option('--input-layers <which>', 'layers the input quantiser applies to: dense | all', 'dense')
    .option('--calibration <n>', 'training images for DAC/ADC ranges and input quantisers', '1000')
    .option('--adc-bits <n>', 'override the circuit card: ADC bits or "ideal"')
    .option('--dac-bits <n>', 'override the circuit card: DAC bits, "binary" or "ideal"')
    .option('--tile-rows <n>', 'override the circuit card: tile rows')
    .option('--tile-cols <n>', 'override the circuit card: tile columns')
    .option('--mapping <m>', 'override the circuit card: differential | offset')
    .option(
      '--wire-resistance <r>',
      'override the circuit card: row and column wire resistance per cell segment, e.g. "1 Ohm"',
    )
    .option(
      '--access-resistance <r>',
      'override the circuit card: access transistor on-resistance, e.g. "2 kOhm"',
    )
    .option('--columns-per-adc <n>', 'override the circuit card: columns sharing one ADC')
    .option(
      '--weight-slices <n>',
      "override the circuit card: bit slicing, cell pairs per weight (1..8, with --bits-per-cell or the card's)",
    )
    .option('--bits-per-cell <n>', 'override the circuit card: bit slicing, bits per cell (1..8)')
    .option('--technology <card>', 'technology card (technology/): adds the cost of one inference')
    .option('--adc-model <m>', "ADC energy model: neurosim-sar | walden | murmann (default: the card's)");
}
