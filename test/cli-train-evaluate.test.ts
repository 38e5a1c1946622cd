/**
 * `xbarsim train` and `xbarsim evaluate` end to end, in process (main() is what the binary runs), on a
 * tiny MNIST subset: output files, the --json report checked against independent computations, and
 * the one-line errors with exit code 2 and nothing left in --out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../src/cli/main';
import { loadDataset } from '../src/data';
import { loadModel } from '../src/nn/modelIo';
import { loadNetwork } from '../src/nn/load';

const KERAS_FIXTURE = path.join(__dirname, 'fixtures', 'keras-mlp');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in process, capturing what it writes. */
async function xbarsim(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let root: string;
let modelDir: string;
let trained: Run;
beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cli-'));
  modelDir = path.join(root, 'models', 'mlp16');
  trained = await xbarsim(
    'train',
    '--dataset',
    'mnist',
    '--arch',
    'mlp:16x1',
    '--limit',
    '2000',
    '--test-limit',
    '300',
    '--epochs',
    '1',
    '--seed',
    '3',
    '--out',
    modelDir,
  );
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Accuracy of a TF.js model on the first `n` MNIST test images, binarised at `threshold`. */
function tfAccuracy(model: tf.LayersModel, n: number, threshold: number): number {
  const test = loadDataset('mnist', { limit: 1, testLimit: n }).test;
  const x = tf.tensor2d(
    test.images.map((v) => (v < threshold ? 0 : 1)),
    [n, 784],
  );
  const predicted = Array.from((model.predict(x) as tf.Tensor).argMax(-1).dataSync());
  return predicted.reduce((hits, p, i) => hits + (p === test.labels[i] ? 1 : 0), 0) / n;
}

/** quantile:N written out for weights whose N equal chunks of the sorted order split no tie. */
function quantileReference(w: Float32Array, levels: number): Float32Array {
  const order = Array.from(w.keys()).sort((a, b) => w[a] - w[b]);
  const size = w.length / levels;
  expect(Number.isInteger(size)).toBe(true);
  const out = new Float32Array(w.length);
  for (let b = 0; b < levels; b++) {
    const members = order.slice(b * size, (b + 1) * size);
    if (b > 0) expect(w[order[b * size - 1]]).not.toBe(w[members[0]]);
    const mean = members.reduce((s, i) => s + w[i], 0) / size;
    for (const i of members) out[i] = mean;
  }
  return out;
}

/** uniform:B written out: 2^B - 1 levels, step max|w| / (2^(B-1) - 1), magnitudes rounded half up. */
function uniformReference(w: Float32Array, bits: number): Float32Array {
  const max = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const step = max / (2 ** (bits - 1) - 1);
  return w.map((v) => Math.sign(v) * Math.floor(Math.abs(v) / step + 0.5) * step);
}

/** The model with every dense kernel replaced by `quantize(kernel)` (biases kept). */
async function withQuantizedKernels(dir: string, quantize: (w: Float32Array) => Float32Array) {
  const model = await loadModel(dir);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dense') continue;
    const [kernel, bias] = layer.getWeights();
    layer.setWeights([tf.tensor(quantize(kernel.dataSync() as Float32Array), kernel.shape), bias]);
  }
  return model;
}

describe('train', () => {
  test('writes the model directory as a whole and reports test accuracy', () => {
    expect(trained.stderr).toMatch(
      /^epoch 1\/1: loss [\d.]+, train [\d.]+ %, validation [\d.]+ %, [\d.]+ s\n$/,
    );
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(
      new RegExp(
        `^mlp:16x1 on mnist: test accuracy [\\d.]+ % \\([\\d.]+ s/epoch, backend \\w+\\); saved to ${modelDir}\\n$`,
      ),
    );
    expect(fs.readdirSync(modelDir).sort()).toEqual([
      'model.json',
      'network.json',
      'training.json',
      'weights.bin',
    ]);
    expect(fs.readdirSync(path.dirname(modelDir))).toEqual(['mlp16']);
    const record = JSON.parse(fs.readFileSync(path.join(modelDir, 'training.json'), 'utf8'));
    expect(record.train).toMatchObject({
      epochs: 1,
      lr: 0.1,
      momentum: 0.9,
      batchSize: 32,
      binarize: 0.1,
      seed: 3,
    });
    expect(record.history).toHaveLength(1);
  });

  test('the reported test accuracy is the saved model on the test subset', async () => {
    const reported = Number(/test accuracy ([\d.]+) %/.exec(trained.stdout)![1]) / 100;
    expect(tfAccuracy(await loadModel(modelDir), 300, 0.1)).toBeCloseTo(reported, 4);
  });
});

