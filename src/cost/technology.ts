/**
 * Technology cards (`technology/*.json`): the numbers that turn a mapped network's activity into
 * energy, area and latency. Every number carries its source in the card (`sources`, by field). Parsed
 * and validated like device and circuit cards; quantities are unit strings or SI numbers. See
 * docs/cost.md for the models.
 */
import { InputError } from '../util/errors';
import { type Dimension, parseQuantity } from '../device/quantity';
import { cardError, compileSchema, validateCard } from '../device/validate';

export const ADC_ENERGY_MODELS = ['neurosim-sar', 'walden', 'murmann'] as const;
export type AdcEnergyModel = (typeof ADC_ENERGY_MODELS)[number];

export interface TechnologyCard {
  name: string;
  description: string;
  featureSizeMeters: number;
  /** Clock period: one SAR cycle; a conversion takes bits + 1 cycles. */
  clockSeconds: number;
  adc: {
    model: AdcEnergyModel;
    /** NeuroSim's SAR ADC power, linear in the bits: P = powerPerBit B + powerOffset, for B + 1 cycles. */
    neurosimSar: { powerPerBitWatts: number; powerOffsetWatts: number };
    /** Walden figure of merit: E = fom 2^B. */
    walden: { fomJoules: number };
    /** The survey's energy envelope: E = floor + thermal 4^B. */
    murmann: { floorJoules: number; thermalJoules: number };
    /** Transistors (atOneBit + perBit (B - 1)) times one transistor's layout area in F^2. */
    area: { transistorsAtOneBit: number; transistorsPerBit: number; transistorAreaF2: number };
  };
  dac: { energyPerBitJoules: number };
  array: { readSeconds: number; cellAreaF2: number };
  digital: { addJoules: number };
  sources: Record<string, string>;
}

const quantity = {
  anyOf: [{ type: 'string' }, { type: 'number' }],
  xHint: 'a unit string like "1 ns" or "0.72 uW", or a number in SI units',
};
const count = { type: 'number', exclusiveMinimum: 0 };

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'featureSize', 'clock', 'adc', 'dac', 'array', 'digital', 'sources'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    featureSize: quantity,
    clock: quantity,
    adc: {
      type: 'object',
      additionalProperties: false,
      required: ['model', 'neurosimSar', 'walden', 'murmann', 'area'],
      properties: {
        model: { enum: ADC_ENERGY_MODELS },
        neurosimSar: {
          type: 'object',
          additionalProperties: false,
          required: ['powerPerBit', 'powerOffset'],
          properties: { powerPerBit: quantity, powerOffset: quantity },
        },
        walden: {
          type: 'object',
          additionalProperties: false,
          required: ['fom'],
          properties: { fom: quantity },
        },
        murmann: {
          type: 'object',
          additionalProperties: false,
          required: ['floor', 'thermal'],
          properties: { floor: quantity, thermal: quantity },
        },
        area: {
          type: 'object',
          additionalProperties: false,
          required: ['transistorsAtOneBit', 'transistorsPerBit', 'transistorAreaF2'],
          properties: { transistorsAtOneBit: count, transistorsPerBit: count, transistorAreaF2: count },
        },
      },
    },
    dac: {
      type: 'object',
      additionalProperties: false,
      required: ['energyPerBit'],
      properties: { energyPerBit: quantity },
    },
    array: {
      type: 'object',
      additionalProperties: false,
      required: ['readTime', 'cellAreaF2'],
      properties: { readTime: quantity, cellAreaF2: count },
    },
    digital: {
      type: 'object',
      additionalProperties: false,
      required: ['addEnergy'],
      properties: { addEnergy: quantity },
    },
    sources: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
  },
};

interface TechnologyJson {
  name: string;
  description: string;
  featureSize: unknown;
  clock: unknown;
  adc: {
    model: AdcEnergyModel;
    neurosimSar: { powerPerBit: unknown; powerOffset: unknown };
    walden: { fom: unknown };
    murmann: { floor: unknown; thermal: unknown };
    area: TechnologyCard['adc']['area'];
  };
  dac: { energyPerBit: unknown };
  array: { readTime: unknown; cellAreaF2: number };
  digital: { addEnergy: unknown };
  sources: Record<string, string>;
}

