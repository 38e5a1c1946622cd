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
      rows.push({
        label: `weights ${wLabel}, inputs ${iLabel}`,
        weights: wLabel,
        inputs: iLabel,
        accuracy: acc(d),
      });
    }
  }
  return rows;
}
