/** `xbarsim evaluate`: float accuracy and accuracy per weight/input quantiser, digitally. */
import type { Command } from 'commander';
import { addDatasetOptions, datasetFlagSchema, openDataset, pct, printJson } from './common';
import { enumFlag, intFlag, validateFlags } from './flags';
import { loadNetwork } from '../nn/load';
import { evaluateQuantizers, type EvaluationRow } from '../nn/evaluate';
import { parseInputQuantizer, parseWeightQuantizer } from '../nn/quantize';

export function registerEvaluate(program: Command): void {
  const cmd = program
    .command('evaluate')
    .description('digital accuracy of a trained model, float and per quantiser')
    .requiredOption('--model <dir>', 'model directory (ours, or a TF.js layers model converted from Keras)');
  addDatasetOptions(cmd);
  cmd
    .option('--quantize <list>', 'weight quantisers, comma-separated: quantile:N, uniform:B, binary, ternary')
    .option('--quantize-layers <which>', 'layers whose weights are quantised: all | dense', 'all')
    .option('--input <list>', 'input quantisers, comma-separated: uniform:B, expfit:mean, expfit:q3')
    .option('--input-layers <which>', 'layers whose inputs are quantised: dense | all', 'dense')
    .option('--calibration <n>', 'training images used to calibrate input quantisers', '2000')
    .option('--binarize <t>', 'override the input binarisation threshold (models without a description)')
    .option('--json', 'print one machine-readable JSON object');
  cmd.action(async (opts: Record<string, unknown>) => {
    const f = validateFlags<{
      model: string;
      dataset: string;
      limit?: number;
      testLimit?: number;
      quantize?: string;
      quantizeLayers: 'all' | 'dense';
      input?: string;
      inputLayers: 'all' | 'dense';
      calibration: number;
      binarize?: number;
      json?: boolean;
    }>(
      {
        type: 'object',
        properties: {
          ...datasetFlagSchema,
          quantizeLayers: enumFlag('all', 'dense'),
          inputLayers: enumFlag('all', 'dense'),
          calibration: intFlag(1, 60000),
          binarize: { type: 'number', minimum: 0, maximum: 1 },
        },
      },
      opts,
    );
    const weightQs = (f.quantize ?? '').split(',').filter(Boolean).map(parseWeightQuantizer);
    const inputQs = (f.input ?? '').split(',').filter(Boolean).map(parseInputQuantizer);
    const desc = await loadNetwork(f.model, { binarizeThreshold: f.binarize });
    const data = openDataset(f);
    const rows = evaluateQuantizers(desc, data, {
      weightQuantizers: weightQs,
      weightLayers: f.quantizeLayers,
      inputQuantizers: inputQs,
      inputLayers: f.inputLayers,
      calibrationImages: f.calibration,
    });
    if (f.json) {
      printJson({ model: f.model, dataset: data.name, testImages: data.test.count, results: rows });
    } else {
      process.stdout.write(formatRows(rows));
    }
  });
}

function formatRows(rows: EvaluationRow[]): string {
  const w = Math.max(...rows.map((r) => r.label.length), 9);
  return rows.map((r) => `${r.label.padEnd(w)}  ${pct(r.accuracy).padStart(8)}\n`).join('');
}
