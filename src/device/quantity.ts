/**
 * Physical quantities in cards: a mathjs unit string ("225 uS", "5 kOhm", "0.2 V", "2 uA") or a plain
 * JSON number already in SI units. Everything is converted to SI here, once, at card-parse time.
 */
import type { Unit } from 'mathjs';
import { cardError } from './validate';

/**
 * mathjs is loaded on the first unit string, not at import: a normalised card (SI numbers only, as plans
 * carry it to trial workers) never needs it, and loading it costs each worker thread about a second.
 */
let mathjsUnit: ((text: string) => Unit) | null = null;
function unit(text: string): Unit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  mathjsUnit ??= (require('mathjs') as typeof import('mathjs')).unit;
  return mathjsUnit(text);
}

export type Dimension =
  'conductance' | 'resistance' | 'voltage' | 'current' | 'energy' | 'power' | 'time' | 'length';

const REFERENCE_UNIT: Record<Dimension, string> = {
  conductance: 'S',
  resistance: 'ohm',
  voltage: 'V',
  current: 'A',
  energy: 'J',
  power: 'W',
  time: 's',
  length: 'm',
};

const references = new Map<Dimension, Unit>();
function reference(dim: Dimension): Unit {
  let u = references.get(dim);
  if (!u) references.set(dim, (u = unit(REFERENCE_UNIT[dim])));
  return u;
}

/** mathjs only knows lower-case `ohm` and no prefixed `Ω`; accept the usual spellings. */
function normalizeSpelling(text: string): string {
  return text.trim().replace(/(ohms?|Ω)$/i, 'ohm');
}

export interface ParsedQuantity {
  /** Value in SI units of `dimension`. */
  si: number;
  dimension: Dimension;
}

/**
 * Parse a quantity that may have any of `allowed` dimensions. A plain number is taken in the SI unit of
 * `allowed[0]`. Throws InputError naming `source` and `path`.
 */
export function parseQuantity(
  value: unknown,
  allowed: readonly Dimension[],
  source: string,
  path: string,
): ParsedQuantity {
  const expected = allowed.map((d) => `${d} (${REFERENCE_UNIT[d]})`).join(' or ');
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw cardError(source, path, `must be a finite number (got ${value})`);
    return { si: value, dimension: allowed[0] };
  }
  if (typeof value !== 'string')
    throw cardError(source, path, `must be a ${expected} as a unit string like "225 uS" or an SI number`);
  const text = normalizeSpelling(value);
  if (text !== '' && Number.isFinite(Number(text)))
    throw cardError(
      source,
      path,
      `"${value}" has no unit: write e.g. "${value} ${REFERENCE_UNIT[allowed[0]]}" or a plain JSON number in SI units`,
    );
  let parsed: Unit;
  try {
    parsed = unit(text);
  } catch (err) {
    throw cardError(
      source,
      path,
      `"${value}" is not a valid unit string (${(err as Error).message}); expected a ${expected}`,
    );
  }
  if (parsed.value === null)
    throw cardError(source, path, `"${value}" has no number; expected a ${expected}`);
  for (const dim of allowed) {
    if (parsed.equalBase(reference(dim))) {
      const si = parsed.toNumber(REFERENCE_UNIT[dim]);
      if (!Number.isFinite(si)) throw cardError(source, path, `"${value}" is not finite`);
      return { si, dimension: dim };
    }
  }
  throw cardError(source, path, `"${value}" has the wrong dimension; expected a ${expected}`);
}

/**
 * A conductance given either directly or as a read current (G = I / vRead).
 */
export function parseConductance(value: unknown, vReadVolts: number, source: string, path: string): number {
  const q = parseQuantity(value, ['conductance', 'current'], source, path);
  return q.dimension === 'current' ? q.si / vReadVolts : q.si;
}
