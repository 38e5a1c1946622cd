/** `xbarsim adc-bits`: the lossless ADC resolution of each analog layer. */
import type { Command } from 'commander';
import { printJson } from './common';
import { enumFlag, intFlag, validateFlags } from './flags';
import { loadCircuitCard } from '../crossbar/loadCircuit';
import { withOverrides } from '../crossbar/circuit';
import { loadNetwork } from '../nn/load';
import { quantizeNetwork } from '../nn/network';
import { parseWeightQuantizer } from '../nn/quantize';
import { losslessBitsTable } from '../sim/adcBits';
import { markdownTable } from '../report/tables';

export function registerAdcBits(program: Command): void {
  program
    .command('adc-bits')
    .description('lossless ADC bits per analog layer: log2(d) + w + l (- 1 when w or l is 1)')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--circuit <card>', 'circuit card: a name in circuits/ or a path')
    .option(
      '--quantize <q>',
      'weight quantiser first: quantile:N, uniform:B, uniform:B@P (range at the P-th percentile of |w|), fixed:B, fixed:B@max (truncation, docs/quantization.md), binary, ternary',
    )
    .option('--quantize-layers <which>', 'all | dense', 'all')
    .option('--dac-bits <n>', 'override the circuit card: DAC bits')
    .option('--tile-rows <n>', 'override the circuit card: tile rows')
    .option('--json', 'print JSON')
    .action(async (opts: Record<string, unknown>) => {
      const f = validateFlags<{
        model: string;
        circuit: string;
        quantize?: string;
        quantizeLayers: 'all' | 'dense';
        dacBits?: number;
        tileRows?: number;
        json?: boolean;
      }>(
        {
          type: 'object',
          properties: {
            quantizeLayers: enumFlag('all', 'dense'),
            dacBits: intFlag(1, 16),
            tileRows: intFlag(2, 4096),
          },
        },
        opts,
      );
      const circuit = withOverrides(loadCircuitCard(f.circuit), { dacBits: f.dacBits, rows: f.tileRows });
      let desc = await loadNetwork(f.model);
      if (f.quantize) desc = quantizeNetwork(desc, parseWeightQuantizer(f.quantize), f.quantizeLayers);
      const rows = losslessBitsTable(desc, circuit);
      if (f.json) return printJson(rows);
      process.stdout.write(
        markdownTable(
          [
            'layer',
            'fan-in',
            'd (rows per column)',
            'w (weight bits)',
            'l (input bits)',
            'lossless ADC bits',
          ],
          rows.map((r) => [
            r.layer,
            r.rows,
            r.d,
            r.weightBits,
            r.inputBits ?? 'ideal DAC',
            r.losslessBits ?? 'n/a',
          ]),
        ) + '\n',
      );
    });
}
