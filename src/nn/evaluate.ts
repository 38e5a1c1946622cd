/** Digital accuracy of a description, float and under each weight / input quantiser. */
import type { Dataset } from '../data';
import type { NetworkDescription } from './description';
import { accuracyOf, classify } from './forward';
import { calibrateInputs, type LayerSelection, quantizeNetwork } from './network';
import {
  type InputQuantizerSpec,
  type WeightQuantizerSpec,
  inputQuantizerLabel,
  weightQuantizerLabel,
} from './quantize';

export interface EvaluationRow {
  label: string;
  weights: string;
  inputs: string;
  accuracy: number;
  /** Exponential-fit input quantisers: the fit of each quantised layer's inputs. */
  fits?: ExpFitReport[];
}

export interface ExpFitReport {
  layer: string;
  rule: 'mean' | 'q3';
  x0: number;
  beta: number;
  threshold: number;
  /** Value a 1 stands for after the threshold (mean of the inputs at or above it). */
  high: number;
}

/** The exponential fits a calibrated description holds, layer by layer. */
export function expFits(desc: NetworkDescription): ExpFitReport[] {
  const out: ExpFitReport[] = [];
  for (const l of desc.layers) {
    const q = 'inputQuantizer' in l ? l.inputQuantizer : undefined;
    if (q?.kind === 'threshold' && q.fit)
      out.push({
        layer: l.name,
        rule: q.fit.rule,
        x0: q.fit.x0,
        beta: q.fit.beta,
        threshold: q.threshold,
        high: q.high,
      });
  }
  return out;
}

export interface EvaluationPlan {
  weightQuantizers: WeightQuantizerSpec[];
  weightLayers: LayerSelection;
  inputQuantizers: InputQuantizerSpec[];
  inputLayers: LayerSelection;
  calibrationImages: number;
}

/** Float first, then each weight quantiser, each input quantiser, and each combination of the two. */
export function evaluateQuantizers(
  desc: NetworkDescription,
  data: Dataset,
  plan: EvaluationPlan,
): EvaluationRow[] {
  const test = data.test;
  const calCount = Math.min(plan.calibrationImages, data.train.count);
  const calImages = data.train.images.subarray(0, calCount * 784);
  const acc = (d: NetworkDescription) => accuracyOf(classify(d, test.images, test.count), test.labels);
  const weights: Array<[string, NetworkDescription]> = [
    ['float', desc],
    ...plan.weightQuantizers.map((q): [string, NetworkDescription] => [
      weightQuantizerLabel(q),
      quantizeNetwork(desc, q, plan.weightLayers),
    ]),
  ];
  const rows: EvaluationRow[] = [];
  for (const [wLabel, wDesc] of weights) {
    rows.push({ label: `weights ${wLabel}`, weights: wLabel, inputs: 'float', accuracy: acc(wDesc) });
    for (const iq of plan.inputQuantizers) {
      const iLabel = inputQuantizerLabel(iq);
      const d = calibrateInputs(wDesc, calImages, calCount, iq, plan.inputLayers);
      const fits = expFits(d);
      rows.push({
        label: `weights ${wLabel}, inputs ${iLabel}`,
        weights: wLabel,
        inputs: iLabel,
        accuracy: acc(d),
        ...(fits.length ? { fits } : {}),
      });
    }
  }
  return rows;
}
