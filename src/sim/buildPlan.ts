/**
 * Build a simulation plan: choose the analog layers, map their weights onto device levels, split them
 * over tiles, size the DACs and ADCs, and run the digital layers in front of the first analog layer
 * once for the whole test set. Browser-safe (no Node APIs).
 */
import type { AdcRange, CircuitCard } from '../crossbar/circuit';
import { calibratedFullScale, fullScaleCurrent } from '../crossbar/adc';
import { type MappedLayer, mapLayer } from '../crossbar/mapping';
import { sliceLayer } from '../crossbar/slicing';
import { hasParasitics, ParasiticWorkspace } from '../crossbar/parasitics';
import type { DeviceModel } from '../device/model';
import { InputError } from '../util/errors';
import { type NetworkDescription, type WeightedLayer, isWeighted, outputShape } from '../nn/description';
import { type Activations, prepareInput, quantizedInput, runLayer, runLayers, sizeOf } from '../nn/forward';
import type { AnalogStage, DacPlan, RowTilePlan, SimPlan, Stage, StageParasitics } from './plan';
import { columnTilesOf, effectiveStage, hasStageParasitics } from './parasiticStage';
import { dacInput } from './trial';

export interface PlanInputs {
  desc: NetworkDescription;
  device: DeviceModel;
  deviceCard: unknown;
  circuit: CircuitCard;
  test: { images: Float32Array; labels: Uint8Array; count: number };
  /** Training images used to size DAC ranges and calibrated ADC ranges. */
  calibration: { images: Float32Array; count: number };
  seed: number;
}

/** Which weighted layers the circuit runs on tiles. */
export function analogLayerIndices(desc: NetworkDescription, circuit: CircuitCard): number[] {
  return desc.layers
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => isWeighted(l) && (circuit.analogLayers === 'all' || l.kind === 'dense'))
    .map(({ i }) => i);
}

/**
 * The images must have the network's input size: a model trained on other images would otherwise run
 * on misaligned pixels without any error.
 */
export function checkInputSize(desc: NetworkDescription, valuesPerImage: number, what: string): void {
  const inputSize = sizeOf(desc.inputShape);
  if (valuesPerImage !== inputSize)
    throw new InputError(
      `network ${desc.name}: field inputShape [${desc.inputShape.join(', ')}] needs ${inputSize} values per image, but the ${what} has ${valuesPerImage}`,
    );
}

export function buildPlan(inp: PlanInputs): SimPlan {
  const { desc, device, circuit } = inp;
  for (const [what, set] of [
    ['test set', inp.test],
    ['calibration set', inp.calibration],
  ] as const)
    if (set.count > 0) checkInputSize(desc, set.images.length / set.count, what);
  const analog = new Set(analogLayerIndices(desc, circuit));
  if (analog.size === 0)
    throw new InputError(
      `circuit ${circuit.name}: no layer of network ${desc.name} is analog (analogLayers: ${JSON.stringify(circuit.analogLayers)})`,
    );
  const first = Math.min(...analog);
  const front = runLayers(desc, prepareInput(desc, inp.test.images, inp.test.count), 0, first);
  let cal = runLayers(desc, prepareInput(desc, inp.calibration.images, inp.calibration.count), 0, first);
  const levelMeans = device.levels.map((l) => l.gMeanSiemens);
  const stages: Stage[] = [];
  for (let i = first; i < desc.layers.length; i++) {
    const layer = desc.layers[i];
    if (analog.has(i) && isWeighted(layer)) {
      stages.push(analogStage(layer, i, cal, levelMeans, device.vReadVolts, circuit));
    } else {
      stages.push({ kind: 'digital', layer });
    }
    cal = runLayer(layer, cal); // calibration follows the digital (nominal) network
  }
  return {
    deviceCard: inp.deviceCard,
    vReadVolts: device.vReadVolts,
    seed: inp.seed,
    front,
    labels: inp.test.labels,
    stages,
  };
}

