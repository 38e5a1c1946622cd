/**
 * A simulation plan: everything a trial needs, as plain data (typed arrays, numbers, the device card
 * JSON), so it can be cloned to worker threads or run in a browser. Built once by `buildPlan`.
 */
import type { Activation, InputQuantizer, Layer } from '../nn/description';

/** How a layer's inputs become row voltages. `xMax` is the input that maps to vRead. */
export interface DacPlan {
  kind: 'ideal' | 'binary' | 'bits';
  bits: number;
  xMax: number;
}

export interface RowTilePlan {
  rowStart: number;
  rowEnd: number;
  /** Cell indices (into the tile's rows x physCols matrix) grouped by programmed level. */
  cellsByLevel: Int32Array[];
  /** ADC full-scale current (A) per physical column of this row tile; Infinity for an ideal ADC. */
  iFullAmps: Float32Array;
}

export interface AnalogStage {
  kind: 'analog';
  layerIndex: number;
  layerName: string;
  /** Logical weight matrix: `rows` inputs (fan-in) x `cols` outputs. */
  rows: number;
  cols: number;
  /** Physical columns per row tile: 2 cols (differential: G+ block then G- block) or cols + references. */
  physCols: number;
  mapping: 'differential' | 'offset';
  /** Offset mapping: physical column of the reference serving each logical column. */
  refColumnOf: Int32Array | null;
  /**
   * Offset mapping with a reference between two levels (rank-order rule): the reference columns carry
   * an exact current gRef * sum(V) instead of programmed cells. null otherwise.
   */
  refExactSiemens: number | null;
  weightPerSiemens: number;
  rowTiles: RowTilePlan[];
  dac: DacPlan;
  adcBits: number | null;
  inputQuantizer?: InputQuantizer;
  bias: Float32Array | null;
  activation: Activation;
  /** Set for conv layers run on tiles (im2col): the layer's geometry. */
  conv?: {
    inShape: number[];
    outShape: number[];
    kh: number;
    kw: number;
    strides: [number, number];
    padding: 'valid' | 'same';
  };
  /** Mapping report. */
  rmsWeightError: number;
}

export interface DigitalStage {
  kind: 'digital';
  layer: Layer;
}

export type Stage = AnalogStage | DigitalStage;

export interface SimPlan {
  /** Device card JSON; each trial resolves it into samplers. */
  deviceCard: unknown;
  vReadVolts: number;
  seed: number;
  /** Test images after the digital layers that precede the first analog layer (cached once). */
  front: { data: Float32Array; count: number; shape: number[] };
  labels: Uint8Array;
  stages: Stage[];
}
