/**
 * The plain reference trial: the obvious per-image implementation of a trial's semantics, kept for
 * checking the fast path (trial.ts), which must give bit-for-bit the same results. It also serves the
 * cases the fast path does not cover (read noise, ideal ADC, negative inputs). Browser-safe.
 *
 * Semantics that define a trial's results:
 * - random streams: trial t draws from streamFor(seed, 'trial', t); stage s programs its row tile r
 *   from child('program', s).child('tile', r), level by level (child('level', L), cells in plan order),
 *   then faults (child('faults'), one uniform per cell in level order); read noise from child('read', s),
 *   one normal per (input row, row tile, physical column) in that order;
 * - column current of tile r, column p: sum over the tile's rows i in ascending order, skipping u_i = 0,
 *   of u_i * G_ip, in float64 (u and G are float32 values); then i = sum * vRead, plus read noise;
 * - with parasitics (a circuit card's resistances), G above is the programmed chip's effective matrix M
 *   of each tile (parasiticStage.ts), stored as float32 like G, read noise included;
 * - ADC: clip to [0, iFull] (counting i > iFull), code = Math.round(i / iFull * (2^bits - 1)),
 *   i' = code * iFull / (2^bits - 1); with ADC spread (stage.adcSpread, not on the nominal chip) each ADC
 *   of row tile r draws from child('adc', s).child('tile', r), ADC by ADC, a gain 1 + sigma_g N and an
 *   offset sigma_o N (LSB): x = i / iFull * (2^bits - 1) * gain + offset clipped to [0, 2^bits - 1]
 *   (counting x > 2^bits - 1), code = Math.round(x), i' as above;
 * - digital: acc_j += i'_j - i'_ref(j) over row tiles in order (float64); with bit slicing the slices
 *   are then shifted and added (shiftAdd, trialCommon.ts); out_j = acc_j * a xMax / vRead stored as
 *   float32, then bias and activation.
 */
import {
  type Activations,
  addBiasAndActivate,
  argmaxRows,
  accuracyOf,
  runLayer,
  sizeOf,
} from '../nn/forward';
import { RandomStream, streamFor } from '../util/random';
import type { AnalogStage, SimPlan } from './plan';
import { effectiveStage, hasStageParasitics } from './parasiticStage';
import {
  type DeviceSamplers,
  TRIAL_CHUNK_IMAGES,
  type TrialOptions,
  type TrialResult,
  TrialScratch,
  shiftAdd,
} from './trialCommon';

export function runReferenceTrial(
  plan: SimPlan,
  device: DeviceSamplers,
  trial: number,
  scratch = new TrialScratch(),
  opts: TrialOptions = {},
): TrialResult {
  return runTrialWith(referenceAnalogForward, plan, device, trial, scratch, opts);
}

export interface ReadNoise {
  rng: RandomStream;
  /** Relative sigma of a cell's read current. */
  rel: number;
}

/** One chip's ADCs, per row tile: each physical column's ADC gain and offset (LSB). */
export type AdcDraw = Array<{ gain: Float64Array; offsetLsb: Float64Array }>;

/** Draw a chip's ADC gains and offsets (see the semantics above); columns sharing an ADC share them. */
export function drawAdcSpread(stage: AnalogStage, rng: RandomStream): AdcDraw {
  const spread = stage.adcSpread!;
  const adcs = Math.ceil(stage.physCols / spread.columnsPerAdc);
  return stage.rowTiles.map((_t, r) => {
    const tileRng = rng.child('tile', r);
    const gain = new Float64Array(stage.physCols);
    const offsetLsb = new Float64Array(stage.physCols);
    for (let a = 0; a < adcs; a++) {
      const g = 1 + spread.gainSigma * tileRng.normal();
      const o = spread.offsetSigmaLsb * tileRng.normal();
      const end = Math.min(stage.physCols, (a + 1) * spread.columnsPerAdc);
      for (let p = a * spread.columnsPerAdc; p < end; p++) {
        gain[p] = g;
        offsetLsb[p] = o;
      }
    }
    return { gain, offsetLsb };
  });
}

/** The arithmetic of one analog stage: its outputs from the programmed conductances g and its inputs x. */
export type AnalogForward = (
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  g: Float32Array[],
  x: Activations,
  scratch: TrialScratch,
  readNoise: ReadNoise | null,
  newChip: boolean,
  adc: AdcDraw | null,
) => StageOutput;

/** A stage's outputs for a chunk of images, and its ADC conversions: how many, and how many clipped. */
export interface StageOutput {
  out: Activations;
  clipped: number;
  conversions: number;
}

/**
 * A trial's stage loop: digital stages through nn/forward, analog stages programmed (programStage) and
 * run by `analogForward`; then accuracy. The fast trial (trial.ts) shares it with its own analogForward.
 */
