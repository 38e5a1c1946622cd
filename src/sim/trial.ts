/**
 * One Monte-Carlo trial: program a fresh chip (draw every cell's conductance, draw faults), then run
 * the test set through it. Trial t's random stream depends only on (seed, t). Browser-safe.
 */
import { type Activations, addBiasAndActivate, argmaxRows, accuracyOf, im2col, runLayer, sizeOf } from '../nn/forward';
import { applyInputQuantizer } from '../nn/quantize';
import { RandomStream, streamFor } from '../util/random';
import type { AnalogStage, SimPlan } from './plan';

/** What a trial needs from a device: a sampler per programmed level. */
export interface LevelSampler {
  gMeanSiemens: number;
  sample(rng: RandomStream, count: number, out: Float32Array, offset: number): void;
}

export interface DeviceSamplers {
  levels: LevelSampler[];
  faults: { stuckAtOn: number; stuckAtOff: number };
  readNoiseRelSigma: number;
}

export interface TrialResult {
  trial: number;
  accuracy: number;
  /** Per analog stage: share of ADC conversions whose current exceeded full scale. */
  clipRate: number[];
}

export interface TrialOptions {
  /** Program every cell at its level's mean and draw no faults or read noise (the nominal chip). */
  nominal?: boolean;
}

/**
 * Buffers reused across the trials a worker runs (no per-trial allocation on the hot path), and the
 * first analog stage's DAC input, which is the same in every trial.
 */
export class TrialScratch {
  readonly conductances = new Map<string, Float32Array>();
  readonly squares = new Map<string, Float32Array>();
  sampleBuffer = new Float32Array(0);
  firstInput: { stage: number; u: Float32Array; rows: number } | null = null;

  buffer(map: Map<string, Float32Array>, key: string, size: number): Float32Array {
    let b = map.get(key);
    if (!b || b.length !== size) {
      b = new Float32Array(size);
      map.set(key, b);
    }
    return b;
  }
}

export function runTrial(
  plan: SimPlan,
  device: DeviceSamplers,
  trial: number,
  scratch = new TrialScratch(),
  opts: TrialOptions = {},
): TrialResult {
  const rng = streamFor(plan.seed, 'trial', trial);
  let x: Activations = plan.front;
  const clipRate: number[] = [];
  plan.stages.forEach((stage, s) => {
    if (stage.kind === 'digital') {
      x = runLayer(stage.layer, x);
      return;
    }
    const g = programStage(plan, device, stage, rng.child('program', s), scratch, opts);
    const noise = !opts.nominal && device.readNoiseRelSigma > 0 ? rng.child('read', s) : null;
    const r = analogForward(plan, stage, s, g, x, scratch, noise ? { rng: noise, rel: device.readNoiseRelSigma } : null);
    x = r.out;
    clipRate.push(r.clipRate);
  });
  const predicted = argmaxRows(x.data, sizeOf(x.shape));
  return { trial, accuracy: accuracyOf(predicted, plan.labels), clipRate };
}

/** Draw the conductance of every used cell of a stage's row tiles (siemens). */
function programStage(
  plan: SimPlan,
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
    const { stuckAtOn, stuckAtOff } = device.faults;
    if (!opts.nominal && stuckAtOn + stuckAtOff > 0) {
      const faultRng = tileRng.child('faults');
      for (const cells of tile.cellsByLevel) {
        for (let i = 0; i < cells.length; i++) {
          const u = faultRng.uniform();
          if (u < stuckAtOn) g[cells[i]] = plan.gMaxSiemens;
          else if (u < stuckAtOn + stuckAtOff) g[cells[i]] = plan.gOffSiemens;
        }
      }
    }
    return g;
  });
}

