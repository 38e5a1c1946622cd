/**
 * Circuit cards: tile geometry, weight mapping, DAC and ADC of the crossbar chip. `parseCircuitCard`
 * validates the JSON card and returns a normalised `CircuitCard` (defaults filled, unions tagged).
 * See docs/cards.md.
 */
import { InputError, showValue } from '../util/errors';
import { CARD_NAME_SCHEMA, SOURCE_SCHEMA, type CardSource } from '../device/card';
import { cardError, compileSchema, validateCard } from '../device/validate';
import { parseQuantity } from '../device/quantity';
import type { DriveSide, Parasitics, SenseSide } from './parasitics';
import type { SliceSpec } from './slicing';

export type MappingKind = 'differential' | 'offset';
const MAPPING_KINDS: readonly MappingKind[] = ['differential', 'offset'];

export type DacSpec = { kind: 'bits'; bits: number } | { kind: 'binary' } | { kind: 'ideal' };
/** Full-scale: iFull = rowsUsed G_max vRead. Calibrated: iFull = this percentile of observed column currents. */
export type AdcRange = { kind: 'full-scale' } | { kind: 'calibrated'; percentile: number };
export type AdcSpec = { kind: 'bits'; bits: number; range: AdcRange } | { kind: 'ideal'; range: AdcRange };
export type AnalogLayers = 'dense' | 'all';

export interface CircuitCard {
  name: string;
  description: string;
  source?: CardSource;
  tile: { rows: number; cols: number };
  mapping: MappingKind;
  dac: DacSpec;
  adc: AdcSpec;
  /** 'dense': conv layers run digitally; 'all': conv layers are unrolled (im2col) onto tiles too. */
  analogLayers: AnalogLayers;
  /**
   * Columns sharing one ADC through a multiplexer (1: an ADC per column). Area and latency follow
   * (cost/); the conversions, and so the accuracy, are the same.
   */
  columnsPerAdc: number;
  /**
   * Spread of each ADC of a chip, drawn per ADC per chip: offset in LSB (sigma of a normal), gain as a
   * relative sigma (gain = 1 + sigma N(0, 1)). 0: ideal converters, as without the fields.
   */
  adcOffsetSigmaLsb: number;
  adcGainSigma: number;
  /**
   * Bit slicing (differential mapping only): each weight is an integer of slices x bitsPerCell bits
   * (sign by G+ or G-), its digits of bitsPerCell bits on `slices` cell pairs, least significant first,
   * recombined digitally by shift-and-add (crossbar/slicing.ts). Absent: the least-squares level mapping.
   */
  slicing?: SliceSpec;
  /** Wire, access, driver and sense resistances (ohms); absent: ideal wires (crossbar/parasitics.ts). */
  parasitics?: Parasitics;
}

const DEFAULT_TILE = { rows: 128, cols: 128 } as const;
const MIN_BITS = 1;
const MAX_BITS = 16;

/** A slice's digits index device levels (at most 256: 8 bits); 4 slices of 8 bits cover float32 weights. */
const MAX_SLICES = 8;
const MAX_BITS_PER_CELL = 8;
/** Weight integers stay exact in float64 arithmetic (2^53) with room: beyond, the top weights round away. */
const MAX_SLICED_BITS = 32;

const bits = { type: 'integer', minimum: MIN_BITS, maximum: MAX_BITS };
const resistance = {
  xHint: 'a resistance >= 0: a unit string like "1 Ohm" or "2 kOhm", or a number in ohms',
  type: ['string', 'number'],
};
const RESISTANCE_FIELDS = [
  'wireResistance',
  'rowWireResistance',
  'colWireResistance',
  'accessResistance',
  'driverResistance',
  'senseResistance',
] as const;
type ResistanceField = (typeof RESISTANCE_FIELDS)[number];
const DRIVE_SIDES: readonly DriveSide[] = ['left', 'both'];
const SENSE_SIDES: readonly SenseSide[] = ['bottom', 'both'];

const circuitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'mapping', 'dac', 'adc', 'analogLayers'],
  properties: {
    name: CARD_NAME_SCHEMA,
    description: { type: 'string' },
    source: SOURCE_SCHEMA,
    tile: {
      type: 'object',
      additionalProperties: false,
      required: ['rows', 'cols'],
      properties: {
        rows: { type: 'integer', minimum: 1, maximum: 65536 },
        // Two physical columns are the least that holds one weight column (G+/G- or weight + reference).
        cols: { type: 'integer', minimum: 2, maximum: 65536 },
      },
    },
    mapping: { enum: MAPPING_KINDS },
    dac: {
      xHint: `{ "bits": ${MIN_BITS}..${MAX_BITS} }, "binary" or "ideal"`,
      anyOf: [
        { type: 'object', additionalProperties: false, required: ['bits'], properties: { bits } },
        { enum: ['binary', 'ideal'] },
      ],
    },
    adc: {
      type: 'object',
      additionalProperties: false,
      required: ['bits'],
      properties: {
        bits: { xHint: `${MIN_BITS}..${MAX_BITS} or "ideal"`, anyOf: [bits, { const: 'ideal' }] },
        range: {
          xHint: '"full-scale" or { "calibrated": percentile 50..100 }',
          anyOf: [
            { const: 'full-scale' },
            {
              type: 'object',
              additionalProperties: false,
              required: ['calibrated'],
              properties: { calibrated: { type: 'number', minimum: 50, maximum: 100 } },
            },
          ],
        },
      },
    },
    analogLayers: { enum: ['dense', 'all'] },
    columnsPerAdc: { type: 'integer', minimum: 1, maximum: 65536 },
    adcOffsetSigma: { type: 'number', minimum: 0, maximum: 1000 },
    adcGainSigma: { type: 'number', minimum: 0, maximum: 1 },
    weightSlices: { type: 'integer', minimum: 1, maximum: MAX_SLICES },
    bitsPerCell: { type: 'integer', minimum: 1, maximum: MAX_BITS_PER_CELL },
    parasitics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...Object.fromEntries(RESISTANCE_FIELDS.map((f) => [f, resistance])),
        drive: { enum: DRIVE_SIDES },
        sense: { enum: SENSE_SIDES },
      },
    },
  },
};

