/**
 * What the fast trial (trial.ts) and the reference trial (referenceTrial.ts) share: result and device
 * types, reusable buffers, and the DAC step that turns a stage's inputs into row-voltage fractions.
 * Browser-safe.
 */
import { type Activations, im2col, sizeOf } from '../nn/forward';
import { applyInputQuantizer } from '../nn/quantize';
import { ParasiticWorkspace } from '../crossbar/parasitics';
import type { RandomStream } from '../util/random';
import type { AnalogStage, SimPlan } from './plan';

/** What a trial needs from a device: a sampler per programmed level. */
export interface LevelSampler {
  gMeanSiemens: number;
  sample(rng: RandomStream, count: number, out: Float32Array, offset: number): void;
}

export interface DeviceSamplers {
  levels: LevelSampler[];
  faults: { stuckAtOn: number; stuckAtOff: number; stuckOn: LevelSampler; stuckOff: LevelSampler };
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
  /** Test images per chunk (default TRIAL_CHUNK_IMAGES); results do not depend on it. */
  chunkImages?: number;
}

/**
 * Test images per chunk of a trial. A trial programs its chip once, then runs the test set through it
 * chunk by chunk, so that its working memory does not grow with the test set: a convolution on tiles
 * unrolls every image into positions x patch inputs (10k test images through the third study's second
 * convolution would be 1.4 GB at once). Results do not depend on it: images are independent, and read
 * noise is drawn from one stream per stage in image order across chunks.
 */
export const TRIAL_CHUNK_IMAGES = 1024;

/**
 * Buffers reused across the trials a worker runs (no per-trial allocation on the hot path), the test
 * set's chunks as views of the plan's digital front, and the first analog stage's DAC input per chunk,
 * which is the same in every trial.
 */
export class TrialScratch {
  readonly conductances = new Map<string, Float32Array>();
  readonly squares = new Map<string, Float32Array>();
  /** Effective matrices M of tiles with parasitics (parasiticStage.ts) and the solver's buffers. */
  readonly effective = new Map<string, Float32Array>();
  readonly parasitic = new ParasiticWorkspace();
  sampleBuffer = new Float32Array(0);
  private chunksOf: { plan: SimPlan; chunkImages: number; chunks: Activations[] } | null = null;
  private firstInputs: {
    plan: SimPlan;
    stage: number;
    byInput: Map<Float32Array, { u: Float32Array; rows: number }>;
  } | null = null;
  /** The fast path's state (its WebAssembly kernel and memory); see trial.ts. */
  fast: unknown = null;
  /** Analog stage runs the exact SIMD stage took (exactStage.ts). */
  exactStages = 0;

  buffer(map: Map<string, Float32Array>, key: string, size: number): Float32Array {
    let b = map.get(key);
    if (!b || b.length !== size) {
      b = new Float32Array(size);
      map.set(key, b);
    }
    return b;
  }

  /** The plan's front (the first stage's input for the whole test set) in chunks of `chunkImages`. */
  frontChunks(plan: SimPlan, chunkImages = TRIAL_CHUNK_IMAGES): Activations[] {
    const known = this.chunksOf;
    if (known && known.plan === plan && known.chunkImages === chunkImages) return known.chunks;
    const { data, count, shape } = plan.front;
    const size = sizeOf(shape);
    const chunks: Activations[] = [];
    for (let n0 = 0; n0 < count; n0 += chunkImages) {
      const n = Math.min(chunkImages, count - n0);
      chunks.push({ data: data.subarray(n0 * size, (n0 + n) * size), count: n, shape });
    }
    this.chunksOf = { plan, chunkImages, chunks };
    return chunks;
  }

  /**
   * A stage's DAC input; for the plan's first analog stage, whose input is a chunk of the cached front
   * and the same in every trial, computed once per chunk.
   */
  stageInput(
    plan: SimPlan,
    stageIndex: number,
    stage: AnalogStage,
    x: Activations,
  ): { u: Float32Array; rows: number } {
    if (plan.stages.findIndex((st) => st.kind === 'analog') !== stageIndex) return dacInput(stage, x);
    if (!this.firstInputs || this.firstInputs.plan !== plan || this.firstInputs.stage !== stageIndex)
      this.firstInputs = { plan, stage: stageIndex, byInput: new Map() };
    let input = this.firstInputs.byInput.get(x.data);
    if (!input) this.firstInputs.byInput.set(x.data, (input = dacInput(stage, x)));
    return input;
  }
}