export function runTrialWith(
  analogForward: AnalogForward,
  plan: SimPlan,
  device: DeviceSamplers,
  trial: number,
  scratch: TrialScratch,
  opts: TrialOptions,
): TrialResult {
  const rng = streamFor(plan.seed, 'trial', trial);
  // Program the chip, then run the test set through it chunk by chunk (see TRIAL_CHUNK_IMAGES).
  const analog = plan.stages.map((stage, s) => {
    if (stage.kind === 'digital') return null;
    const programmed = programStage(device, stage, rng.child('program', s), scratch, opts);
    // With resistances, every path runs the chip's effective matrices M in place of G.
    const g = hasStageParasitics(stage)
      ? effectiveStage(stage, programmed, scratch.parasitic, (r, size) =>
          scratch.buffer(scratch.effective, `${stage.layerIndex}/${r}`, size),
        )
      : programmed;
    const noisy = !opts.nominal && device.readNoiseRelSigma > 0;
    const readNoise = noisy ? { rng: rng.child('read', s), rel: device.readNoiseRelSigma } : null;
    const adc = stage.adcSpread && !opts.nominal ? drawAdcSpread(stage, rng.child('adc', s)) : null;
    return { g, readNoise, adc, clipped: 0, conversions: 0 };
  });
  const predicted = new Int32Array(plan.front.count);
  let at = 0;
  scratch.frontChunks(plan, opts.chunkImages ?? TRIAL_CHUNK_IMAGES).forEach((chunk, c) => {
    let x: Activations = chunk;
    plan.stages.forEach((stage, s) => {
      if (stage.kind === 'digital') {
        x = runLayer(stage.layer, x);
        return;
      }
      const a = analog[s]!;
      const r = analogForward(plan, stage, s, a.g, x, scratch, a.readNoise, c === 0, a.adc);
      a.clipped += r.clipped;
      a.conversions += r.conversions;
      x = r.out;
    });
    predicted.set(argmaxRows(x.data, sizeOf(x.shape)), at);
    at += chunk.count;
  });
  const clipRate = analog.flatMap((a) => (a ? [a.conversions ? a.clipped / a.conversions : 0] : []));
  return { trial, accuracy: accuracyOf(predicted, plan.labels), clipRate };
}

/** Draw the conductance of every used cell of a stage's row tiles (siemens), row-major rows x physCols. */
export function programStage(
  device: DeviceSamplers,
  stage: AnalogStage,
  rng: RandomStream,
  scratch: TrialScratch,
  opts: TrialOptions,
): Float32Array[] {
  return stage.rowTiles.map((tile, r) => {
    const rows = tile.rowEnd - tile.rowStart;
    const g = scratch.buffer(scratch.conductances, `${stage.layerIndex}/${r}`, rows * stage.physCols);
    const tileRng = rng.child('tile', r);
    tile.cellsByLevel.forEach((cells, level) => {
      const sampler = device.levels[level];
      if (opts.nominal) {
        for (let i = 0; i < cells.length; i++) g[cells[i]] = sampler.gMeanSiemens;
        return;
      }
      if (scratch.sampleBuffer.length < cells.length) scratch.sampleBuffer = new Float32Array(cells.length);
      const buf = scratch.sampleBuffer;
      sampler.sample(tileRng.child('level', level), cells.length, buf, 0);
      for (let i = 0; i < cells.length; i++) g[cells[i]] = buf[i];
    });
    const { stuckAtOn, stuckAtOff, stuckOn, stuckOff } = device.faults;
    if (!opts.nominal && stuckAtOn + stuckAtOff > 0) {
      const faultRng = tileRng.child('faults');
      const stateRng = tileRng.child('stuck-state');
      if (scratch.sampleBuffer.length < 1) scratch.sampleBuffer = new Float32Array(1);
      const one = scratch.sampleBuffer;
      for (const cells of tile.cellsByLevel) {
        for (let i = 0; i < cells.length; i++) {
          const u = faultRng.uniform();
          if (u >= stuckAtOn + stuckAtOff) continue;
          (u < stuckAtOn ? stuckOn : stuckOff).sample(stateRng, 1, one, 0);
          g[cells[i]] = one[0];
        }
      }
    }
    return g;
  });
}

/**
 * Column currents of every row tile for every input row, each converted by the ADC at once, then
 * combined digitally: partial sums over row tiles, G+ minus G- (or minus the reference column), scaled
 * back to weights; then bias and activation.
 */