export type ParasiticsJson = Partial<Record<ResistanceField, string | number>> & {
  drive?: DriveSide;
  sense?: SenseSide;
};

/** The card as written in JSON (what `circuitCardToJson` produces). */
export interface CircuitCardJson {
  name: string;
  description: string;
  source?: CardSource;
  tile?: { rows: number; cols: number };
  mapping: MappingKind;
  dac: { bits: number } | 'binary' | 'ideal';
  adc: { bits: number | 'ideal'; range?: 'full-scale' | { calibrated: number } };
  analogLayers: AnalogLayers;
  columnsPerAdc?: number;
  adcOffsetSigma?: number;
  adcGainSigma?: number;
  weightSlices?: number;
  bitsPerCell?: number;
  parasitics?: ParasiticsJson;
}

let validator: ReturnType<typeof compileSchema<CircuitCardJson>> | null = null;

export function parseCircuitCard(json: unknown, source: string): CircuitCard {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new InputError(`${source}: a circuit card must be a JSON object`);
  validator ??= compileSchema<CircuitCardJson>(circuitSchema);
  const raw = validateCard(validator, json, source);
  const range: AdcRange =
    raw.adc.range === undefined || raw.adc.range === 'full-scale'
      ? { kind: 'full-scale' }
      : { kind: 'calibrated', percentile: raw.adc.range.calibrated };
  const card: CircuitCard = {
    name: raw.name,
    description: raw.description,
    tile: raw.tile ? { rows: raw.tile.rows, cols: raw.tile.cols } : { ...DEFAULT_TILE },
    mapping: raw.mapping,
    dac: typeof raw.dac === 'string' ? { kind: raw.dac } : { kind: 'bits', bits: raw.dac.bits },
    adc: raw.adc.bits === 'ideal' ? { kind: 'ideal', range } : { kind: 'bits', bits: raw.adc.bits, range },
    analogLayers: raw.analogLayers,
    columnsPerAdc: raw.columnsPerAdc ?? 1,
    adcOffsetSigmaLsb: raw.adcOffsetSigma ?? 0,
    adcGainSigma: raw.adcGainSigma ?? 0,
  };
  if (raw.source) card.source = { ...raw.source };
  if (raw.weightSlices !== undefined || raw.bitsPerCell !== undefined) {
    if (raw.bitsPerCell === undefined)
      throw cardError(source, 'bitsPerCell', 'is required with weightSlices (1..8 bits per cell)');
    if (raw.mapping !== 'differential')
      throw cardError(
        source,
        'weightSlices',
        `(bit slicing) needs mapping "differential" (got ${showValue(raw.mapping)})`,
      );
    const slices = raw.weightSlices ?? 1;
    if (slices * raw.bitsPerCell > MAX_SLICED_BITS)
      throw cardError(
        source,
        'weightSlices',
        `x bitsPerCell is ${slices} x ${raw.bitsPerCell} = ${slices * raw.bitsPerCell} bits per weight; at most ${MAX_SLICED_BITS}`,
      );
    card.slicing = { slices, bitsPerCell: raw.bitsPerCell };
  }
  if (raw.parasitics) card.parasitics = parseParasitics(raw.parasitics, source);
  return card;
}

/** The parasitics block in ohms. `wireResistance` sets both wires; it cannot be given with either. */
function parseParasitics(raw: ParasiticsJson, source: string): Parasitics {
  const ohms = (field: ResistanceField): number | undefined => {
    const value = raw[field];
    if (value === undefined) return undefined;
    const path = `parasitics.${field}`;
    const { si } = parseQuantity(value, ['resistance'], source, path);
    if (si < 0) throw cardError(source, path, `must be >= 0 (got ${showValue(value)})`);
    return si;
  };
  const wire = ohms('wireResistance');
  for (const f of ['rowWireResistance', 'colWireResistance'] as const)
    if (wire !== undefined && raw[f] !== undefined)
      throw cardError(
        source,
        `parasitics.${f}`,
        'cannot be given with parasitics.wireResistance (which sets both wires)',
      );
  return {
    rowWireOhms: ohms('rowWireResistance') ?? wire ?? 0,
    colWireOhms: ohms('colWireResistance') ?? wire ?? 0,
    accessOhms: ohms('accessResistance') ?? 0,
    driverOhms: ohms('driverResistance') ?? 0,
    senseOhms: ohms('senseResistance') ?? 0,
    drive: raw.drive ?? 'left',
    sense: raw.sense ?? 'bottom',
  };
}

