/**
 * Cost of one inference on a mapped network: energy (ADC, DAC, array, digital), ADC and array area, and
 * latency, from a simulation plan (the tiles as mapped), the circuit and a technology card, and the
 * activity the test images put on each layer's rows. See docs/cost.md for every formula.
 */
import type { CircuitCard } from '../crossbar/circuit';
import type { AnalogStage, SimPlan } from '../sim/plan';
import {
  type AdcEnergyModel,
  type TechnologyCard,
  adcAreaSquareMeters,
  adcConversionSeconds,
  adcEnergyJoules,
} from './technology';

/** What the images put on a stage's rows (input i of the layer's weight matrix). */
export interface RowActivity {
  /** Mean over images and positions of (v_i / vRead)^2, v_i the row's voltage. */
  meanSquare: Float64Array;
  /** Share of images and positions at which the row is driven (v_i > 0). */
  active: Float64Array;
}

export interface StageCost {
  layer: string;
  /** Positions per image (conv: output pixels; dense: 1). */
  positions: number;
  rowTiles: number;
  colTiles: number;
  adcs: number;
  adcBits: number | null;
  dacBits: number | null;
  conversionsPerImage: number;
  dacConversionsPerImage: number;
  addsPerImage: number;
  energyJoules: { adc: number; dac: number; array: number; digital: number };
  adcAreaSquareMeters: number;
  arrayAreaSquareMeters: number;
  latencySeconds: number;
}

export interface InferenceCost {
  technology: string;
  adcModel: AdcEnergyModel;
  columnsPerAdc: number;
  stages: StageCost[];
  energyJoules: { adc: number; dac: number; array: number; digital: number; total: number };
  adcAreaSquareMeters: number;
  arrayAreaSquareMeters: number;
  latencySeconds: number;
  /** Parts that were not costed, and why (an ideal converter has no cost model). */
  notes: string[];
}

function dacBitsOf(stage: AnalogStage): number | null {
  if (stage.dac.kind === 'ideal') return null;
  return stage.dac.kind === 'binary' ? 1 : stage.dac.bits;
}

/** Summed programmed conductance of each of the stage's rows (all its physical columns), siemens. */
export function rowConductanceSums(stage: AnalogStage, levelMeans: readonly number[]): Float64Array {
  const sums = new Float64Array(stage.rows);
  for (const tile of stage.rowTiles)
    tile.cellsByLevel.forEach((cells, level) => {
      for (const c of cells) sums[tile.rowStart + Math.floor(c / stage.physCols)] += levelMeans[level];
    });
  return sums;
}

export function stageCost(
  stage: AnalogStage,
  activity: RowActivity,
  circuit: CircuitCard,
  tech: TechnologyCard,
  levelMeans: readonly number[],
  vReadVolts: number,
  adcModel: AdcEnergyModel,
): StageCost {
  const positions = stage.conv ? stage.conv.outShape[0] * stage.conv.outShape[1] : 1;
  const rowTiles = stage.rowTiles.length;
  const tileCols = circuit.tile.cols;
  const colTiles = Math.ceil(stage.physCols / tileCols);
  const cpa = circuit.columnsPerAdc;
  let adcsPerRowTile = 0;
  for (let t = 0; t < colTiles; t++)
    adcsPerRowTile += Math.ceil(Math.min(tileCols, stage.physCols - t * tileCols) / cpa);
  const adcBits = stage.adcBits;
  const dacBits = dacBitsOf(stage);

  const conversions = positions * rowTiles * stage.physCols;
  let activeRows = 0;
  for (let i = 0; i < stage.rows; i++) activeRows += activity.active[i];
  // Each column tile has its own drivers for the rows it spans.
  const dacConversions = positions * activeRows * colTiles;
  const gSums = rowConductanceSums(stage, levelMeans);
  let arrayPerPosition = 0;
  for (let i = 0; i < stage.rows; i++) arrayPerPosition += activity.meanSquare[i] * gSums[i];
  // Per analog column: one subtraction per row tile (G+ - G-, or the reference), then the row tiles'
  // partial sums and the bias accumulated; bit sliced, a shift-and-add per further slice of each output.
  const adds = positions * (stage.cols * 2 * rowTiles + (stage.cols - stage.outCols));
  const conversionSeconds = adcBits === null ? 0 : adcConversionSeconds(tech, adcBits);
  const f = tech.featureSizeMeters;
  return {
    layer: stage.layerName,
    positions,
    rowTiles,
    colTiles,
    adcs: rowTiles * adcsPerRowTile,
    adcBits,
    dacBits,
    conversionsPerImage: conversions,
    dacConversionsPerImage: dacConversions,
    addsPerImage: adds,
    energyJoules: {
      adc: adcBits === null ? 0 : conversions * adcEnergyJoules(tech, adcBits, adcModel),
      dac: dacBits === null ? 0 : dacConversions * dacBits * tech.dac.energyPerBitJoules,
      array: positions * arrayPerPosition * vReadVolts * vReadVolts * tech.array.readSeconds,
      digital: adds * tech.digital.addJoules,
    },
    adcAreaSquareMeters:
      adcBits === null ? 0 : rowTiles * adcsPerRowTile * adcAreaSquareMeters(tech, adcBits),
    arrayAreaSquareMeters: rowTiles * colTiles * circuit.tile.rows * tileCols * tech.array.cellAreaF2 * f * f,
    // Positions one after another; within one, the rows are read, then each ADC converts its columns in turn.
    latencySeconds: positions * (tech.array.readSeconds + cpa * conversionSeconds),
  };
}

/** The cost of one inference: per analog stage and in total. `activity` is per analog stage, in order. */
export function inferenceCost(
  plan: SimPlan,
  activity: readonly RowActivity[],
  circuit: CircuitCard,
  tech: TechnologyCard,
  levelMeans: readonly number[],
  adcModel: AdcEnergyModel = tech.adc.model,
): InferenceCost {
  const analog = plan.stages.filter((s): s is AnalogStage => s.kind === 'analog');
  const stages = analog.map((s, k) =>
    stageCost(s, activity[k], circuit, tech, levelMeans, plan.vReadVolts, adcModel),
  );
  const sum = (f: (s: StageCost) => number) => stages.reduce((a, s) => a + f(s), 0);
  const energy = {
    adc: sum((s) => s.energyJoules.adc),
    dac: sum((s) => s.energyJoules.dac),
    array: sum((s) => s.energyJoules.array),
    digital: sum((s) => s.energyJoules.digital),
    total: 0,
  };
  energy.total = energy.adc + energy.dac + energy.array + energy.digital;
  const notes: string[] = [];
  if (stages.some((s) => s.adcBits === null))
    notes.push('ideal ADC: no conversion energy, area or time counted');
  if (stages.some((s) => s.dacBits === null)) notes.push('ideal DAC: no DAC energy counted');
  notes.push('digital layers (those not on tiles) are not costed');
  return {
    technology: tech.name,
    adcModel,
    columnsPerAdc: circuit.columnsPerAdc,
    stages,
    energyJoules: energy,
    adcAreaSquareMeters: sum((s) => s.adcAreaSquareMeters),
    arrayAreaSquareMeters: sum((s) => s.arrayAreaSquareMeters),
    latencySeconds: sum((s) => s.latencySeconds),
    notes,
  };
}