function analogStage(
  layer: WeightedLayer,
  layerIndex: number,
  cal: Activations,
  levelMeans: number[],
  vRead: number,
  circuit: CircuitCard,
): AnalogStage {
  const shape = layer.weights.shape;
  const rows = layer.kind === 'dense' ? shape[0] : shape[0] * shape[1] * shape[2];
  const outCols = layer.kind === 'dense' ? shape[1] : shape[3];
  const mapped = circuit.slicing
    ? slicedMapping(layer, rows, outCols, levelMeans, circuit)
    : mapLayer(layer.weights.data, rows, outCols, levelMeans, circuit.mapping);
  // The analog columns: with bit slicing, each output's slices side by side (crossbar/slicing.ts).
  const cols = outCols * (circuit.slicing?.slices ?? 1);
  const tileRows = circuit.tile.rows;
  const tileCols = circuit.tile.cols;
  const differential = circuit.mapping === 'differential';
  // Offset mapping: each column tile holds tileCols - 1 weight columns and one reference column.
  const weightColsPerTile = differential ? tileCols : tileCols - 1;
  const colTiles = differential ? Math.ceil((2 * cols) / tileCols) : Math.ceil(cols / weightColsPerTile);
  const physCols = differential ? 2 * cols : cols + colTiles;
  let refColumnOf: Int32Array | null = null;
  if (!differential) {
    refColumnOf = new Int32Array(cols);
    for (let j = 0; j < cols; j++) refColumnOf[j] = cols + Math.floor(j / weightColsPerTile);
  }
  const conv =
    layer.kind === 'conv2d'
      ? {
          inShape: cal.shape,
          outShape: outputShape(layer, cal.shape),
          kh: shape[0],
          kw: shape[1],
          strides: layer.strides,
          padding: layer.padding,
        }
      : undefined;

  // DAC range: the quantiser's top value, else the largest calibration input.
  const calInput = quantizedInput(layer, cal.data);
  const q = layer.inputQuantizer;
  let xMax = q
    ? q.kind === 'uniform'
      ? q.max
      : q.kind === 'fixed'
        ? q.scale * (1 - 2 ** -q.bits)
        : q.high
    : 0;
  if (!q) for (let k = 0; k < calInput.length; k++) xMax = Math.max(xMax, calInput[k]);
  const dac: DacPlan = {
    kind: circuit.dac.kind,
    bits: circuit.dac.kind === 'bits' ? circuit.dac.bits : 0,
    xMax: xMax || 1,
  };

  const rowTiles: RowTilePlan[] = [];
  for (let r0 = 0; r0 < rows; r0 += tileRows) {
    const r1 = Math.min(rows, r0 + tileRows);
    const byLevel: number[][] = levelMeans.map(() => []);
    for (let i = r0; i < r1; i++) {
      const base = (i - r0) * physCols;
      for (let j = 0; j < cols; j++) {
        byLevel[mapped.levelPos[i * cols + j]].push(base + j);
        if (differential) byLevel[mapped.levelNeg![i * cols + j]].push(base + cols + j);
      }
      // A rank-order reference between levels is an exact (trimmed) current, not a programmed cell.
      if (!differential && mapped.refLevel !== null)
        for (let t = 0; t < colTiles; t++) byLevel[mapped.refLevel].push(base + cols + t);
    }
    rowTiles.push({
      rowStart: r0,
      rowEnd: r1,
      cellsByLevel: byLevel.map((c) => Int32Array.from(c)),
      iFullAmps: new Float32Array(physCols).fill(fullScaleCurrent(r1 - r0, Math.max(...levelMeans), vRead)),
    });
  }
  const parasitics: StageParasitics | undefined = hasParasitics(circuit.parasitics)
    ? {
        circuit: circuit.parasitics,
        columnTiles: columnTilesOf(cols, tileCols, circuit.mapping),
        meanRelCurrentError: 0,
      }
    : undefined;
  const stage: AnalogStage = {
    kind: 'analog',
    layerIndex,
    layerName: layer.name,
    rows,
    cols,
    outCols,
    physCols,
    mapping: circuit.mapping,
    refColumnOf,
    refExactSiemens: !differential && mapped.refLevel === null ? mapped.gRefSiemens : null,
    weightPerSiemens: mapped.weightPerSiemens,
    rowTiles,
    dac,
    adcBits: circuit.adc.kind === 'ideal' ? null : circuit.adc.bits,
    inputQuantizer: layer.inputQuantizer,
    bias: layer.bias?.data ?? null,
    activation: layer.activation,
    conv,
    rmsWeightError: mapped.rmsWeightError,
  };
  if (parasitics) stage.parasitics = parasitics;
  if (circuit.slicing) stage.slicing = { ...circuit.slicing };
  if (circuit.adc.kind !== 'ideal' && (circuit.adcOffsetSigmaLsb > 0 || circuit.adcGainSigma > 0))
    stage.adcSpread = {
      offsetSigmaLsb: circuit.adcOffsetSigmaLsb,
      gainSigma: circuit.adcGainSigma,
      columnsPerAdc: circuit.columnsPerAdc,
    };
  // The nominal chip's column currents on a calibration sample: the calibrated ADC range follows them
  // (with parasitics, the drop included), and against ideal wires they measure the drop.
  const calibrated = circuit.adc.kind !== 'ideal' && circuit.adc.range.kind === 'calibrated';
  if (calibrated || hasStageParasitics(stage)) {
    const nominal = nominalConductances(stage, levelMeans);
    const sample = calibrationSample(stage, cal);
    const ideal = nominalCurrents(stage, sample, nominal, vRead);
    let chip = ideal;
    if (hasStageParasitics(stage)) {
      const effective = effectiveStage(
        stage,
        nominal,
        new ParasiticWorkspace(),
        (_r, size) => new Float32Array(size),
      );
      chip = nominalCurrents(stage, sample, effective, vRead);
      stage.parasitics.meanRelCurrentError = meanRelativeError(chip, ideal);
    }
    if (calibrated) calibrateAdc(stage, chip, levelMeans, vRead, circuit.adc.range);
  }
  if (circuit.adc.kind === 'ideal') for (const t of rowTiles) t.iFullAmps.fill(Infinity);
  return stage;
}

