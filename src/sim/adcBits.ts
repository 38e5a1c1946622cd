/**
 * Lossless ADC resolution per analog layer (second study): z = log2(d) + w + l, minus 1 when w = 1 or
 * l = 1, with d the rows a tile column sums, w the weight bits (a bit slice's digit, when sliced), l the
 * input bits.
 */
import { losslessAdcBits } from '../crossbar/adc';
import type { CircuitCard } from '../crossbar/circuit';
import { dacInputBits } from '../crossbar/dac';
import type { NetworkDescription, WeightedLayer } from '../nn/description';
import { analogLayerIndices } from './buildPlan';

export interface AdcBitsRow {
  layer: string;
  rows: number;
  /** Rows summed by one tile column: min(fan-in, tile rows). */
  d: number;
  weightBits: number;
  inputBits: number | null;
  /** Null when the inputs are not quantised (ideal DAC): no finite lossless resolution. */
  losslessBits: number | null;
}

/** Bits of a layer's weights: from its quantiser, else from its count of distinct values. */
function weightBits(layer: WeightedLayer): number {
  const q = layer.weightQuantization;
  if (q.kind === 'binary') return 1;
  if (q.kind === 'ternary') return 2;
  if (q.kind === 'uniform') return q.bits;
  // Sign and B magnitude bits: 2^(B+1) - 1 values.
  if (q.kind === 'fixed') return q.bits + 1;
  const distinct = new Set(layer.weights.data).size;
  return Math.max(1, Math.ceil(Math.log2(distinct)));
}

/**
 * Bits of a layer's inputs as the rows see them: the input quantiser's and the DAC's resolution, the
 * coarser of the two when both apply (a binary DAC passes 1 bit whatever the quantiser); null when
 * neither quantises (ideal DAC, no quantiser).
 */
function inputBits(layer: WeightedLayer, circuit: CircuitCard, binaryPixels = false): number | null {
  const q = layer.inputQuantizer;
  const quantizerBits = q ? (q.kind === 'threshold' ? 1 : q.bits) : binaryPixels ? 1 : null;
  const dacBits = dacInputBits(circuit.dac);
  if (quantizerBits === null) return dacBits;
  return dacBits === null ? quantizerBits : Math.min(quantizerBits, dacBits);
}

export function losslessBitsTable(desc: NetworkDescription, circuit: CircuitCard): AdcBitsRow[] {
  const firstWeighted = desc.layers.findIndex((l) => l.kind === 'dense' || l.kind === 'conv2d');
  // The first weighted layer of a network with binarised pixels sees 0/1 inputs: 1 bit.
  const binaryPixels = desc.input.binarizeThreshold !== undefined;
  return analogLayerIndices(desc, circuit).map((i) => {
    const layer = desc.layers[i] as WeightedLayer;
    const s = layer.weights.shape;
    const rows = layer.kind === 'dense' ? s[0] : s[0] * s[1] * s[2];
    const d = Math.min(rows, circuit.tile.rows);
    // Bit sliced, a column pair holds one signed digit: sign and bitsPerCell magnitude bits (as fixed:B).
    const w = circuit.slicing ? circuit.slicing.bitsPerCell + 1 : weightBits(layer);
    const l = inputBits(layer, circuit, binaryPixels && i === firstWeighted);
    return {
      layer: layer.name,
      rows,
      d,
      weightBits: w,
      inputBits: l,
      losslessBits: l === null ? null : losslessAdcBits(d, w, l),
    };
  });
}