/** Inputs as DAC fractions of vRead: u = V / vRead, one row per image (dense) or patch (conv). */
export function dacInput(stage: AnalogStage, x: Activations): { u: Float32Array; rows: number } {
  let input = x.data;
  if (stage.inputQuantizer) {
    input = Float32Array.from(input);
    applyInputQuantizer(stage.inputQuantizer, input);
  }
  let rows = x.count;
  if (stage.conv) {
    const c = stage.conv;
    const positions = c.outShape[0] * c.outShape[1];
    const patch = stage.rows;
    const inSize = sizeOf(c.inShape);
    const cols = new Float32Array(x.count * positions * patch);
    for (let n = 0; n < x.count; n++)
      im2col(input, n * inSize, c.inShape, c.kh, c.kw, c.strides, c.padding, cols, n * positions * patch);
    input = cols;
    rows = x.count * positions;
  }
  const u = new Float32Array(input.length);
  const { kind, bits, xMax } = stage.dac;
  const steps = 2 ** bits - 1;
  for (let i = 0; i < input.length; i++) {
    const f = input[i] / xMax;
    if (kind === 'ideal') u[i] = f;
    else if (kind === 'binary') u[i] = input[i] > 0 ? 1 : 0;
    else u[i] = Math.round((f <= 0 ? 0 : f >= 1 ? 1 : f) * steps) / steps;
  }
  return { u, rows };
}

/**
 * Column currents of every row tile for every input row, each converted by the ADC at once (fused, so
 * no full current matrix is stored), then combined digitally: partial sums over row tiles, G+ minus
 * G- (or minus the reference column), scaled back to weights; then bias and activation.
 */
function analogForward(
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  g: Float32Array[],
  x: Activations,
  scratch: TrialScratch,
  readNoise: { rng: RandomStream; rel: number } | null,
): { out: Activations; clipRate: number } {
  let input = scratch.firstInput?.stage === stageIndex ? scratch.firstInput : null;
  if (!input) {
    input = { stage: stageIndex, ...dacInput(stage, x) };
    // The first stage reads the cached front, the same every trial: keep its DAC input.
    if (plan.stages.findIndex((st) => st.kind === 'analog') === stageIndex) scratch.firstInput = input;
  }
  const { u, rows: inputRows } = input;
  const { cols, physCols, rows: fanIn, weightPerSiemens } = stage;
  const vRead = plan.vReadVolts;
  const out = new Float32Array(inputRows * cols);
  const cur = new Float64Array(physCols);
  const varCur = readNoise ? new Float64Array(physCols) : null;
  const squares = readNoise ? g.map((gt, r) => squareOf(scratch, `${stage.layerIndex}/${r}`, gt)) : null;
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
      if (stage.refExactSiemens !== null) for (let p = cols; p < physCols; p++) cur[p] = sumU * stage.refExactSiemens;
      // Currents in amperes through the ADC.
      const iFull = tile.iFullAmps;
      for (let p = 0; p < physCols; p++) {
        let i = cur[p] * vRead;
        if (varCur) i += readNoise!.rel * vRead * Math.sqrt(varCur[p]) * readNoise!.rng.normal();
        if (adcSteps) {
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
        for (let j = 0; j < cols; j++) acc[j] += cur[j] - cur[ref[j]];
      } else {
        for (let j = 0; j < cols; j++) acc[j] += cur[j] - cur[cols + j];
      }
    }
    // sum_i w_ij x_i = a (I+ - I-) xMax / vRead, since V_i = x_i / xMax * vRead.
    const scale = (weightPerSiemens * stage.dac.xMax) / vRead;
    for (let j = 0; j < cols; j++) out[n * cols + j] = acc[j] * scale;
  }
  addBiasAndActivate(out, stage.bias, stage.activation, cols);
  const conversions = inputRows * physCols * stage.rowTiles.length;
  const shape = stage.conv ? stage.conv.outShape : [cols];
  return { out: { data: out, count: x.count, shape }, clipRate: adcSteps ? clipped / conversions : 0 };
}

function squareOf(scratch: TrialScratch, key: string, g: Float32Array): Float32Array {
  const sq = scratch.buffer(scratch.squares, key, g.length);
  for (let i = 0; i < g.length; i++) sq[i] = g[i] * g[i];
  return sq;
}