/**
 * The plan with every analog stage's ADC at `bits` (null: an ideal ADC), all else shared with `plan`:
 * the mapping, the cells, the DAC and the ADC range do not depend on the resolution (analogStage), so a
 * sweep over ADC bits maps and calibrates once. `plan` must have a finite ADC, whose range is kept.
 */
export function withAdcBits(plan: SimPlan, bits: number | null): SimPlan {
  const stages = plan.stages.map((s): Stage => {
    if (s.kind !== 'analog') return s;
    if (s.adcBits === null) throw new Error('withAdcBits: the plan has an ideal ADC, so no range to keep');
    const rowTiles =
      bits === null
        ? s.rowTiles.map((t) => ({ ...t, iFullAmps: new Float32Array(t.iFullAmps.length).fill(Infinity) }))
        : s.rowTiles;
    // An ideal ADC has no spread.
    return { ...s, adcBits: bits, rowTiles, adcSpread: bits === null ? undefined : s.adcSpread };
  });
  return { ...plan, stages };
}

/** Every cell of the stage's row tiles at its level mean (exact references stay 0: convertTile sets them). */
function nominalConductances(stage: AnalogStage, levelMeans: number[]): Float32Array[] {
  return stage.rowTiles.map((tile) => {
    const g = new Float32Array((tile.rowEnd - tile.rowStart) * stage.physCols);
    tile.cellsByLevel.forEach((cells, level) => cells.forEach((c) => (g[c] = levelMeans[level])));
    return g;
  });
}

/** DAC fractions of the first (at most 500) calibration inputs. */
function calibrationSample(stage: AnalogStage, cal: Activations): { u: Float32Array; rows: number } {
  const sample = Math.min(cal.count, 500);
  return dacInput(stage, {
    data: cal.data.subarray(0, sample * sizeOf(cal.shape)),
    count: sample,
    shape: cal.shape,
  });
}

/**
 * Column currents (A) per row tile, input row by physical column, with conductances g; exact (trimmed)
 * references carry gRef per unit of input, like the trial computes them.
 */
function nominalCurrents(
  stage: AnalogStage,
  input: { u: Float32Array; rows: number },
  g: Float32Array[],
  vRead: number,
): Float64Array[] {
  const { u, rows: inputRows } = input;
  const { cols, physCols } = stage;
  return stage.rowTiles.map((tile, r) => {
    const gt = g[r];
    const currents = new Float64Array(inputRows * physCols);
    for (let n = 0; n < inputRows; n++) {
      const cur = currents.subarray(n * physCols, (n + 1) * physCols);
      let sumU = 0;
      for (let i = tile.rowStart; i < tile.rowEnd; i++) {
        const ui = u[n * stage.rows + i];
        if (ui === 0) continue;
        sumU += ui;
        const base = (i - tile.rowStart) * physCols;
        for (let p = 0; p < physCols; p++) cur[p] += ui * gt[base + p];
      }
      if (stage.refExactSiemens !== null)
        for (let p = cols; p < physCols; p++) cur[p] = sumU * stage.refExactSiemens;
      for (let p = 0; p < physCols; p++) cur[p] *= vRead;
    }
    return currents;
  });
}

