/** Pieces shared by several commands: dataset flags, backend flag, output helpers. */
import type { Command } from 'commander';
import { enumFlag, intFlag } from './flags';
import { loadDataset, type Dataset } from '../data';
import { parseQuantity } from '../device/quantity';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { packageRoot } from '../util/inputLog';

export const datasetFlagSchema = {
  dataset: { type: 'string', minLength: 1 },
  limit: intFlag(1, 60000),
  testLimit: intFlag(1, 10000),
};

export const backendFlagSchema = { backend: enumFlag('auto', 'node', 'wasm', 'cpu') };

export function addDatasetOptions(cmd: Command, required = true): Command {
  const opt = '--dataset <name>';
  const text = 'mnist | fashion-mnist | idx:DIR';
  (required ? cmd.requiredOption(opt, text) : cmd.option(opt, text))
    .option('--limit <n>', 'use the first N training images')
    .option('--test-limit <n>', 'use the first N test images');
  return cmd;
}

export function addBackendOption(cmd: Command): Command {
  return cmd.option('--backend <name>', 'tensor backend: auto | node | wasm | cpu', 'auto');
}

export function openDataset(flags: { dataset: string; limit?: number; testLimit?: number }): Dataset {
  return loadDataset(flags.dataset, { limit: flags.limit, testLimit: flags.testLimit });
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function pct(x: number): string {
  return Number.isFinite(x) ? (100 * x).toFixed(2) + ' %' : 'n/a';
}

export { packageVersion } from '../util/inputLog';

/**
 * A resistance flag (--wire-resistance "1 Ohm"): checked here so that the error names the flag; the
 * string is passed on as given (cards take unit strings).
 */
export function resistanceFlag(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  let si: number;
  try {
    si = parseQuantity(String(value), ['resistance'], `flag ${flag}`, 'value').si;
  } catch (err) {
    throw new InputError((err as Error).message.replace(/: field value /, ': '));
  }
  if (si < 0) throw new InputError(`flag ${flag}: must be >= 0 (got ${JSON.stringify(value)})`);
  return String(value);
}

/** The folders of what xbarsim ships: the reference model and the cards. */
const SHIPPED_FOLDERS = ['models', 'devices', 'circuits'];

/**
 * An output target may replace an existing file or directory, or anything inside the shipped
 * models/, devices/ or circuits/, only with --force: nothing is overwritten silently.
 */
export function checkOverwrite(target: string, force: boolean | undefined, flag = '--out'): void {
  if (force) return;
  const abs = path.resolve(target);
  const rel = path.relative(packageRoot(), abs);
  const shipped = SHIPPED_FOLDERS.find((f) => rel === f || rel.startsWith(f + path.sep));
  if (shipped)
    throw new InputError(
      `flag ${flag}: ${target} is inside the shipped ${shipped}/ folder; add --force to write there`,
    );
  if (fs.existsSync(abs))
    throw new InputError(`flag ${flag}: ${target} exists; add --force to replace it, or choose another path`);
}

/**
 * The dataset a model runs on: the one its description was trained on, unless --dataset names another
 * (then `warning` says so: its numbers are not the model's test accuracy; print it once the dataset
 * has opened). Without either, an error.
 */
export function datasetFor(
  desc: { meta: Record<string, unknown> },
  flag: string | undefined,
  model: string,
): { name: string; warning?: string } {
  const trained = typeof desc.meta.dataset === 'string' ? desc.meta.dataset : undefined;
  if (flag === undefined) {
    if (trained === undefined)
      throw new InputError(
        `--model ${model}: its description names no dataset; give --dataset mnist | fashion-mnist | idx:DIR`,
      );
    return { name: trained };
  }
  if (trained !== undefined && flag !== trained)
    return {
      name: flag,
      warning: `xbarsim: warning: --model ${model} was trained on ${trained}, running it on ${flag} as --dataset asks\n`,
    };
  return { name: flag };
}
