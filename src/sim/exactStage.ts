/**
 * The exact SIMD stage: the reference's arithmetic (referenceTrial.ts) with its column sums taken by the
 * WebAssembly SIMD kernel of util/matmul.ts in float64, rows in order, which gives the reference's sums
 * bit for bit. It serves the stages the fast path (fastStage.ts) does not cover, except read noise (whose
 * draws follow the reference's per-row order): an ideal ADC (the dense-resolution study's reference
 * setting; tile128-ideal), and the rare stages whose inputs or conductances the fast path's error bound
 * does not hold for. The ADC and the digital combination are the reference's own (convertTile);
 * tiles run one after the other over all input rows, which changes no sum, since each accumulator still
 * adds its tiles in order. Browser-safe.
 */
import { type Activations, addBiasAndActivate } from '../nn/forward';
import { sumRowsFloat64 } from '../util/matmul';
import type { AnalogStage, SimPlan } from './plan';
import { convertTile, type StageOutput } from './referenceTrial';
import { shiftAdd, type TrialScratch } from './trialCommon';

/** Input rows per pass over the tiles: bounds the float64 column sums held at once. */
const ROW_BLOCK = 2048;

/** A stage's outputs, as referenceAnalogForward without read noise gives them; null without SIMD. */
export function exactAnalogForward(
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  g: Float32Array[],
  x: Activations,
  scratch: TrialScratch,
): StageOutput | null {
  const { u, rows: inputRows } = scratch.stageInput(plan, stageIndex, stage, x);
  const { cols, physCols, rows: fanIn, weightPerSiemens } = stage;
  const vRead = plan.vReadVolts;
  const adcSteps = stage.adcBits === null ? 0 : 2 ** stage.adcBits - 1;
  const acc = new Float64Array(inputRows * cols);
  const blockRows = Math.min(inputRows, ROW_BLOCK);
  const sums = new Float64Array(blockRows * physCols);
  let clipped = 0;
  for (let n0 = 0; n0 < inputRows; n0 += blockRows) {
    const rows = Math.min(blockRows, inputRows - n0);
    for (let r = 0; r < stage.rowTiles.length; r++) {
      const tile = stage.rowTiles[r];
      const tileRows = tile.rowEnd - tile.rowStart;
      const uAt = n0 * fanIn + tile.rowStart;
      if (!sumRowsFloat64(u, uAt, fanIn, g[r], rows, tileRows, physCols, sums)) return null;
      for (let n = 0; n < rows; n++) {
        let sumU = 0;
        const i0 = uAt + n * fanIn;
        for (let i = i0; i < i0 + tileRows; i++) if (u[i] !== 0) sumU += u[i];
        const cur = sums.subarray(n * physCols, (n + 1) * physCols);
        clipped += convertTile(stage, tile, cur, sumU, vRead, adcSteps, acc, (n0 + n) * cols, null, null);
      }
    }
  }
  scratch.exactStages++;
  const { outCols } = stage;
  const out = new Float32Array(inputRows * outCols);
  // sum_i w_ij x_i = a (I+ - I-) xMax / vRead, since V_i = x_i / xMax * vRead.
  const scale = (weightPerSiemens * stage.dac.xMax) / vRead;
  shiftAdd(stage, acc, 0, inputRows);
  for (let k = 0; k < out.length; k++) out[k] = acc[k] * scale;
  addBiasAndActivate(out, stage.bias, stage.activation, outCols);
  const conversions = inputRows * physCols * stage.rowTiles.length;
  const shape = stage.conv ? stage.conv.outShape : [outCols];
  return { out: { data: out, count: x.count, shape }, clipped: adcSteps ? clipped : 0, conversions };
}
