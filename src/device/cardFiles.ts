/**
 * Node-only helpers shared by the card loaders: find the project root and resolve a card given by bare
 * name (looked up among the shipped cards) or by path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noteInput } from '../util/inputLog';
import { projectRoot, stripBom } from '../util/files';
import { InputError } from '../util/errors';

export { projectRoot };

/** Names of the shipped cards in `<root>/<folder>`, sorted. */
export function shippedCardNames(folder: string): string[] {
  const dir = path.join(projectRoot(), folder);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** A bare name has no directory part and no .json suffix. */
function isBareName(nameOrPath: string): boolean {
  return !/[\\/]/.test(nameOrPath) && !nameOrPath.endsWith('.json');
}

/**
 * Read and JSON-parse a card. Returns the parsed JSON and a label for messages
 * (`devices/<name>.json` for shipped cards, the path as given otherwise).
 */
export function readCardJson(
  nameOrPath: string,
  folder: string,
  what: string,
): { json: unknown; label: string } {
  const bare = isBareName(nameOrPath);
  const file = bare ? path.join(projectRoot(), folder, `${nameOrPath}.json`) : path.resolve(nameOrPath);
  const label = bare ? `${folder}/${nameOrPath}.json` : nameOrPath;
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    const shipped = shippedCardNames(folder);
    throw new InputError(
      `${what} "${nameOrPath}" not found (looked for ${file}); shipped ${what}s: ${shipped.join(', ') || '(none)'}`,
    );
  }
  const raw = fs.readFileSync(file, 'utf8');
  noteInput(file, raw);
  const text = stripBom(raw);
  try {
    return { json: JSON.parse(text), label };
  } catch (err) {
    throw new InputError(`${label}: not valid JSON (${(err as Error).message})`);
  }
}
