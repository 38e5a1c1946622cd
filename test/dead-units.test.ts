import { deadUnits } from '../src/nn/deadUnits';
import { prepareInput } from '../src/nn/forward';
import type { Layer } from '../src/nn/description';
import { conv, dense, network } from './sim-fixtures';

/** 300 images of 3 values, all 0.5 except value 0 of image 299 (beyond the first 256-image chunk). */
function images(): Float32Array {
  const x = new Float32Array(300 * 3).fill(0.5);
  x[299 * 3] = 1;
  return x;
}

test('dense ReLU units: never positive is dead, positive on a single image is alive', () => {
  // prettier-ignore
  const w = Float32Array.from([
    // rows: inputs 0..2; columns: units 0..3
    -1, 1, 0, 1,
    -1, 1, 0, 0,
    -1, 1, 0, 0,
  ]);
  // Unit 0: -1.5 - 0.1 < 0; unit 1: 1.5 > 0; unit 2: exactly 0 (dead: never above zero);
  // unit 3: x0 - 0.75 > 0 on image 299 only.
  const hidden = dense('hidden', w, 3, 4, 'relu', Float32Array.from([-0.1, 0, 0, -0.75]));
  const out = dense('out', new Float32Array(8).fill(1), 4, 2, 'softmax');
  const desc = network('t', [3], [hidden, out]);
  expect(deadUnits(desc, prepareInput(desc, images(), 300))).toEqual([
    { layer: 'hidden', units: 4, dead: 2, deadIndices: [0, 2] },
  ]);
  // Without image 299, unit 3 is dead as well.
  expect(deadUnits(desc, prepareInput(desc, images(), 299))[0].deadIndices).toEqual([0, 2, 3]);
});

test('conv filters count over every position; a linear layer followed by a ReLU layer counts too', () => {
  // 3 x 3 single-channel images, 2 x 2 kernel, 3 filters, valid padding: 2 x 2 positions.
  const x = new Float32Array(4 * 9);
  x[3 * 9 + 8] = 1; // image 3, bottom-right pixel: only the bottom-right position of the last image sees it
  const k = new Float32Array(4 * 3);
  for (let p = 0; p < 4; p++) {
    k[p * 3] = -1; // filter 0: never positive
    k[p * 3 + 1] = 0; // filter 1: bias 0.2, always positive
  }
  k[3 * 3 + 2] = 1; // filter 2: weight on the kernel's bottom-right tap only
  const c = conv('conv', k, [2, 2, 1, 3], [1, 1], 'valid', Float32Array.from([0, 0.2, 0]));
  const lin = dense('lin', Float32Array.from([1, -1, 1, -1, 1, -1]), 3, 2, 'linear');
  const layers: Layer[] = [
    c,
    { kind: 'maxpool2d', name: 'pool', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { kind: 'flatten', name: 'flat' },
    lin,
    { kind: 'activation', name: 'relu', activation: 'relu' },
  ];
  const desc = network('t', [3, 3, 1], layers);
  const rows = deadUnits(desc, prepareInput(desc, x, 4));
  expect(rows).toEqual([
    { layer: 'conv', units: 3, dead: 1, deadIndices: [0] },
    // lin: column 0 = sum of the pooled filters (0.2 at least), column 1 = its negative.
    { layer: 'relu', units: 2, dead: 1, deadIndices: [1] },
  ]);
  expect(deadUnits(desc, prepareInput(desc, x, 3))[0].deadIndices).toEqual([0, 2]);
});
