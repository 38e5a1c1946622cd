/** `xbarsim simulate`: Monte-Carlo accuracy of a trained network on a simulated crossbar chip. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  addDatasetOptions,
  checkOverwrite,
  datasetFlagSchema,
  pct,
  printJson,
  resistanceFlag,
} from './common';
import { enumFlag, intFlag, validateFlags } from './flags';
import { type SimulationSetup, prepareSimulation, runSimulation } from '../sim/node';
import type { SimulationResult } from '../sim/simulate';
import { toCsv } from '../report/tables';
import { type OutputProvenance, csvWithProvenance } from '../report/provenance';
import { stripBom, writeFilesAtomic } from '../util/files';
import { InputError } from '../util/errors';
import { changedInputs, collectInputs, noteInput } from '../util/inputLog';
import { parseCircuitCard } from '../crossbar/circuit';

export interface SimulateFlags extends SimulationSetup {
  json?: boolean;
  out?: string;
  force?: boolean;
}

const simulateFlagSchema = {
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
    mapping: enumFlag('differential', 'offset'),
    quantizeLayers: enumFlag('all', 'dense'),
    inputLayers: enumFlag('all', 'dense'),
  },
};

function addSimulationOptions(cmd: Command): Command {
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
      'weight quantiser before mapping: quantile:N, uniform:B, uniform:B@P (range at the P-th percentile of |w|), binary, ternary',
    )
    .option('--quantize-layers <which>', 'layers the weight quantiser applies to: all | dense', 'all')
    .option('--input <q>', 'input quantiser: uniform:B, expfit:mean, expfit:q3')
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
    );
}

export function registerSimulate(program: Command): void {
  const cmd = program
    .command('simulate')
    .description('Monte-Carlo accuracy of a trained network on simulated crossbar chips')
    .option('--trials <n>', 'chips to simulate', '100');
  addSimulationOptions(cmd)
    .option('--json', 'print one machine-readable JSON object')
    .option(
      '--out <file>',
      'write the result as JSON to FILE and per-trial values as CSV beside it (an existing directory: result.json inside it)',
    )
    .option('--force', 'replace existing result files');
  cmd.action(async (opts: Record<string, unknown>) => {
    const given = Object.fromEntries(
      Object.entries(opts).filter(([k]) => cmd.getOptionValueSource(k) === 'cli'),
    );
    const f = validateFlags<SimulateFlags>(
      simulateFlagSchema,
      typeof opts.from === 'string' ? { ...opts, ...fromResult(opts.from), ...given } : opts,
    );
    for (const k of ['model', 'device', 'circuit'] as const)
      if (f[k] === undefined) throw new InputError(`flag --${k} is required (or give --from RESULT.json)`);
    f.wireResistance = resistanceFlag(f.wireResistance, '--wire-resistance');
    f.accessResistance = resistanceFlag(f.accessResistance, '--access-resistance');
    // Fail on an unwritable --out before the trials run, not after.
    if (f.out) {
      // An existing directory receives result.json and result.csv.
      if (fs.existsSync(f.out) && fs.statSync(f.out).isDirectory()) f.out = path.join(f.out, 'result.json');
      checkOutputPath(f.out);
      const base = f.out.replace(/\.json$/i, '');
      for (const file of [`${base}.json`, `${base}.csv`]) checkOverwrite(file, f.force);
    }
    // The files it reads (cards, model) by path and hash, with the version: the result names its inputs.
    // A rerun's inputs are the saved result (it holds the circuit) and what that names.
    const { result: setup, inputs } = await collectInputs(async () => {
      if (typeof opts.from === 'string') noteInput(opts.from, fs.readFileSync(opts.from));
      return prepareSimulation(f);
    });
    setup.header.provenance = inputs;
    const result = await runSimulation(setup, f);
    if (f.out) writeResultFiles(f.out, setup.header, result);
    if (f.json) printJson({ ...setup.header, ...result });
    else process.stdout.write(formatResult(setup.header, result));
  });
}

/**
 * The settings of a saved `simulate` result (its JSON, as --out or --json wrote it), as flags; the
 * circuit is the effective card the result ran (overrides included). Its input files must be unchanged.
 */