/** Mean of |got - ideal| / ideal over the currents with ideal > 0. */
function meanRelativeError(got: Float64Array[], ideal: Float64Array[]): number {
  let sum = 0;
  let n = 0;
  got.forEach((g, t) => {
    const want = ideal[t];
    for (let k = 0; k < want.length; k++)
      if (want[k] > 0) {
        sum += Math.abs(g[k] - want[k]) / want[k];
        n++;
      }
  });
  return n ? sum / n : 0;
}

/** Calibrated ADC range: per row tile, the given percentile of the nominal chip's column currents. */
function calibrateAdc(
  stage: AnalogStage,
  currents: Float64Array[],
  levelMeans: number[],
  vRead: number,
  range: AdcRange,
): void {
  if (range.kind !== 'calibrated') return;
  // Each slice of a bit-sliced stage has its own range (its digits' currents differ in size).
  const groups = columnGroups(stage);
  stage.rowTiles.forEach((tile, r) => {
    for (const group of groups) {
      const full = calibratedFullScale(
        group ? columnsOf(currents[r], stage.physCols, group) : currents[r],
        range.percentile,
      );
      const iFull =
        full > 0
          ? atLeastInFloat32(full * CALIBRATION_HEADROOM)
          : fullScaleCurrent(tile.rowEnd - tile.rowStart, Math.max(...levelMeans), vRead);
      if (group) for (const p of group) tile.iFullAmps[p] = iFull;
      else tile.iFullAmps.fill(iFull);
    }
  });
}

/** Physical columns per slice (G+ and G- of each output), or [null]: one range for the whole tile. */
function columnGroups(stage: AnalogStage): Array<number[] | null> {
  if (!stage.slicing) return [null];
  const { outCols, cols } = stage;
  return Array.from({ length: stage.slicing.slices }, (_, k) =>
    Array.from({ length: 2 * outCols }, (_, c) =>
      c < outCols ? k * outCols + c : cols + k * outCols + c - outCols,
    ),
  );
}

/** The currents of some physical columns, every input row (currents are input row by physical column). */
function columnsOf(currents: Float64Array, physCols: number, columns: number[]): Float64Array {
  const rows = currents.length / physCols;
  const out = new Float64Array(rows * columns.length);
  for (let n = 0, o = 0; n < rows; n++) for (const p of columns) out[o++] = currents[n * physCols + p];
  return out;
}

/** A bit-sliced layer in the mapping's form: the analog columns are slices x outputs wide. */
function slicedMapping(
  layer: WeightedLayer,
  rows: number,
  cols: number,
  levelMeans: number[],
  circuit: CircuitCard,
): Pick<
  MappedLayer,
  'levelPos' | 'levelNeg' | 'refLevel' | 'gRefSiemens' | 'weightPerSiemens' | 'rmsWeightError'
> {
  const spec = circuit.slicing!;
  const digits = 2 ** spec.bitsPerCell;
  if (levelMeans.length < digits)
    throw new InputError(
      `circuit ${circuit.name}: field bitsPerCell ${spec.bitsPerCell} needs a device with at least ${digits} levels, the device has ${levelMeans.length} (allowed: bitsPerCell <= ${Math.floor(Math.log2(levelMeans.length))})`,
    );
  const s = sliceLayer(layer.weights.data, rows, cols, levelMeans, spec);
  return {
    levelPos: s.levelPos,
    levelNeg: s.levelNeg,
    refLevel: null,
    gRefSiemens: null,
    weightPerSiemens: s.weightPerSiemens,
    rmsWeightError: s.rmsWeightError,
  };
}

/**
 * Relative headroom on a calibrated range, so that the largest calibration current itself does not clip
 * when a trial sums the same currents in another order or precision (percentile 100 means no clipping).
 */
const CALIBRATION_HEADROOM = 1 + 2 ** -20;

/** The smallest float32 >= x (iFullAmps is a Float32Array; rounding down would clip the top current). */
function atLeastInFloat32(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  return Math.fround(f + 2 ** (Math.floor(Math.log2(f)) - 23));
}
