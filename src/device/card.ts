/**
 * Device cards: the JSON description of a resistive memory cell's programmable conductance levels.
 * `parseDeviceCard` validates a card (ajv schema + physical rules) and returns it normalised: every
 * quantity as a plain SI number, read currents already converted to conductances (G = I / vRead). A
 * normalised card is itself a valid card, so it can be written back or parsed again. See docs/cards.md.
 */
import { InputError } from '../util/errors';
import { formatSi } from './format';
import { parseConductance, parseQuantity } from './quantity';
import { cardError, childPath, compileSchema, validateCard } from './validate';

export type SourceStatus = 'measured' | 'fitted' | 'interpolated' | 'estimated';
const SOURCE_STATUSES: readonly SourceStatus[] = ['measured', 'fitted', 'interpolated', 'estimated'];

/** Where the numbers come from. */
export interface CardSource {
  citation: string;
  status: SourceStatus;
  notes?: string;
  url?: string;
}

/** Conductances in siemens. */
export interface GaussianLevelSpec {
  mean: number;
  sigma: number;
}
/** G = mean * exp(sigmaLn z - sigmaLn^2 / 2), so E[G] = mean. */
export interface LognormalLevelSpec {
  mean: number;
  sigmaLn: number;
}
/** Measured conductances; draws interpolate their inverse CDF. */
export interface EmpiricalLevelSpec {
  samples: number[];
}
export type LevelSpec = GaussianLevelSpec | LognormalLevelSpec | EmpiricalLevelSpec;

interface HrsSpec {
  mean: number;
  sigmaLn: number;
}
interface FaultSpec {
  stuckAtOn?: number;
  stuckAtOff?: number;
}
interface ReadNoiseSpec {
  relativeSigma: number;
}

interface CardBase {
  name: string;
  description?: string;
  source: CardSource;
  /** Read voltage, volts. */
  vRead: number;
  hrs?: HrsSpec;
  faults?: FaultSpec;
  readNoise?: ReadNoiseSpec;
}

export interface MultilevelCard extends CardBase {
  kind: 'multilevel';
  /** Physical conductance floor in siemens; Gaussian draws below it are redrawn. Absent: 0. */
  floor?: number;
  levels: LevelSpec[];
}

export type VariationDistribution = 'gaussian' | 'lognormal';
const VARIATION_DISTRIBUTIONS: readonly VariationDistribution[] = ['gaussian', 'lognormal'];

export interface BinaryCard extends CardBase {
  kind: 'binary';
  /** Resistances in ohms. */
  rOn: number;
  rOff: number;
  /** Smallest resistance a Gaussian draw may take (redrawn below). Absent: 1 % of rOn. */
  rFloor?: number;
  /** Sigmas are fractions of the mean resistance. */
  variation: { distribution: VariationDistribution; onSigma: number; offSigma: number };
}

export type DeviceCard = MultilevelCard | BinaryCard;
const DEVICE_KINDS = ['multilevel', 'binary'] as const;

// ---------------------------------------------------------------------------------------------------
// Schemas. Quantities are strings (unit strings, checked after the schema) or SI numbers.

const nonNegativeQuantity = { type: ['string', 'number'], minimum: 0 };
const positiveQuantity = { type: ['string', 'number'], exclusiveMinimum: 0 };
const rate = { type: 'number', minimum: 0, maximum: 1 };

/** A card's name (device and circuit cards alike). */
export const CARD_NAME_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' };

/** A card's `source` block (device and circuit cards alike). */
export const SOURCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['citation', 'status'],
  properties: {
    citation: { type: 'string', minLength: 1 },
    status: { enum: SOURCE_STATUSES },
    notes: { type: 'string' },
    url: { type: 'string' },
  },
};

// if/then/else instead of anyOf so that a level missing a field is reported as that missing field.
const levelSchema = {
  type: 'object',
  if: { required: ['samples'] },
  then: {
    additionalProperties: false,
    required: ['samples'],
    properties: { samples: { type: 'array', minItems: 2, items: nonNegativeQuantity } },
  },
  else: {
    if: { required: ['sigmaLn'] },
    then: {
      additionalProperties: false,
      required: ['mean', 'sigmaLn'],
      properties: { mean: positiveQuantity, sigmaLn: { type: 'number', minimum: 0 } },
    },
    else: {
      additionalProperties: false,
      required: ['mean', 'sigma'],
      properties: { mean: positiveQuantity, sigma: nonNegativeQuantity },
    },
  },
};

