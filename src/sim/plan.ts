/**
 * A simulation plan: everything a trial needs, as plain data (typed arrays, numbers, the device card
 * JSON), so it can be cloned to worker threads or run in a browser. Built once by `buildPlan`.
 */
import type { Parasitics } from '../crossbar/parasitics';
import type { SliceSpec } from '../crossbar/slicing';
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

/** Wire, access, driver and sense resistances of a stage's tiles (crossbar/parasitics.ts). */
export interface StageParasitics {
  circuit: Parasitics;
  /**
   * Per column tile, the stage's physical columns (indices < physCols) in their order along the row
   * wire, from the driver: differential G+ and G- of each weight column side by side, offset the weight
   * columns then the tile's reference column (crossbar/tiling.ts).
   */
  columnTiles: Int32Array[];
  /**
   * The nominal chip on the calibration images: mean over the column currents (all tiles, conversions
   * with an ideal current > 0) of |I - I_ideal| / I_ideal, I_ideal being the same tile without resistances.
   */
  meanRelCurrentError: number;
}

export interface AnalogStage {
  kind: 'analog';
  layerIndex: number;
  layerName: string;
  /**
   * Logical weight matrix: `rows` inputs (fan-in) x `cols` analog columns. Without bit slicing `cols` is
   * the layer's outputs; with it, slices x outputs, slice k of output j at column k outCols + j.
   */
  rows: number;
  cols: number;
  /** The layer's outputs: cols, or cols / slices with bit slicing. */
  outCols: number;
  /**
   * Bit slicing (crossbar/slicing.ts): after the ADCs, output j = sum_k 2^(k bitsPerCell) acc_(k outCols + j),
   * slices in order, in float64 (shiftAdd); absent: output j = acc_j.
   */
  slicing?: SliceSpec;
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
  /** Set when the circuit has resistances: each programmed chip's tiles are solved (parasiticStage.ts). */
  parasitics?: StageParasitics;
  /**
   * Set when the circuit's ADCs spread (a finite ADC only): per chip, each ADC of each row tile draws an
   * offset (LSB) and a gain; physical columns p share ADC floor(p / columnsPerAdc) of their row tile.
   */
  adcSpread?: { offsetSigmaLsb: number; gainSigma: number; columnsPerAdc: number };
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