/** Back to the JSON card form (for reports and for writing a swept variant to disk). */
export function circuitCardToJson(card: CircuitCard): CircuitCardJson {
  const json: CircuitCardJson = {
    name: card.name,
    description: card.description,
    tile: { ...card.tile },
    mapping: card.mapping,
    dac: card.dac.kind === 'bits' ? { bits: card.dac.bits } : card.dac.kind,
    adc: {
      bits: card.adc.kind === 'bits' ? card.adc.bits : 'ideal',
      range: card.adc.range.kind === 'full-scale' ? 'full-scale' : { calibrated: card.adc.range.percentile },
    },
    analogLayers: card.analogLayers,
  };
  // Left out at its default, so that the effective cards of results made before it existed compare equal.
  if (card.columnsPerAdc !== 1) json.columnsPerAdc = card.columnsPerAdc;
  if (card.adcOffsetSigmaLsb) json.adcOffsetSigma = card.adcOffsetSigmaLsb;
  if (card.adcGainSigma) json.adcGainSigma = card.adcGainSigma;
  if (card.slicing) {
    json.weightSlices = card.slicing.slices;
    json.bitsPerCell = card.slicing.bitsPerCell;
  }
  if (card.source) json.source = { ...card.source };
  const p = card.parasitics;
  if (p)
    json.parasitics = {
      rowWireResistance: p.rowWireOhms,
      colWireResistance: p.colWireOhms,
      accessResistance: p.accessOhms,
      driverResistance: p.driverOhms,
      senseResistance: p.senseOhms,
      drive: p.drive,
      sense: p.sense,
    };
  return json;
}

export interface CircuitOverrides {
  adcBits?: number | 'ideal';
  dacBits?: number | 'binary' | 'ideal';
  rows?: number;
  cols?: number;
  mapping?: MappingKind;
  adcRange?: AdcRange | 'full-scale' | { calibrated: number };
  analogLayers?: AnalogLayers;
  /** Both wires' resistance per cell segment: ohms, or a unit string. */
  wireResistance?: number | string;
  accessResistance?: number | string;
  columnsPerAdc?: number;
  /**
   * Bit slicing: the fields given replace the card's own (weightSlices, bitsPerCell), then the card's
   * rules apply; null removes it (the least-squares level mapping).
   */
  slicing?: Partial<SliceSpec> | null;
}

/**
 * A copy of `card` with some settings replaced (for sweeps). The result is validated by the same schema,
 * so a bad override throws InputError naming the field.
 */
export function withOverrides(card: CircuitCard, overrides: CircuitOverrides): CircuitCard {
  const json = circuitCardToJson(card);
  if (overrides.adcBits !== undefined) json.adc.bits = overrides.adcBits;
  if (overrides.dacBits !== undefined)
    json.dac = typeof overrides.dacBits === 'number' ? { bits: overrides.dacBits } : overrides.dacBits;
  if (overrides.rows !== undefined) json.tile = { ...json.tile!, rows: overrides.rows };
  if (overrides.cols !== undefined) json.tile = { ...json.tile!, cols: overrides.cols };
  if (overrides.mapping !== undefined) json.mapping = overrides.mapping;
  if (overrides.analogLayers !== undefined) json.analogLayers = overrides.analogLayers;
  if (overrides.columnsPerAdc !== undefined) json.columnsPerAdc = overrides.columnsPerAdc;
  if (overrides.slicing === null) {
    delete json.weightSlices;
    delete json.bitsPerCell;
  } else if (overrides.slicing !== undefined) {
    const { slices, bitsPerCell } = overrides.slicing;
    if (slices !== undefined) json.weightSlices = slices;
    if (bitsPerCell !== undefined) json.bitsPerCell = bitsPerCell;
  }
  if (overrides.wireResistance !== undefined || overrides.accessResistance !== undefined) {
    const p: ParasiticsJson = { ...json.parasitics };
    if (overrides.wireResistance !== undefined) {
      delete p.wireResistance;
      p.rowWireResistance = overrides.wireResistance;
      p.colWireResistance = overrides.wireResistance;
    }
    if (overrides.accessResistance !== undefined) p.accessResistance = overrides.accessResistance;
    json.parasitics = p;
  }
  const range = overrides.adcRange;
  if (range !== undefined)
    json.adc.range =
      typeof range === 'string'
        ? range
        : 'kind' in range
          ? range.kind === 'full-scale'
            ? 'full-scale'
            : { calibrated: range.percentile }
          : range;
  return parseCircuitCard(json, `${card.name} with overrides ${JSON.stringify(overrides)}`);
}