const common = {
  name: CARD_NAME_SCHEMA,
  description: { type: 'string' },
  source: SOURCE_SCHEMA,
  vRead: positiveQuantity,
  hrs: {
    type: 'object',
    additionalProperties: false,
    required: ['mean', 'sigmaLn'],
    properties: { mean: positiveQuantity, sigmaLn: { type: 'number', minimum: 0 } },
  },
  faults: {
    type: 'object',
    additionalProperties: false,
    properties: { stuckAtOn: rate, stuckAtOff: rate },
  },
  readNoise: {
    type: 'object',
    additionalProperties: false,
    required: ['relativeSigma'],
    properties: { relativeSigma: { type: 'number', minimum: 0 } },
  },
};

const kindSchema = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: DEVICE_KINDS } },
};

const multilevelSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'source', 'vRead', 'levels'],
  properties: {
    ...common,
    kind: { const: 'multilevel' },
    floor: nonNegativeQuantity,
    // Level indices are stored as bytes by the mapping.
    levels: { type: 'array', minItems: 2, maxItems: 256, items: levelSchema },
  },
};

const binarySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'source', 'vRead', 'rOn', 'rOff', 'variation'],
  properties: {
    ...common,
    kind: { const: 'binary' },
    rOn: positiveQuantity,
    rOff: positiveQuantity,
    rFloor: positiveQuantity,
    variation: {
      type: 'object',
      additionalProperties: false,
      required: ['distribution', 'onSigma', 'offSigma'],
      properties: {
        distribution: { enum: VARIATION_DISTRIBUTIONS },
        onSigma: { type: 'number', minimum: 0, maximum: 1 },
        offSigma: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
  },
};

type RawCard = Record<string, unknown> & { kind: DeviceCard['kind'] };
let validators: ReturnType<typeof makeValidators> | null = null;
function makeValidators() {
  return {
    kind: compileSchema<RawCard>(kindSchema),
    multilevel: compileSchema<Record<string, unknown>>(multilevelSchema),
    binary: compileSchema<Record<string, unknown>>(binarySchema),
  };
}

// ---------------------------------------------------------------------------------------------------

/**
 * Validate a device card and return it normalised to SI numbers. `source` names the card (a file name) in
 * error messages.
 */
export function parseDeviceCard(json: unknown, source: string): DeviceCard {
  validators ??= makeValidators();
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new InputError(`${source}: a device card must be a JSON object`);
  const raw = validateCard(validators.kind, json, source);
  if (raw.kind === 'multilevel')
    return parseMultilevel(validateCard(validators.multilevel, json, source), source);
  return parseBinary(validateCard(validators.binary, json, source), source);
}

function baseFields(raw: Record<string, unknown>, source: string): CardBase {
  const vRead = parseQuantity(raw.vRead, ['voltage'], source, 'vRead').si;
  if (!(vRead > 0)) throw cardError(source, 'vRead', `must be positive (got ${formatSi(vRead, 'V')})`);
  const base: CardBase = { name: raw.name as string, source: { ...(raw.source as CardSource) }, vRead };
  if (raw.description !== undefined) base.description = raw.description as string;
  if (raw.hrs !== undefined) {
    const hrs = raw.hrs as { mean: unknown; sigmaLn: number };
    base.hrs = { mean: positiveConductance(hrs.mean, vRead, source, 'hrs.mean'), sigmaLn: hrs.sigmaLn };
  }
  if (raw.faults !== undefined) {
    const faults = { ...(raw.faults as FaultSpec) };
    if ((faults.stuckAtOn ?? 0) + (faults.stuckAtOff ?? 0) > 1)
      throw cardError(source, 'faults', 'stuckAtOn + stuckAtOff must not exceed 1');
    base.faults = faults;
  }
  if (raw.readNoise !== undefined) base.readNoise = { ...(raw.readNoise as ReadNoiseSpec) };
  return base;
}

function positiveConductance(value: unknown, vRead: number, source: string, path: string): number {
  const g = parseConductance(value, vRead, source, path);
  if (!(g > 0)) throw cardError(source, path, `must be positive (got ${formatSi(g, 'S')})`);
  return g;
}

function nonNegativeConductance(value: unknown, vRead: number, source: string, path: string): number {
  const g = parseConductance(value, vRead, source, path);
  if (!(g >= 0)) throw cardError(source, path, `must be >= 0 (got ${formatSi(g, 'S')})`);
  return g;
}

/** The card's stated centre of a level (used for the ordering rule). */
function nominalMean(level: LevelSpec): number {
  if ('samples' in level) return level.samples.reduce((a, b) => a + b, 0) / level.samples.length;
  return level.mean;
}

function parseMultilevel(raw: Record<string, unknown>, source: string): MultilevelCard {
  const base = baseFields(raw, source);
  const vRead = base.vRead;
  const floor =
    raw.floor === undefined ? undefined : nonNegativeConductance(raw.floor, vRead, source, 'floor');
  const levels = (raw.levels as Array<Record<string, unknown>>).map((lv, i): LevelSpec => {
    const at = childPath('levels', i);
    if ('samples' in lv) {
      const samples = (lv.samples as unknown[]).map((s, j) =>
        nonNegativeConductance(s, vRead, source, childPath(childPath(at, 'samples'), j)),
      );
      return { samples: samples.sort((a, b) => a - b) };
    }
    const mean = positiveConductance(lv.mean, vRead, source, childPath(at, 'mean'));
    if ('sigmaLn' in lv) return { mean, sigmaLn: lv.sigmaLn as number };
    const sigma = nonNegativeConductance(lv.sigma, vRead, source, childPath(at, 'sigma'));
    // Truncation by redrawing needs at least half the mass above the floor to stay cheap and meaningful.
    if (floor !== undefined && !(mean > floor))
      throw cardError(
        source,
        childPath(at, 'mean'),
        `must be above floor ${formatSi(floor, 'S')} (got ${formatSi(mean, 'S')})`,
      );
    return { mean, sigma };
  });
  for (let i = 1; i < levels.length; i++) {
    const lo = nominalMean(levels[i - 1]);
    const hi = nominalMean(levels[i]);
    if (!(hi > lo))
      throw cardError(
        source,
        'levels',
        `must be sorted by mean, strictly ascending (levels[${i}] mean ${formatSi(hi, 'S')} is not above levels[${i - 1}] mean ${formatSi(lo, 'S')})`,
      );
  }
  const card: MultilevelCard = { ...base, kind: 'multilevel', levels };
  if (floor !== undefined) card.floor = floor;
  return orderKeys(card);
}

function parseBinary(raw: Record<string, unknown>, source: string): BinaryCard {
  const base = baseFields(raw, source);
  const resistance = (value: unknown, path: string) => {
    const r = parseQuantity(value, ['resistance'], source, path).si;
    if (!(r > 0)) throw cardError(source, path, `must be positive (got ${formatSi(r, 'ohm')})`);
    return r;
  };
  const rOn = resistance(raw.rOn, 'rOn');
  const rOff = resistance(raw.rOff, 'rOff');
  if (!(rOn < rOff))
    throw cardError(
      source,
      'rOn',
      `must be lower than rOff (got rOn ${formatSi(rOn, 'ohm')}, rOff ${formatSi(rOff, 'ohm')})`,
    );
  const card: BinaryCard = {
    ...base,
    kind: 'binary',
    rOn,
    rOff,
    variation: { ...(raw.variation as BinaryCard['variation']) },
  };
  if (raw.rFloor !== undefined) {
    card.rFloor = resistance(raw.rFloor, 'rFloor');
    if (!(card.rFloor < rOn))
      throw cardError(
        source,
        'rFloor',
        `must be below rOn ${formatSi(rOn, 'ohm')} (got ${formatSi(card.rFloor, 'ohm')})`,
      );
  }
  return orderKeys(card);
}

/** Stable, readable key order for cards that get written back to disk. */
function orderKeys<T extends DeviceCard>(card: T): T {
  const order = [
    'name',
    'kind',
    'description',
    'source',
    'vRead',
    'floor',
    'levels',
    'rOn',
    'rOff',
    'rFloor',
    'variation',
    'hrs',
    'faults',
    'readNoise',
  ];
  const fields = card as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of order) if (fields[key] !== undefined) out[key] = fields[key];
  return out as unknown as T;
}

/**
 * A copy of a binary card with both states' resistance variation set to `sigmaFraction` of the mean
 * resistance (the R_on/R_off variation sweep).
 */
export function withBinaryVariation(
  card: BinaryCard,
  distribution: VariationDistribution,
  sigmaFraction: number,
): BinaryCard {
  if (card.kind !== 'binary')
    throw new InputError(`device ${card.name}: variation sweeps need a binary card`);
  if (!VARIATION_DISTRIBUTIONS.includes(distribution))
    throw new InputError(
      `variation distribution "${distribution}" is unknown (allowed: ${VARIATION_DISTRIBUTIONS.join(', ')})`,
    );
  if (!(sigmaFraction >= 0 && sigmaFraction <= 1))
    throw new InputError(
      `variation sigma ${sigmaFraction} must be a fraction in 0..1 of the mean resistance`,
    );
  return { ...card, variation: { distribution, onSigma: sigmaFraction, offSigma: sigmaFraction } };
}
