/**
 * Dead ReLU units: channels of a ReLU layer that output 0 at every position for every image. A unit
 * dead on the training data gets no gradient and stays dead; too large a learning rate kills many
 * conv filters in the first epochs (docs/training.md). One pass over the images, layer by layer.
 */
import type { Layer, NetworkDescription } from './description';
import { type Activations, runLayers } from './forward';

export interface DeadUnitRow {
  /** Layer name from the description. */
  layer: string;
  /** Channels (conv) or units (dense) of the layer's output. */
  units: number;
  /** Units whose output is 0 everywhere on every image given. */
  dead: number;
  /** Their indices, ascending. */
  deadIndices: number[];
}

function endsInRelu(layer: Layer): boolean {
  return (
    (layer.kind === 'dense' || layer.kind === 'conv2d' || layer.kind === 'activation') &&
    layer.activation === 'relu'
  );
}

/** Per ReLU layer of `desc`, the units never active on the `x` images (already prepared inputs). */
export function deadUnits(desc: NetworkDescription, x: Activations): DeadUnitRow[] {
  // Per ReLU layer: whether each unit (last axis of the output) was ever above zero.
  const alive = new Map<number, Uint8Array>();
  runLayers(desc, x, 0, desc.layers.length, (i, out) => {
    if (!endsInRelu(desc.layers[i])) return;
    const units = out.shape[out.shape.length - 1];
    let seen = alive.get(i);
    if (!seen) alive.set(i, (seen = new Uint8Array(units)));
    const d = out.data;
    for (let p = 0; p < d.length; p += units) for (let u = 0; u < units; u++) if (d[p + u] > 0) seen[u] = 1;
  });
  return [...alive.entries()].map(([i, seen]) => {
    const deadIndices = [...seen.keys()].filter((u) => seen[u] === 0);
    return { layer: desc.layers[i].name, units: seen.length, dead: deadIndices.length, deadIndices };
  });
}