describe('train --weights binary|ternary (straight-through estimator)', () => {
  test.each([
    ['binary', 'dense', 2],
    ['ternary', 'dense', 3],
    ['binary', 'all', 2],
  ] as const)('%s on %s layers: every such kernel holds exactly %d values', async (kind, which, n) => {
    const dir = path.join(root, 'models', `ste-${kind}-${which}`);
    const arch = which === 'all' ? 'cnn:c4p4:h16' : 'mlp:32x2';
    const run = await xbarsim(
      'train',
      ...['--dataset', 'mnist', '--arch', arch, '--limit', '600', '--test-limit', '100'],
      ...['--epochs', '1', '--weights', kind, '--weight-layers', which, '--out', dir],
    );
    expect(run.code).toBe(0);
    const network = await loadNetwork(dir);
    // mlp:32x2: three dense layers; cnn:c4p4:h16: one conv and two dense layers.
    const weighted = network.layers.flatMap((l) =>
      l.kind === 'dense' || (which === 'all' && l.kind === 'conv2d') ? [l] : [],
    );
    expect(weighted).toHaveLength(3);
    for (const layer of weighted) {
      const values = [...new Set(layer.weights.data)].sort((a, b) => a - b);
      const q = layer.weightQuantization;
      expect(q?.kind).toBe(kind);
      expect(values).toHaveLength(n);
      // Symmetric around 0 with magnitude alpha: {-a, a} or {-a, 0, a}.
      const alpha = Math.fround((q as { alpha: number }).alpha);
      expect(values[0]).toBe(-alpha);
      expect(values[n - 1]).toBe(alpha);
      if (n === 3) expect(values[1]).toBe(0);
    }
  });
});

test('evaluate reports the exponential fit behind each expfit threshold', async () => {
  const run = await xbarsim(
    ...['evaluate', '--model', modelDir, '--dataset', 'mnist', '--test-limit', '200'],
    ...['--input', 'expfit:mean,expfit:q3', '--input-layers', 'all', '--json'],
  );
  expect(run.code).toBe(0);
  const rows = JSON.parse(run.stdout).results as Array<{
    inputs: string;
    fits?: Array<{ layer: string; rule: string; x0: number; beta: number; threshold: number }>;
  }>;
  for (const [input, rule, quantile] of [
    ['expfit:mean', 'mean', 1],
    ['expfit:q3', 'q3', Math.log(4)],
  ] as const) {
    const fits = rows.find((r) => r.inputs === input)!.fits!;
    // The hidden layer's inputs are ReLU outputs: a real fit, threshold at x0 + beta * (1 or ln 4).
    const hidden = fits.find((f) => f.layer === 'dense_Dense2')!;
    expect(hidden.rule).toBe(rule);
    expect(hidden.beta).toBeGreaterThan(0);
    expect(hidden.threshold).toBeCloseTo(hidden.x0 + quantile * hidden.beta, 5);
  }
  expect(rows.find((r) => r.inputs === 'float')!.fits).toBeUndefined();
});

