/**
 * The cases of the dense-resolution study and their bit accounting (see docs/studies.md):
 * which trained head a case uses, how its dense layers' weights and inputs are quantised, the DAC bits
 * that carry its inputs, the weight and input bits the lossless-ADC formula counts, and the ADC
 * resolutions simulated around that lossless value.
 */
import type { BitsFamily } from '../types';

/** How the head was trained: plain float, or binary / ternary dense weights with a straight-through estimator. */
export type HeadTraining = 'float' | 'binary' | 'ternary';

/** Chart and table groups: one accuracy-vs-ADC figure per group and head. */
export type CaseGroup = 'weights' | 'inputs' | 'binary STE' | 'ternary STE' | '1-bit expfit';

export const CASE_GROUPS: readonly CaseGroup[] = [
  'weights',
  'inputs',
  'binary STE',
  'ternary STE',
  '1-bit expfit',
];

export interface DenseCase {
  /** Short stable id, part of the configuration key (e.g. `w3i2`, `binary-i1`, `ternary-expfit-q3`). */
  id: string;
  group: CaseGroup;
  training: HeadTraining;
  /** Weight quantiser of every dense layer, 'float' for none. */
  weights: 'float' | 'binary' | 'ternary' | BitsQuantizer;
  /** Input quantiser of every dense layer, 'none' for float inputs. */
  input: 'none' | BitsQuantizer | 'expfit:mean' | 'expfit:q3';
}

/** A B-bit quantiser: uniform:B, fixed:B or fixed:B@max. */
type BitsQuantizer = `uniform:${number}` | `fixed:${number}` | `fixed:${number}@max`;

/** The B of a `uniform:B` or `fixed:B` quantiser. */
const bitsOf = (q: string) => Number(q.slice(q.indexOf(':') + 1).split('@')[0]);
const isBits = (q: string) => q.startsWith('uniform:') || q.startsWith('fixed:');

/** Rows a tile column sums in this study (the source study's 128-row crossbar). */
export const CROSSBAR_ROWS = 128;
/** DAC resolution for float (unquantised) inputs: the tile128-adc8 card's 8-bit DAC. */
export const FLOAT_INPUT_DAC_BITS = 8;
/** Levels of the study's device card (hfo2-1t1r-igvva-8). */
const DEVICE_LEVELS = 8;
/** The circuit card's converters accept at most this many bits (circuit schema). */
export const MAX_CONVERTER_BITS = 16;

/**
 * Every case of the study, in report order. With the `fixed` family the B-bit quantisers are the source
 * study's truncation in its two readings: fixed:B (ids `fixed-...`, binary point at 1) and fixed:B@max
 * (ids `fixedmax-...`, binary point above the layer's largest value); binary, ternary, float and expfit
 * parts stay as they are.
 */
export function denseCases(family: BitsFamily = 'uniform'): DenseCase[] {
  const base = uniformCases();
  if (family === 'uniform') return base;
  const reading = (prefix: string, suffix: '' | '@max') =>
    base.map((c): DenseCase => ({
      ...c,
      id: `${prefix}-${c.id}`,
      weights: c.weights.startsWith('uniform:')
        ? (`fixed:${bitsOf(c.weights)}${suffix}` as BitsQuantizer)
        : c.weights,
      input: c.input.startsWith('uniform:')
        ? (`fixed:${bitsOf(c.input)}${suffix}` as BitsQuantizer)
        : c.input,
    }));
  return [...reading('fixed', ''), ...reading('fixedmax', '@max')];
}