/**
 * Inputs as DAC fractions of vRead: u = V / vRead, one row per image (dense) or patch (conv). `into`,
 * when large enough, receives u (no allocation).
 */
export function dacInput(
  stage: AnalogStage,
  x: Activations,
  into?: Float32Array,
): { u: Float32Array; rows: number } {
  let input = quantizedStageInput(stage, x.data);
  let rows = x.count;
  let u: Float32Array;
  if (stage.conv) {
    // Patches go straight into u and the DAC below converts them in place: a conv layer's patches of
    // a whole test set are the largest array of a trial (10k images x 121 positions x 288 for the
    // third study's second convolution: 1.4 GB), so there is only one of them.
    const c = stage.conv;
    const positions = c.outShape[0] * c.outShape[1];
    const patch = stage.rows;
    const inSize = sizeOf(c.inShape);
    const size = x.count * positions * patch;
    u = into && into.length >= size ? into.subarray(0, size) : new Float32Array(size);
    for (let n = 0; n < x.count; n++)
      im2col(input, n * inSize, c.inShape, c.kh, c.kw, c.strides, c.padding, u, n * positions * patch);
    input = u;
    rows = x.count * positions;
  } else {
    u = into && into.length >= input.length ? into.subarray(0, input.length) : new Float32Array(input.length);
  }
  dacFractions(stage, input, u);
  return { u, rows };
}

/** The stage's input quantiser, if any, on a copy of `input`; else `input` itself. */
export function quantizedStageInput(stage: AnalogStage, input: Float32Array): Float32Array {
  if (!stage.inputQuantizer) return input;
  const q = Float32Array.from(input);
  applyInputQuantizer(stage.inputQuantizer, q);
  return q;
}

/**
 * u[i] = the DAC's fraction of vRead for input[i] (u may be input itself). Element by element, with
 * 0 -> 0 for every DAC kind, so it commutes with im2col's gathering and zero padding.
 */
export function dacFractions(stage: AnalogStage, input: Float32Array, u: Float32Array): void {
  const { kind, bits, xMax } = stage.dac;
  const steps = 2 ** bits - 1;
  // One loop per DAC kind (this runs over every input of a stage).
  if (kind === 'ideal') for (let i = 0; i < input.length; i++) u[i] = input[i] / xMax;
  else if (kind === 'binary') for (let i = 0; i < input.length; i++) u[i] = input[i] > 0 ? 1 : 0;
  else
    for (let i = 0; i < input.length; i++) {
      const x = input[i];
      if (x === 0) {
        u[i] = 0; // f = 0 (or -0): code 0
        continue;
      }
      const f = x / xMax;
      u[i] = Math.round((f <= 0 ? 0 : f >= 1 ? 1 : f) * steps) / steps;
    }
}

/**
 * Bit slicing's digital shift-and-add, in place: the accumulators of `rows` input rows (rows x cols,
 * float64, from `at`) become rows x outCols from `at`, out_j = sum_k 2^(k b) acc_(k outCols + j) with k
 * ascending. Every path calls it, so all combine alike. In place is safe: each output is written after
 * its own reads and below every later read. Unsliced stages (cols = outCols): nothing to do.
 */
export function shiftAdd(stage: AnalogStage, acc: Float64Array, at: number, rows: number): void {
  if (!stage.slicing) return;
  const { cols, outCols } = stage;
  const { slices, bitsPerCell } = stage.slicing;
  const radix = 2 ** bitsPerCell;
  for (let n = 0; n < rows; n++) {
    const a = at + n * cols;
    const o = at + n * outCols;
    for (let j = 0; j < outCols; j++) {
      let sum = 0;
      for (let k = 0, f = 1; k < slices; k++, f *= radix) sum += f * acc[a + k * outCols + j];
      acc[o + j] = sum;
    }
  }
}
