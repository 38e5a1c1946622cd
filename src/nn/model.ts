/** Build a TF.js layers model from an architecture spec, with seeded initialisers. */
import * as tf from '@tensorflow/tfjs';
import type { ArchSpec } from './arch';
import { featureCount } from './arch';

export function buildModel(spec: ArchSpec, seed: number, classes = 10): tf.Sequential {
  featureCount(spec); // rejects stacks that do not fit the image
  const model = tf.sequential({ name: spec.family });
  let layerSeed = seed * 1000;
  const init = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const isCnn = spec.convBlocks.length > 0;
  model.add(tf.layers.inputLayer({ inputShape: isCnn ? [28, 28, 1] : [784] }));
  for (const b of spec.convBlocks) {
    model.add(
      tf.layers.conv2d({
        filters: b.filters,
        kernelSize: b.kernel,
        activation: spec.batchNorm ? 'linear' : spec.convActivation,
        kernelInitializer: init(),
      }),
    );
    if (spec.batchNorm) {
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.activation({ activation: spec.convActivation }));
    }
    model.add(tf.layers.maxPooling2d({ poolSize: b.pool, strides: b.pool }));
  }
  if (isCnn) model.add(tf.layers.flatten());
  for (const units of spec.hidden) {
    model.add(
      tf.layers.dense({
        units,
        activation: spec.batchNorm ? 'linear' : spec.hiddenActivation,
        kernelInitializer: init(),
      }),
    );
    if (spec.batchNorm) {
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.activation({ activation: spec.hiddenActivation }));
    }
  }
  model.add(tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init() }));
  return model;
}
