/**
 * Lossless ADC resolution per analog layer (second study): z = log2(d) + w + l, minus 1 when w = 1 or
 * l = 1, with d the rows a tile column sums, w the weight bits, l the input bits.
 */
import { losslessAdcBits } from '../crossbar/adc';
import type { CircuitCard } from '../crossbar/circuit';
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
export function weightBits(layer: WeightedLayer): number {
  const q = layer.weightQuantization;
  if (q.kind === 'binary') return 1;
  if (q.kind === 'ternary') return 2;
  if (q.kind === 'uniform') return q.bits;
  const distinct = new Set(layer.weights.data).size;
  return Math.max(1, Math.ceil(Math.log2(distinct)));
}

/** Bits of a layer's inputs: its input quantiser, else the circuit's DAC; null for an ideal DAC. */
export function inputBits(layer: WeightedLayer, circuit: CircuitCard): number | null {
  const q = layer.inputQuantizer;
  if (q) return q.kind === 'threshold' ? 1 : q.bits;
  if (circuit.dac.kind === 'binary') return 1;
  return circuit.dac.kind === 'bits' ? circuit.dac.bits : null;
}

export function losslessBitsTable(desc: NetworkDescription, circuit: CircuitCard): AdcBitsRow[] {
  return analogLayerIndices(desc, circuit).map((i) => {
    const layer = desc.layers[i] as WeightedLayer;
    const s = layer.weights.shape;
    const rows = layer.kind === 'dense' ? s[0] : s[0] * s[1] * s[2];
    const d = Math.min(rows, circuit.tile.rows);
    const w = weightBits(layer);
    const l = inputBits(layer, circuit);
    return { layer: layer.name, rows, d, weightBits: w, inputBits: l, losslessBits: l === null ? null : losslessAdcBits(d, w, l) };
  });
}
