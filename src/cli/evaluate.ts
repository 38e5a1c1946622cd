/** `xbarsim evaluate`: float accuracy and accuracy per weight/input quantiser, digitally. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  addBackendOption,
  addDatasetOptions,
  backendFlagSchema,
  datasetFlagSchema,
  openDataset,
  pct,
  printJson,
} from './common';
import { enumFlag, intFlag, validateFlags } from './flags';
import { PIXELS_PER_IMAGE } from '../data/types';
import { datasetFor, DESCRIPTION_FILE, loadNetwork } from '../nn/load';
import { InputError } from '../util/errors';
import { evaluateQuantizers, type EvaluationRow } from '../nn/evaluate';
import { deadUnits, type DeadUnitRow } from '../nn/deadUnits';
import { prepareInput } from '../nn/forward';
import { parseInputQuantizer, parseWeightQuantizer } from '../nn/quantize';

export function registerEvaluate(program: Command): void {
  const cmd = program
    .command('evaluate')
    .description('digital accuracy of a trained model, float and per quantiser')
    .requiredOption('--model <dir>', 'model directory (ours, or a TF.js layers model converted from Keras)');
  addDatasetOptions(cmd, false);
  cmd
    .option(
      '--quantize <list>',
      'weight quantisers, comma-separated: quantile:N, uniform:B, uniform:B@P (range at the P-th percentile of |w|), fixed:B, fixed:B@max (truncation, docs/quantization.md), binary, ternary',
    )
    .option('--quantize-layers <which>', 'layers whose weights are quantised: all | dense', 'all')
    .option(
      '--input <list>',
      'input quantisers, comma-separated: uniform:B, fixed:B, fixed:B@max, expfit:mean, expfit:q3',
    )
    .option('--input-layers <which>', 'layers whose inputs are quantised: dense | all', 'dense')
    .option('--calibration <n>', 'training images used to calibrate input quantisers', '2000')
    .option('--binarize <t>', 'override the input binarisation threshold (models without a description)')
    .option(
      '--dead-units',
      "also count the float network's ReLU units (conv filters, dense units) never active on the test images",
    )
    .option('--json', 'print one machine-readable JSON object');
  addBackendOption(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    const f = validateFlags<{
      model: string;
      dataset?: string;
      limit?: number;
      testLimit?: number;
      quantize?: string;
      quantizeLayers: 'all' | 'dense';
      input?: string;
      inputLayers: 'all' | 'dense';
      calibration: number;
      binarize?: number;
      deadUnits?: boolean;
      json?: boolean;
      backend: string;
    }>(
      {
        type: 'object',
        properties: {
          ...datasetFlagSchema,
          quantizeLayers: enumFlag('all', 'dense'),
          inputLayers: enumFlag('all', 'dense'),
          calibration: intFlag(1, 60000),
          binarize: { type: 'number', minimum: 0, maximum: 1 },
          ...backendFlagSchema,
        },
      },
      opts,
    );
    const weightQs = (f.quantize ?? '').split(',').filter(Boolean).map(parseWeightQuantizer);
    const inputQs = (f.input ?? '').split(',').filter(Boolean).map(parseInputQuantizer);
    if (fs.existsSync(f.model) && !fs.existsSync(path.join(f.model, DESCRIPTION_FILE))) {
      // A model without our description is read with TF.js: give it the chosen backend, not TF.js's
      // default cpu backend with its console banner.
      const { initBackend } = await import('../nn/backend');
      await initBackend(f.backend as 'auto');
    }
    const desc = await loadNetwork(f.model, { binarizeThreshold: f.binarize });
    const pixels = desc.inputShape.reduce((a, b) => a * b, 1);
    if (pixels !== PIXELS_PER_IMAGE)
      throw new InputError(
        `--model ${f.model}: the network takes inputs of shape [${desc.inputShape.join(', ')}], the datasets have 28x28 images`,
      );
    const dataset = datasetFor(desc, f.dataset, f.model);
    const data = openDataset({ ...f, dataset: dataset.name });
    if (dataset.warning) process.stderr.write(dataset.warning);
    const rows = evaluateQuantizers(desc, data, {
      weightQuantizers: weightQs,
      weightLayers: f.quantizeLayers,
      inputQuantizers: inputQs,
      inputLayers: f.inputLayers,
      calibrationImages: f.calibration,
    });
    const dead = f.deadUnits
      ? deadUnits(desc, prepareInput(desc, data.test.images, data.test.count))
      : undefined;
    if (f.json) {
      printJson({
        model: f.model,
        dataset: data.name,
        testImages: data.test.count,
        float: rows[0].accuracy,
        // Accuracy per weight quantiser, float inputs (the first study's table).
        weightQuantizers: Object.fromEntries(
          rows
            .filter((r) => r.weights !== 'float' && r.inputs === 'float')
            .map((r) => [r.weights, r.accuracy]),
        ),
        results: rows,
        ...(dead && { deadUnits: dead }),
      });
    } else {
      process.stdout.write(formatRows(rows));
      if (dead) process.stdout.write(formatDeadUnits(dead, data.test.count));
    }
  });
}

function formatDeadUnits(rows: DeadUnitRow[], images: number): string {
  return (
    `dead units (output 0 on all ${images} test images):\n` +
    rows
      .map((r) => `  ${r.layer}: ${r.dead} of ${r.units}${r.dead ? ` (${r.deadIndices.join(', ')})` : ''}\n`)
      .join('')
  );
}

function formatRows(rows: EvaluationRow[]): string {
  const w = Math.max(...rows.map((r) => r.label.length), 9);
  const g = (v: number) => v.toPrecision(4);
  return rows
    .map(
      (r) =>
        `${r.label.padEnd(w)}  ${pct(r.accuracy).padStart(8)}\n` +
        (r.fits ?? [])
          .map(
            (f) =>
              `  ${f.layer}: exponential fit of the non-zero inputs x0 ${g(f.x0)}, beta ${g(f.beta)}; threshold (${f.rule}) ${g(f.threshold)}, high ${g(f.high)}\n`,
          )
          .join(''),
    )
    .join('');
}