test('evaluate --dead-units counts the hidden units TF.js finds never active', async () => {
  const n = 300;
  const run = await xbarsim(
    ...['evaluate', '--model', modelDir, '--dataset', 'mnist', '--test-limit', String(n)],
    ...['--dead-units', '--json'],
  );
  expect(run.code).toBe(0);
  const rows = JSON.parse(run.stdout).deadUnits as Array<{
    layer: string;
    units: number;
    deadIndices: number[];
  }>;
  // Independent: the saved model's first (ReLU) layer applied by TF.js to the binarised test images.
  const model = await loadModel(modelDir);
  const test = loadDataset('mnist', { limit: 1, testLimit: n }).test;
  const x = tf.tensor2d(
    test.images.map((v) => (v < 0.1 ? 0 : 1)),
    [n, 784],
  );
  const first = model.layers.find((l) => l.getClassName() === 'Dense')!;
  const hidden = (first.apply(x) as tf.Tensor).max(0).dataSync();
  const expected = Array.from(hidden.keys()).filter((u) => hidden[u] <= 0);
  expect(rows).toEqual([{ layer: 'dense_Dense1', units: 16, dead: expected.length, deadIndices: expected }]);
  const text = await xbarsim(
    ...['evaluate', '--model', modelDir, '--dataset', 'mnist', '--test-limit', String(n), '--dead-units'],
  );
  expect(text.stdout).toContain(
    `dead units (output 0 on all ${n} test images):\n  dense_Dense1: ${expected.length} of 16`,
  );
});