export function referenceAnalogForward(
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  g: Float32Array[],
  x: Activations,
  scratch: TrialScratch,
  readNoise: ReadNoise | null,
  newChip = true,
  adc: AdcDraw | null = null,
): StageOutput {
  const { u, rows: inputRows } = scratch.stageInput(plan, stageIndex, stage, x);
  const { cols, physCols, rows: fanIn, weightPerSiemens } = stage;
  const vRead = plan.vReadVolts;
  const { outCols } = stage;
  const out = new Float32Array(inputRows * outCols);
  const cur = new Float64Array(physCols);
  const varCur = readNoise ? new Float64Array(physCols) : null;
  // G^2 for the read-noise variance: once per chip, not per chunk of images.
  const squares = readNoise
    ? g.map((gt, r) => squareOf(scratch, `${stage.layerIndex}/${r}`, gt, newChip))
    : null;
  const adcSteps = stage.adcBits === null ? 0 : 2 ** stage.adcBits - 1;
  let clipped = 0;
  const acc = new Float64Array(cols);
  for (let n = 0; n < inputRows; n++) {
    const uRow = n * fanIn;
    acc.fill(0);
    for (let r = 0; r < stage.rowTiles.length; r++) {
      const tile = stage.rowTiles[r];
      const gt = g[r];
      cur.fill(0);
      varCur?.fill(0);
      let sumU = 0;
      for (let i = tile.rowStart; i < tile.rowEnd; i++) {
        const ui = u[uRow + i];
        if (ui === 0) continue;
        sumU += ui;
        const base = (i - tile.rowStart) * physCols;
        for (let p = 0; p < physCols; p++) cur[p] += ui * gt[base + p];
        if (varCur) {
          const sq = squares![r];
          const u2 = ui * ui;
          for (let p = 0; p < physCols; p++) varCur[p] += u2 * sq[base + p];
        }
      }
      clipped += convertTile(stage, tile, cur, sumU, vRead, adcSteps, acc, 0, varCur, readNoise, adc?.[r]);
    }
    // sum_i w_ij x_i = a (I+ - I-) xMax / vRead, since V_i = x_i / xMax * vRead.
    const scale = (weightPerSiemens * stage.dac.xMax) / vRead;
    shiftAdd(stage, acc, 0, 1);
    for (let j = 0; j < outCols; j++) out[n * outCols + j] = acc[j] * scale;
  }
  addBiasAndActivate(out, stage.bias, stage.activation, outCols);
  const conversions = inputRows * physCols * stage.rowTiles.length;
  const shape = stage.conv ? stage.conv.outShape : [outCols];
  return { out: { data: out, count: x.count, shape }, clipped: adcSteps ? clipped : 0, conversions };
}

/**
 * The rest of a tile's work for one input row, after its column sums `cur` (float64, u x siemens; sumU
 * the sum of the row's active u): currents through the ADC (in place in cur), then the digital
 * combination acc[accAt + j] += I_j - I_ref(j). Returns how many conversions clipped. Shared by the
 * reference and the exact SIMD stage (exactStage.ts), so that both convert alike.
 */
export function convertTile(
  stage: AnalogStage,
  tile: AnalogStage['rowTiles'][number],
  cur: Float64Array,
  sumU: number,
  vRead: number,
  adcSteps: number,
  acc: Float64Array,
  accAt: number,
  varCur: Float64Array | null,
  readNoise: ReadNoise | null,
  adc?: AdcDraw[number],
): number {
  const { cols, physCols } = stage;
  let clipped = 0;
  if (stage.refExactSiemens !== null)
    for (let p = cols; p < physCols; p++) cur[p] = sumU * stage.refExactSiemens;
  // Currents in amperes through the ADC.
  const iFull = tile.iFullAmps;
  for (let p = 0; p < physCols; p++) {
    let i = cur[p] * vRead;
    if (varCur) i += readNoise!.rel * vRead * Math.sqrt(varCur[p]) * readNoise!.rng.normal();
    if (adcSteps && adc) {
      const full = iFull[p];
      let x = (i / full) * adcSteps * adc.gain[p] + adc.offsetLsb[p];
      if (x > adcSteps) {
        clipped++;
        x = adcSteps;
      } else if (x < 0) x = 0;
      i = (Math.round(x) * full) / adcSteps;
    } else if (adcSteps) {
      const full = iFull[p];
      if (i > full) {
        clipped++;
        i = full;
      } else if (i < 0) i = 0;
      i = (Math.round((i / full) * adcSteps) * full) / adcSteps;
    }
    cur[p] = i;
  }
  if (stage.refColumnOf) {
    const ref = stage.refColumnOf;
    for (let j = 0; j < cols; j++) acc[accAt + j] += cur[j] - cur[ref[j]];
  } else {
    for (let j = 0; j < cols; j++) acc[accAt + j] += cur[j] - cur[cols + j];
  }
  return clipped;
}

function squareOf(scratch: TrialScratch, key: string, g: Float32Array, fresh: boolean): Float32Array {
  const known = scratch.squares.get(key);
  if (!fresh && known && known.length === g.length) return known;
  const sq = scratch.buffer(scratch.squares, key, g.length);
  for (let i = 0; i < g.length; i++) sq[i] = g[i] * g[i];
  return sq;
}