function fromResult(file: string): Record<string, unknown> {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(stripBom(fs.readFileSync(file, 'utf8'))) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`flag --from: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const settings = r.settings as Record<string, unknown> | undefined;
  if (!settings || typeof r.model !== 'string')
    throw new InputError(
      `flag --from: ${file} is not a simulate result with settings (written before 2026-12-06?)`,
    );
  const changed = changedInputs((r.provenance ?? {}) as Record<string, string>);
  if (changed.length)
    throw new InputError(
      `flag --from: the inputs of ${file} changed since it was made (${changed.join(', ')})`,
    );
  const opt = <T>(v: T | null | undefined) => (v === null ? undefined : v);
  return {
    model: r.model,
    device: settings.deviceCard,
    circuit: parseCircuitCard(settings.circuitCard, `${file}: settings.circuitCard`),
    dataset: r.dataset,
    limit: opt(settings.limit),
    testLimit: opt(settings.testLimit),
    trials: r.trials,
    seed: r.seed,
    quantize: r.quantize === 'none' ? undefined : r.quantize,
    input: r.input === 'none' ? undefined : r.input,
    quantizeLayers: settings.quantizeLayers,
    inputLayers: settings.inputLayers,
    calibration: settings.calibrationImages,
  };
}

/**
 * --out must be creatable: its nearest existing ancestor is a writable directory. Checked without
 * creating anything, so a run that fails later leaves no trace.
 */
function checkOutputPath(out: string): void {
  let dir = path.dirname(path.resolve(out));
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  let writable = fs.statSync(dir).isDirectory();
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    writable = false;
  }
  if (!writable) throw new InputError(`flag --out: cannot write ${out} (${dir} is not a writable directory)`);
}

function writeResultFiles(
  out: string,
  header: { provenance?: OutputProvenance },
  result: SimulationResult,
): void {
  const base = out.replace(/\.json$/i, '');
  // Both files or neither.
  writeFilesAtomic([
    [`${base}.json`, JSON.stringify({ ...header, ...result }, null, 2)],
    [
      `${base}.csv`,
      csvWithProvenance(
        toCsv(
          result.perTrial.map((r) => ({
            trial: r.trial,
            accuracy: r.accuracy,
            ...Object.fromEntries(result.layers.map((l, k) => [`clip_${l.name}`, r.clipRate[k]])),
          })),
        ),
        header.provenance ?? {},
      ),
    ],
  ]);
  process.stderr.write(`wrote ${base}.json and ${path.basename(base)}.csv\n`);
}

function formatResult(header: Record<string, unknown>, r: SimulationResult): string {
  const lines: string[] = [];
  lines.push(
    `model ${header.model} (${header.dataset}, ${r.testImages} test images) on device ${header.device}, circuit ${header.circuit}; ${r.trials} trials, seed ${r.seed}`,
  );
  const rows = [
    ['layer', 'rows x cols', 'row tiles', 'mapping', 'RMS weight error', 'DAC', 'ADC', 'ADC clipping'],
  ];
  const drop = r.layers.some((l) => l.irDropError !== undefined);
  if (drop) rows[0].push('IR drop');
  for (const l of r.layers)
    rows.push([
      l.name,
      `${l.rows} x ${l.cols}`,
      String(l.rowTiles),
      l.mapping,
      l.rmsWeightError.toExponential(2),
      l.dac,
      l.adcBits === 'ideal' ? 'ideal' : `${l.adcBits} bits`,
      pct(l.meanClipRate),
      ...(drop ? [l.irDropError === undefined ? '-' : pct(l.irDropError)] : []),
    ]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    );
  if (drop)
    lines.push(
      'IR drop: mean relative column-current error of the nominal chip against ideal wires (calibration images)',
    );
  const [lo, hi] = r.nominalWilson95;
  lines.push(
    `accuracy: float ${pct(r.floatAccuracy)}, quantised digital ${pct(r.quantizedAccuracy)}, nominal chip ${pct(r.nominalAccuracy)} (Wilson 95 % over its ${r.testImages} images: [${pct(lo)}, ${pct(hi)}])`,
  );
  const a = r.analog;
  lines.push(
    a.n === 1
      ? `analog, 1 chip: ${pct(a.mean)} (n = 1: no spread or interval over chips)`
      : `analog over ${a.n} chips: mean ${pct(a.mean)}, std ${pct(a.std)}, min ${pct(a.min)}, max ${pct(a.max)}, 95 % CI [${pct(a.ci95[0])}, ${pct(a.ci95[1])}] (Student t over chips)`,
  );
  lines.push(`wall time ${r.seconds.toFixed(1)} s (${header.workers} workers)`);
  return lines.join('\n') + '\n';
}