describe('evaluate --json', () => {
  let report: {
    model: string;
    dataset: string;
    testImages: number;
    float: number;
    weightQuantizers: Record<string, number>;
    results: Array<{ label: string; weights: string; inputs: string; accuracy: number }>;
  };
  const n = 500;
  beforeAll(async () => {
    const run = await xbarsim(
      'evaluate',
      '--model',
      modelDir,
      '--dataset',
      'mnist',
      '--test-limit',
      String(n),
      '--quantize',
      'quantile:4,uniform:3',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    report = JSON.parse(run.stdout); // one JSON object and nothing else
  });

  test('one object with float and per-quantiser accuracies', () => {
    expect(report).toMatchObject({ model: modelDir, dataset: 'mnist', testImages: n });
    expect(Object.keys(report.weightQuantizers)).toEqual(['quantile:4', 'uniform:3']);
    expect(report.results.map((r) => [r.weights, r.inputs])).toEqual([
      ['float', 'float'],
      ['quantile:4', 'float'],
      ['uniform:3', 'float'],
    ]);
    expect(report.float).toBe(report.results[0].accuracy);
    expect(report.weightQuantizers['quantile:4']).toBe(report.results[1].accuracy);
  });

  // Independent: TF.js's own forward pass on the saved model, with kernels quantised by the rules
  // written out above. One image of slack covers a different summation order deciding a near tie.
  const slack = 1 / n + 1e-9;
  test('float accuracy equals the TF.js model on binarised test images', async () => {
    expect(Math.abs(report.float - tfAccuracy(await loadModel(modelDir), n, 0.1))).toBeLessThanOrEqual(slack);
  });

  test('quantile:4 accuracy equals the model with equal-population-bin kernels', async () => {
    const model = await withQuantizedKernels(modelDir, (w) => quantileReference(w, 4));
    const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
    expect(dense).toHaveLength(2);
    for (const layer of dense) expect(new Set(layer.getWeights()[0].dataSync()).size).toBe(4);
    expect(Math.abs(report.weightQuantizers['quantile:4'] - tfAccuracy(model, n, 0.1))).toBeLessThanOrEqual(
      slack,
    );
  });

  test('uniform:3 accuracy equals the model with 7-level kernels', async () => {
    const model = await withQuantizedKernels(modelDir, (w) => uniformReference(w, 3));
    expect(Math.abs(report.weightQuantizers['uniform:3'] - tfAccuracy(model, n, 0.1))).toBeLessThanOrEqual(
      slack,
    );
  });

  test('a Keras model converted by tensorflowjs_converter evaluates like our own', async () => {
    const run = await xbarsim(
      'evaluate',
      '--model',
      KERAS_FIXTURE,
      '--dataset',
      'mnist',
      '--test-limit',
      '300',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const keras = JSON.parse(run.stdout);
    // The fixture has no binarisation threshold: grey-level inputs, as it was trained.
    const model = await loadModel(KERAS_FIXTURE);
    const test = loadDataset('mnist', { limit: 1, testLimit: 300 }).test;
    const predicted = (model.predict(tf.tensor2d(test.images, [300, 784])) as tf.Tensor)
      .argMax(-1)
      .dataSync();
    const tfAcc = Array.from(predicted).reduce((h, p, i) => h + (p === test.labels[i] ? 1 : 0), 0) / 300;
    expect(Math.abs(keras.float - tfAcc)).toBeLessThanOrEqual(1 / 300 + 1e-9);
    expect(keras.float).toBeGreaterThan(0.75);
  });

  test('the text report has one line per row', async () => {
    const run = await xbarsim(
      'evaluate',
      '--model',
      modelDir,
      '--dataset',
      'mnist',
      '--test-limit',
      '100',
      '--quantize',
      'uniform:2',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^weights float +[\d.]+ %\nweights uniform:2 +[\d.]+ %\n$/);
  });
});

describe('bad input: one line naming the problem, exit code 2, nothing written', () => {
  /** A dataset directory of valid IDX files with one file replaced. */
  function idxDir(name: string, file: string, data: Buffer): string {
    const dir = path.join(root, 'datasets', name);
    fs.mkdirSync(dir, { recursive: true });
    const labels = (count: number) => {
      const b = Buffer.alloc(8 + count);
      b.writeUInt32BE(0x801, 0);
      b.writeUInt32BE(count, 4);
      return b;
    };
    const images = (count: number) => {
      const b = Buffer.alloc(16 + count * 784);
      [0x803, count, 28, 28].forEach((v, i) => b.writeUInt32BE(v, 4 * i));
      return b;
    };
    const files: Record<string, Buffer> = {
      'train-images-idx3-ubyte': images(20),
      'train-labels-idx1-ubyte': labels(20),
      't10k-images-idx3-ubyte': images(5),
      't10k-labels-idx1-ubyte': labels(5),
      [file]: data,
    };
    for (const [f, b] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), b);
    return dir;
  }

  const train = (...flags: string[]) => {
    const base: Record<string, string> = {
      '--dataset': 'mnist',
      '--arch': 'mlp:8x1',
      '--limit': '100',
      '--epochs': '1',
    };
    for (let i = 0; i < flags.length; i += 2) base[flags[i]] = flags[i + 1];
    return ['train', ...Object.entries(base).flat()];
  };

  const cases: Array<[string, string[], RegExp]> = [
    [
      'unknown dataset',
      train('--dataset', 'mnist-digits'),
      /unknown dataset 'mnist-digits': allowed values are mnist, fashion-mnist, idx:DIR/,
    ],
    [
      'malformed architecture',
      train('--arch', 'mlp:12q'),
      /architecture "mlp:12q": units "12q" is not a whole number/,
    ],
    [
      'architecture out of range',
      train('--arch', 'cnn:c8p9:h16'),
      /architecture "cnn:c8p9:h16": pool 9 is out of range 2\.\.8/,
    ],
    ['unknown family', train('--arch', 'rnn:8'), /architecture "rnn:8": unknown family "rnn"/],
    ['--epochs 0', train('--epochs', '0'), /flag --epochs: must be >= 1 \(got "0"\)/],
    ['--lr -1', train('--lr', '-1'), /flag --lr: must be >= 1e-9 \(got "-1"\)/],
    ['--batch-size 2.5', train('--batch-size', '2.5'), /flag --batch-size: must be integer/],
    ['--limit 0', train('--limit', '0'), /flag --limit: must be >= 1/],
    [
      '--validation-split 1.5',
      train('--validation-split', '1.5'),
      /flag --validation-split: must be <= 0\.9/,
    ],
    [
      '--weights quaternary',
      train('--weights', 'quaternary'),
      /flag --weights: must be one of float, binary, ternary/,
    ],
    ['--backend gpu', train('--backend', 'gpu'), /flag --backend: must be one of auto, node, wasm, cpu/],
  ];
  test.each(cases)('train: %s', async (_what, argv, message) => {
    const out = path.join(root, 'failed', 'model');
    const run = await xbarsim(...argv, '--out', out);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^xbarsim: error: [^\n]+\n$/);
    expect(run.stderr).toMatch(message);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
  });

  test.each([
    [
      'corrupt IDX (bad magic)',
      'train-images-idx3-ubyte',
      Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]),
      /train-images-idx3-ubyte: bad magic number 0x00000801, expected 0x00000803/,
    ],
    [
      'truncated IDX',
      't10k-labels-idx1-ubyte',
      Buffer.from([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]),
      /t10k-labels-idx1-ubyte: truncated: header \[5\] needs 5 data bytes, file has 2/,
    ],
  ])('train: %s', async (name, file, data, message) => {
    const dir = idxDir(name.replace(/\W+/g, '-'), file, data);
    const out = path.join(root, 'failed-idx', 'model');
    const run = await xbarsim(...train('--dataset', `idx:${dir}`), '--out', out);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^xbarsim: error: [^\n]+\n$/);
    expect(run.stderr).toContain(path.join(dir, file));
    expect(run.stderr).toMatch(message);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
  });

  test('train: --backend node without tfjs-node (or a clean train when it loads)', async () => {
    const out = path.join(root, 'node-backend', 'model');
    const run = await xbarsim(
      ...train('--backend', 'node', '--limit', '50', '--test-limit', '20'),
      '--out',
      out,
    );
    if (run.code === 0) {
      // tfjs-node is installed and loads on this machine: the flag works.
      expect(run.stdout).toMatch(/backend tensorflow\)/);
    } else {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^xbarsim: error: --backend node needs @tensorflow\/tfjs-node, but [^\n]+; use --backend auto, wasm or cpu\n$/,
      );
      expect(fs.existsSync(path.dirname(out))).toBe(false);
    }
  });

  test('train: --out an existing directory that is not a model is left alone', async () => {
    const dir = path.join(root, 'precious');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    const run = await xbarsim(...train(), '--out', dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^xbarsim: error: --out .*precious: directory exists and is not a model directory; refusing to replace it\n$/,
    );
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });

  test('evaluate: missing model directory', async () => {
    const run = await xbarsim('evaluate', '--model', path.join(root, 'no-such-model'), '--dataset', 'mnist');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^xbarsim: error: model directory not found: .*no-such-model\n$/);
  });

  test.each([
    [['--dataset', 'emnist'], /unknown dataset 'emnist'/],
    [['--dataset', 'mnist', '--quantize', 'quantile:0'], /quantile/],
    [['--dataset', 'mnist', '--quantize', 'median:4'], /median:4/],
    [['--dataset', 'mnist', '--test-limit', '0'], /flag --test-limit: must be >= 1/],
  ])('evaluate: %j', async (flags, message) => {
    const run = await xbarsim('evaluate', '--model', modelDir, ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^xbarsim: error: [^\n]+\n$/);
    expect(run.stderr).toMatch(message);
  });

  test('evaluate: a model whose input is not a 28x28 image', async () => {
    const dir = path.join(root, 'wrong-input');
    fs.cpSync(KERAS_FIXTURE, dir, { recursive: true });
    const json = fs
      .readFileSync(path.join(dir, 'model.json'), 'utf8')
      .replace(/\[null, ?784\]/g, '[null, 10]');
    const manifest = JSON.parse(json);
    manifest.weightsManifest[0].weights[0].shape = [10, 8];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
    const shard = fs.readFileSync(path.join(dir, 'group1-shard1of1.bin'));
    fs.writeFileSync(
      path.join(dir, 'group1-shard1of1.bin'),
      shard.subarray(shard.length - 4 * (80 + 8 + 80 + 10)),
    );
    const run = await xbarsim('evaluate', '--model', dir, '--dataset', 'mnist');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^xbarsim: error: --model .*wrong-input: the network takes inputs of shape \[10\], the datasets have 28x28 images\n$/,
    );
  });
});