/** Fields that must each name their source in `sources`. */
export const SOURCED_FIELDS = [
  'featureSize',
  'clock',
  'adc.neurosimSar',
  'adc.walden',
  'adc.murmann',
  'adc.area',
  'dac.energyPerBit',
  'array.readTime',
  'array.cellAreaF2',
  'digital.addEnergy',
] as const;

let validator: ReturnType<typeof compileSchema<TechnologyJson>> | null = null;

export function parseTechnologyCard(json: unknown, source: string): TechnologyCard {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new InputError(`${source}: a technology card must be a JSON object`);
  validator ??= compileSchema<TechnologyJson>(schema);
  const raw = validateCard(validator, json, source);
  for (const field of SOURCED_FIELDS)
    if (!raw.sources[field])
      throw cardError(source, `sources`, `must cite a source for ${field} (sources["${field}"])`);
  const positive = (value: unknown, dim: Dimension, path: string): number => {
    const { si } = parseQuantity(value, [dim], source, path);
    if (!(si > 0)) throw cardError(source, path, `must be > 0 (got ${String(value)})`);
    return si;
  };
  return {
    name: raw.name,
    description: raw.description,
    featureSizeMeters: positive(raw.featureSize, 'length', 'featureSize'),
    clockSeconds: positive(raw.clock, 'time', 'clock'),
    adc: {
      model: raw.adc.model,
      neurosimSar: {
        powerPerBitWatts: positive(raw.adc.neurosimSar.powerPerBit, 'power', 'adc.neurosimSar.powerPerBit'),
        powerOffsetWatts: positive(raw.adc.neurosimSar.powerOffset, 'power', 'adc.neurosimSar.powerOffset'),
      },
      walden: { fomJoules: positive(raw.adc.walden.fom, 'energy', 'adc.walden.fom') },
      murmann: {
        floorJoules: positive(raw.adc.murmann.floor, 'energy', 'adc.murmann.floor'),
        thermalJoules: positive(raw.adc.murmann.thermal, 'energy', 'adc.murmann.thermal'),
      },
      area: { ...raw.adc.area },
    },
    dac: { energyPerBitJoules: positive(raw.dac.energyPerBit, 'energy', 'dac.energyPerBit') },
    array: {
      readSeconds: positive(raw.array.readTime, 'time', 'array.readTime'),
      cellAreaF2: raw.array.cellAreaF2,
    },
    digital: { addJoules: positive(raw.digital.addEnergy, 'energy', 'digital.addEnergy') },
    sources: { ...raw.sources },
  };
}

/** Energy of one conversion of a `bits`-bit ADC under `model`. */
export function adcEnergyJoules(tech: TechnologyCard, bits: number, model = tech.adc.model): number {
  const a = tech.adc;
  switch (model) {
    case 'neurosim-sar':
      return (
        (a.neurosimSar.powerPerBitWatts * bits + a.neurosimSar.powerOffsetWatts) *
        (bits + 1) *
        tech.clockSeconds
      );
    case 'walden':
      return a.walden.fomJoules * 2 ** bits;
    case 'murmann':
      return a.murmann.floorJoules + a.murmann.thermalJoules * 4 ** bits;
  }
}

/** One SAR conversion: bits + 1 clock cycles (sample, then one cycle per bit). */
export function adcConversionSeconds(tech: TechnologyCard, bits: number): number {
  return (bits + 1) * tech.clockSeconds;
}

/** Layout area of one `bits`-bit ADC, m^2. */
export function adcAreaSquareMeters(tech: TechnologyCard, bits: number): number {
  const { transistorsAtOneBit, transistorsPerBit, transistorAreaF2 } = tech.adc.area;
  const f = tech.featureSizeMeters;
  return (transistorsAtOneBit + transistorsPerBit * (bits - 1)) * transistorAreaF2 * f * f;
}
