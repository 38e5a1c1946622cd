/**
 * Issue 3, "Done when": the lossless-bits table. crossbar-converters.test.ts checks the formula
 * z = ceil(log2 d) + w + l (- 1 when w or l is 1) itself; this file checks the per-layer table that
 * `xbarsim adc-bits` prints: d from the tile rows, w from the weight quantiser, l from the input
 * quantiser or the DAC.
 */
import type { InputQuantizer, NetworkDescription } from '../src/nn/description';
import { quantizeNetwork } from '../src/nn/network';
import { losslessBitsTable } from '../src/sim/adcBits';
import { streamFor } from '../src/util/random';
import { circuit, conv, dense, network } from './sim-fixtures';

function normalWeights(size: number, seed: number): Float32Array {
  const rng = streamFor(seed, 'w');
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** dense rows -> 10, optionally with an input quantiser on it. */
function oneLayer(rows: number, inputQuantizer?: InputQuantizer): NetworkDescription {
  const layer = dense('d', normalWeights(rows * 10, rows), rows, 10, 'linear');
  if (inputQuantizer) layer.inputQuantizer = inputQuantizer;
  return network('one', [rows], [layer]);
}

describe('lossless ADC bits per layer', () => {
  test('d = 128, 1-bit (binary) weights and 1-bit inputs (binary DAC): 8', () => {
    const desc = quantizeNetwork(oneLayer(128), { kind: 'binary' });
    const rows = losslessBitsTable(desc, circuit({ dac: 'binary' }));
    expect(rows).toEqual([{ layer: 'd', rows: 128, d: 128, weightBits: 1, inputBits: 1, losslessBits: 8 }]);
  });

  test('d = 128, ternary (2-bit) weights and 3-bit inputs (3-bit DAC): 12', () => {
    const desc = quantizeNetwork(oneLayer(128), { kind: 'ternary' });
    expect(losslessBitsTable(desc, circuit({ dac: { bits: 3 } }))[0]).toMatchObject({
      d: 128,
      weightBits: 2,
      inputBits: 3,
      losslessBits: 12,
    });
  });

  test('d = 128, 3-bit weights (uniform:3) and 3-bit inputs (input quantiser uniform:3, ideal DAC): 13', () => {
    const desc = quantizeNetwork(oneLayer(128, { kind: 'uniform', bits: 3, max: 1 }), {
      kind: 'uniform',
      bits: 3,
    });
    expect(losslessBitsTable(desc, circuit({ dac: 'ideal' }))[0]).toMatchObject({
      d: 128,
      weightBits: 3,
      inputBits: 3,
      losslessBits: 13,
    });
  });

  test('bit sliced, a column holds one signed digit of bitsPerCell bits: 2 x 3 bits, 3-bit DAC, d = 128: 7 + 4 + 3', () => {
    const sliced = circuit({ dac: { bits: 3 }, weightSlices: 2, bitsPerCell: 3 });
    expect(losslessBitsTable(oneLayer(128), sliced)[0]).toMatchObject({ weightBits: 4, losslessBits: 14 });
  });

  test('binarised pixels: the first layer sees 1-bit inputs even behind an 8-bit DAC, later layers 8 bits', () => {
    const first = dense('d1', normalWeights(128 * 16, 3), 128, 16, 'relu');
    const second = dense('d2', normalWeights(16 * 10, 4), 16, 10, 'linear');
    const desc = quantizeNetwork(network('two', [128], [first, second]), { kind: 'uniform', bits: 4 });
    desc.input = { binarizeThreshold: 0.1 };
    const rows = losslessBitsTable(desc, circuit({ dac: { bits: 8 } }));
    // d1: 7 + 4 + 1 - 1 = 11; d2: d = 16 rows, 4 + 4 + 8 = 16.
    expect(rows.map((r) => [r.inputBits, r.losslessBits])).toEqual([
      [1, 11],
      [8, 16],
    ]);
  });

  test('d is the rows one tile column sums: min(fan-in, tile rows)', () => {
    const desc = quantizeNetwork(oneLayer(784), { kind: 'binary' });
    expect(losslessBitsTable(desc, circuit({ dac: 'binary' }))[0]).toMatchObject({
      rows: 784,
      d: 128,
      losslessBits: 8,
    });
    // 784 rows on 1024-row tiles: d = 784, ceil(log2 784) = 10, + 1 + 1 - 1 = 11.
    expect(
      losslessBitsTable(desc, circuit({ dac: 'binary', tile: { rows: 1024, cols: 128 } }))[0],
    ).toMatchObject({ d: 784, losslessBits: 11 });
    // A 100-row layer: ceil(log2 100) = 7, so 7 + 1 + 4 - 1 = 11 with 4-bit inputs.
    const small = quantizeNetwork(oneLayer(100), { kind: 'binary' });
    expect(losslessBitsTable(small, circuit({ dac: { bits: 4 } }))[0]).toMatchObject({
      d: 100,
      losslessBits: 11,
    });
  });

  test('input bits: the coarser of the input quantiser and the DAC; a threshold quantiser is 1 bit; ideal DAC alone: none', () => {
    const threshold: InputQuantizer = { kind: 'threshold', threshold: 0.5, high: 1 };
    const desc = quantizeNetwork(oneLayer(128, threshold), { kind: 'uniform', bits: 4 });
    // w = 4, l = 1: 7 + 4 + 1 - 1 = 11, whatever the DAC.
    expect(losslessBitsTable(desc, circuit({ dac: { bits: 8 } }))[0]).toMatchObject({
      weightBits: 4,
      inputBits: 1,
      losslessBits: 11,
    });
    const eightBit = quantizeNetwork(oneLayer(128, { kind: 'uniform', bits: 8, max: 1 }), {
      kind: 'uniform',
      bits: 4,
    });
    expect(losslessBitsTable(eightBit, circuit({ dac: 'ideal' }))[0]).toMatchObject({
      inputBits: 8,
      losslessBits: 7 + 4 + 8,
    });
    expect(losslessBitsTable(eightBit, circuit({ dac: { bits: 4 } }))[0]).toMatchObject({
      inputBits: 4,
      losslessBits: 7 + 4 + 4,
    });
    expect(losslessBitsTable(eightBit, circuit({ dac: 'binary' }))[0]).toMatchObject({
      inputBits: 1,
      losslessBits: 7 + 4 + 1 - 1,
    });
    const plain = quantizeNetwork(oneLayer(128), { kind: 'uniform', bits: 4 });
    expect(losslessBitsTable(plain, circuit({ dac: 'ideal' }))[0]).toMatchObject({
      inputBits: null,
      losslessBits: null,
    });
  });

  test('weights without a quantiser: bits from the count of distinct values (quantile:4 -> 2 bits)', () => {
    const desc = quantizeNetwork(oneLayer(128), { kind: 'quantile', levels: 4 });
    expect(losslessBitsTable(desc, circuit({ dac: { bits: 2 } }))[0]).toMatchObject({
      weightBits: 2,
      losslessBits: 11,
    });
    const float = oneLayer(128); // 1280 distinct values: 11 bits
    expect(losslessBitsTable(float, circuit({ dac: { bits: 2 } }))[0]).toMatchObject({
      weightBits: 11,
      losslessBits: 7 + 11 + 2,
    });
  });

  test('conv layers appear only with analogLayers "all", with d = kh kw cin', () => {
    const desc = quantizeNetwork(
      network(
        'cnn',
        [28, 28, 1],
        [
          conv('c', normalWeights(3 * 3 * 1 * 4, 1), [3, 3, 1, 4], [1, 1], 'valid'),
          { kind: 'flatten', name: 'f' },
          dense('d', normalWeights(26 * 26 * 4 * 10, 2), 26 * 26 * 4, 10, 'linear'),
        ],
      ),
      { kind: 'binary' },
    );
    expect(
      losslessBitsTable(desc, circuit({ dac: 'binary', analogLayers: 'dense' })).map((r) => r.layer),
    ).toEqual(['d']);
    const all = losslessBitsTable(desc, circuit({ dac: 'binary', analogLayers: 'all' }));
    // c: d = 9, ceil(log2 9) = 4, + 1 + 1 - 1 = 5.
    expect(all.map((r) => [r.layer, r.d, r.losslessBits])).toEqual([
      ['c', 9, 5],
      ['d', 128, 8],
    ]);
  });
});
