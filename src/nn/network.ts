/** Network-level operations on descriptions: weight quantisation, input-quantiser calibration. */
import { type Layer, type NetworkDescription, type WeightedLayer, isWeighted, tensor } from './description';
import { type Activations, prepareInput, quantizedInput, runLayer } from './forward';
import {
  type InputQuantizerSpec,
  type WeightQuantizerSpec,
  calibrateInputQuantizer,
  quantizeWeights,
} from './quantize';

export type LayerSelection = 'all' | 'dense';

function selects(which: LayerSelection, layer: Layer): layer is WeightedLayer {
  return isWeighted(layer) && (which === 'all' || layer.kind === 'dense');
}

/** A copy of the description with the selected layers' weights quantised (biases untouched). */
export function quantizeNetwork(
  desc: NetworkDescription,
  spec: WeightQuantizerSpec,
  which: LayerSelection = 'all',
): NetworkDescription {
  const layers = desc.layers.map((layer): Layer => {
    if (!selects(which, layer)) return layer;
    const { values, quantization } = quantizeWeights(layer.weights.data, spec);
    return { ...layer, weights: tensor(layer.weights.shape, values), weightQuantization: quantization };
  });
  return { ...desc, layers };
}

/**
 * A copy of the description with input quantisers on the selected layers, calibrated in order on a
 * sample of training images (each layer sees the quantised outputs of the layers before it).
 */
export function calibrateInputs(
  desc: NetworkDescription,
  images: Float32Array,
  count: number,
  spec: InputQuantizerSpec,
  which: LayerSelection = 'dense',
): NetworkDescription {
  const layers: Layer[] = [];
  let x: Activations = prepareInput(desc, images, count);
  for (const layer of desc.layers) {
    let next = layer;
    if (selects(which, layer)) {
      next = { ...layer, inputQuantizer: calibrateInputQuantizer(spec, x.data) };
    }
    layers.push(next);
    x = runLayer(next, x);
  }
  return { ...desc, layers };
}

/** Inputs seen by weighted layer `index` (after its input quantiser) on the given images. */
export function layerInputs(
  desc: NetworkDescription,
  index: number,
  images: Float32Array,
  count: number,
): Float32Array {
  let x = prepareInput(desc, images, count);
  for (let i = 0; i < index; i++) x = runLayer(desc.layers[i], x);
  const layer = desc.layers[index];
  return isWeighted(layer) ? quantizedInput(layer, x.data) : x.data;
}

/** Total synapse (weight) count: the crossbar cells a network needs before mapping. */
export function synapseCount(desc: NetworkDescription): number {
  return desc.layers.filter(isWeighted).reduce((n, l) => n + l.weights.data.length, 0);
}
