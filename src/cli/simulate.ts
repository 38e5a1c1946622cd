/** `xbarsim simulate`: Monte-Carlo accuracy of a trained network on a simulated crossbar chip. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { checkOverwrite, pct, printJson, resistanceFlag } from './common';
import { validateFlags } from './flags';
import { prepareSimulation, runSimulation } from '../sim/node';
import type { SimulationResult } from '../sim/simulate';
import { toCsv } from '../report/tables';
import { type OutputProvenance, csvWithProvenance } from '../report/provenance';
import { stripBom, writeFilesAtomic } from '../util/files';
import { InputError } from '../util/errors';
import { changedInputs, collectInputs, noteInput } from '../util/inputLog';
import { parseCircuitCard } from '../crossbar/circuit';
import { type CostFlags, costOf } from '../cost/node';
import type { InferenceCost } from '../cost/inference';
import { costFlagSchema, formatCost } from './cost';
import { addSimulationOptions, type SimulateFlags, simulateFlagSchema } from './simulationOptions';

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
    const f = validateFlags<SimulateFlags & CostFlags>(
      { ...simulateFlagSchema, properties: { ...simulateFlagSchema.properties, ...costFlagSchema } },
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
    // With --technology, the cost of one inference goes with the result (its card is an input too).
    const { result: setup, inputs } = await collectInputs(async () => {
      if (typeof opts.from === 'string') noteInput(opts.from, fs.readFileSync(opts.from));
      const prepared = await prepareSimulation(f);
      if (f.technology) prepared.header.cost = costOf(prepared, f);
      return prepared;
    });
    setup.header.provenance = inputs;
    const result = await runSimulation(setup, f);
    if (f.out) writeResultFiles(f.out, setup.header, result);
    if (f.json) printJson({ ...setup.header, ...result });
    else {
      process.stdout.write(formatResult(setup.header, result));
      if (setup.header.cost) process.stdout.write('\n' + formatCost(setup.header.cost as InferenceCost));
    }
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
