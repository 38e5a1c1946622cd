/** Export a trained TF.js layers model to a plain network description. */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors';
import {
  type Activation,
  ACTIVATIONS,
  DESCRIPTION_FORMAT,
  DESCRIPTION_VERSION,
  type Layer,
  type NetworkDescription,
  type WeightQuantization,
  layerOutputShapes,
  tensor,
} from './description';

function weightTensor(v: tf.LayerVariable) {
  const t = v.read();
  return tensor(t.shape as number[], Float32Array.from(t.dataSync() as Float32Array));
}

function activationOf(name: unknown, layer: string): Activation {
  const a = String(name ?? 'linear').toLowerCase() as Activation;
  if (!ACTIVATIONS.includes(a))
    throw new InputError(
      `layer ${layer}: activation "${a}" is not supported (allowed: ${ACTIVATIONS.join(', ')})`,
    );
  return a;
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

export function exportDescription(
  model: tf.LayersModel,
  opts: {
    name: string;
    binarizeThreshold?: number;
    meta?: Record<string, unknown>;
    weightQuantization?: (layerName: string) => WeightQuantization;
  },
): NetworkDescription {
  const layers: Layer[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const w = layer.weights as tf.LayerVariable[];
    const name = layer.name;
    const weightQuantization = opts.weightQuantization?.(name) ?? { kind: 'float' as const };
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        break; // identity at inference
      case 'Dense':
        layers.push({
          kind: 'dense',
          name,
          weights: weightTensor(w[0]),
          bias: cfg.useBias === false ? null : weightTensor(w[1]),
          activation: activationOf(cfg.activation, name),
          weightQuantization,
        });
        break;
      case 'Conv2D':
        if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast')
          throw new InputError(`layer ${name}: only channelsLast convolutions are supported`);
        if (pair(cfg.dilationRate ?? 1).some((d) => d !== 1))
          throw new InputError(`layer ${name}: dilated convolutions are not supported`);
        layers.push({
          kind: 'conv2d',
          name,
          weights: weightTensor(w[0]),
          bias: cfg.useBias === false ? null : weightTensor(w[1]),
          strides: pair(cfg.strides ?? 1),
          padding: cfg.padding === 'same' ? 'same' : 'valid',
          activation: activationOf(cfg.activation, name),
          weightQuantization,
        });
        break;
      case 'MaxPooling2D':
        layers.push({
          kind: 'maxpool2d',
          name,
          poolSize: pair(cfg.poolSize),
          strides: pair(cfg.strides ?? cfg.poolSize),
          padding: cfg.padding === 'same' ? 'same' : 'valid',
        });
        break;
      case 'Flatten':
        layers.push({ kind: 'flatten', name });
        break;
      case 'Activation':
        layers.push({ kind: 'activation', name, activation: activationOf(cfg.activation, name) });
        break;
      case 'BatchNormalization': {
        // Weight order in TF.js: gamma (if scale), beta (if center), moving mean, moving variance.
        const byName = (suffix: string) => w.find((v) => v.originalName.endsWith(suffix));
        const mean = weightTensor(byName('moving_mean')!);
        const c = mean.data.length;
        const gamma = byName('gamma');
        const beta = byName('beta');
        layers.push({
          kind: 'batchnorm',
          name,
          gamma: gamma ? weightTensor(gamma) : tensor([c], new Float32Array(c).fill(1)),
          beta: beta ? weightTensor(beta) : tensor([c], new Float32Array(c)),
          movingMean: mean,
          movingVariance: weightTensor(byName('moving_variance')!),
          epsilon: Number(cfg.epsilon ?? 1e-3),
        });
        break;
      }
      default:
        throw new InputError(
          `layer ${name}: layer type ${cls} is not supported (allowed: Dense, Conv2D, MaxPooling2D, Flatten, Activation, BatchNormalization, Dropout)`,
        );
    }
  }
  const desc: NetworkDescription = {
    format: DESCRIPTION_FORMAT,
    version: DESCRIPTION_VERSION,
    name: opts.name,
    inputShape: (model.inputs[0].shape as number[]).slice(1),
    input: opts.binarizeThreshold === undefined ? {} : { binarizeThreshold: opts.binarizeThreshold },
    layers,
    meta: opts.meta ?? {},
  };
  layerOutputShapes(desc);
  return desc;
}
