/** Pieces shared by several commands: dataset flags, backend flag, output helpers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { enumFlag, intFlag } from './flags';
import { loadDataset, type Dataset } from '../data';
import { parseQuantity } from '../device/quantity';
import { InputError, showValue } from '../util/errors';
import { projectRoot } from '../util/files';

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
  if (si < 0) throw new InputError(`flag ${flag}: must be >= 0 (got ${showValue(value)})`);
  return String(value);
}

/** The folders of what xbarsim ships: the reference model and the cards. */
const SHIPPED_FOLDERS = ['models', 'devices', 'circuits'];

/**
 * An output target may replace something (by default: whatever exists at `target`), or write inside
 * the shipped models/, devices/ or circuits/, only with --force: nothing is overwritten silently.
 */
export function checkOverwrite(
  target: string,
  force: boolean | undefined,
  occupied = fs.existsSync(target),
  flag = '--out',
): void {
  if (force) return;
  const abs = path.resolve(target);
  const rel = path.relative(projectRoot(), abs);
  const shipped = SHIPPED_FOLDERS.find((f) => rel === f || rel.startsWith(f + path.sep));
  if (shipped)
    throw new InputError(
      `flag ${flag}: ${target} is inside the shipped ${shipped}/ folder; add --force to write there`,
    );
  if (occupied)
    throw new InputError(`flag ${flag}: ${target} exists; add --force to replace it, or choose another path`);
}