function uniformCases(): DenseCase[] {
  const cases: DenseCase[] = [];
  const add = (c: DenseCase) => cases.push(c);
  add({ id: 'float', group: 'weights', training: 'float', weights: 'float', input: 'none' });
  for (const b of [4, 3, 2])
    add({ id: `w${b}`, group: 'weights', training: 'float', weights: `uniform:${b}`, input: 'none' });
  for (const b of [3, 2])
    add({ id: `i${b}`, group: 'inputs', training: 'float', weights: 'float', input: `uniform:${b}` });
  for (const b of [3, 2])
    add({ id: `w3i${b}`, group: 'inputs', training: 'float', weights: 'uniform:3', input: `uniform:${b}` });
  for (const kind of ['binary', 'ternary'] as const) {
    const group: CaseGroup = kind === 'binary' ? 'binary STE' : 'ternary STE';
    add({ id: kind, group, training: kind, weights: kind, input: 'none' });
    for (const b of [4, 3, 2, 1])
      add({ id: `${kind}-i${b}`, group, training: kind, weights: kind, input: `uniform:${b}` });
  }
  for (const [training, weights, name] of [
    ['binary', 'binary', 'binary'],
    ['ternary', 'ternary', 'ternary'],
    ['float', 'uniform:3', 'w3'],
  ] as const) {
    for (const rule of ['mean', 'q3'] as const)
      add({
        id: `${name}-expfit-${rule}`,
        group: '1-bit expfit',
        training,
        weights,
        input: `expfit:${rule}`,
      });
  }
  return cases;
}

/** A short human label for tables and legends. */
export function caseLabel(c: DenseCase): string {
  const w =
    c.weights === 'float' ? 'float w' : isBits(c.weights) ? `${bitsOf(c.weights)}-bit w` : `${c.weights} w`;
  const i =
    c.input === 'none'
      ? 'float in'
      : isBits(c.input)
        ? `${bitsOf(c.input)}-bit in`
        : `1-bit in (${c.input.slice(7)})`;
  return `${w}, ${i}`;
}

/**
 * Weight bits w of the lossless formula: binary 1, ternary 2 (three values need two bits), uniform:B B
 * (2^B - 1 sign-magnitude levels), fixed:B B + 1 (sign and B magnitude bits: 2^(B+1) - 1 values). Float weights have no bit count of their own: on the chip the
 * mapping rounds them to the 2L - 1 level differences of the device's differential pairs, so w is
 * ceil(log2(2L - 1)) (4 for 8 levels, the same as uniform:4, which lands on those 15 values exactly).
 */
export function caseWeightBits(c: DenseCase, deviceLevels = DEVICE_LEVELS): number {
  if (c.weights === 'binary') return 1;
  if (c.weights === 'ternary') return 2;
  if (c.weights === 'float') return Math.ceil(Math.log2(2 * deviceLevels - 1));
  return c.weights.startsWith('fixed:') ? bitsOf(c.weights) + 1 : bitsOf(c.weights);
}

/**
 * Input bits l of the lossless formula, equal to the DAC bits that carry the inputs: uniform:B inputs
 * use a B-bit DAC (its 2^B codes over [0, max] are exactly the quantiser's; for fixed:B, max = 1 - 2^-B,
 * the DAC's step is 2^-B, again the quantiser's grid), 1-bit expfit inputs
 * (0 or `high`) a 1-bit DAC, float inputs the card's 8-bit DAC.
 */
export function caseInputBits(c: DenseCase): number {
  if (c.input === 'none') return FLOAT_INPUT_DAC_BITS;
  if (c.input.startsWith('expfit:')) return 1;
  return bitsOf(c.input);
}

export interface AdcSetting {
  /** ADC bits, or 'ideal' (no conversion error: the reference every finite ADC is compared with). */
  adcBits: number | 'ideal';
  /** Bits below the lossless resolution (0 = lossless); null for the ideal ADC. */
  belowLossless: number | null;
}

/**
 * The ADC resolutions simulated for a case: the ideal ADC, then lossless - k for each offset k. The card
 * allows at most 16 bits, so a resolution above that is simulated at 16 (the closest a card can come to
 * lossless); duplicates and resolutions below 1 bit are dropped.
 */
export function adcSettings(losslessBits: number, offsets: readonly number[]): AdcSetting[] {
  const out: AdcSetting[] = [{ adcBits: 'ideal', belowLossless: null }];
  for (const k of offsets) {
    const bits = Math.min(MAX_CONVERTER_BITS, losslessBits - k);
    if (bits >= 1 && !out.some((s) => s.adcBits === bits))
      out.push({ adcBits: bits, belowLossless: losslessBits - bits });
  }
  return out;
}
