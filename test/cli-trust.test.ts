/**
 * Results a researcher can trust (issue 24), through the CLI.
 * Nothing is overwritten silently: `simulate --out`, `device fit --out` and `train --out` refuse an
 * existing target and anything inside the shipped models/, devices/, circuits/ unless --force;
 * `simulate --out DIR` writes inside an existing directory; `device show` writes its plot under
 * results/ (not the working directory). In-process through the built CLI (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { writeDescription } from '../src/nn/load';
import { dense, mnist, network, templateWeights } from './sim-fixtures';
import { BIN, cli, ROOT } from './cli-run';
import { pngProvenance } from '../src/report/provenance';
import { packageVersion, sha256 } from '../src/util/inputLog';
import { mnistDataDir } from '../src/data/mnist';

let tmp: string;

/** `xbarsim train` of a small MLP on 2000 MNIST images, one epoch (about a second). */
const trainSmall = (out: string, ...extra: string[]) =>
  cli([
    'train',
    '--dataset',
    'mnist',
    '--arch',
    'mlp:16x1',
    '--epochs',
    '1',
    '--limit',
    '2000',
    '--test-limit',
    '200',
    '--lr',
    '0.05',
    '--out',
    out,
    ...extra,
  ]);
const at = (...p: string[]) => path.join(tmp, ...p);

/** An MNIST file as provenance names it (project-relative) and its SHA-256, computed here. */
function datasetFile(base: string): { name: string; hash: string } {
  const file = path.join(mnistDataDir(), base);
  return { name: path.relative(ROOT, file).split(path.sep).join('/'), hash: sha256(fs.readFileSync(file)) };
}

beforeAll(() => {
  process.env.XBARSIM_QUIET = '1';
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-overwrite-'));
  writeDescription(
    network('template', [784], [dense('t', templateWeights(mnist(100)), 784, 10, 'linear')]),
    at('model'),
  );
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const simulate = (...extra: string[]) =>
  cli([
    'simulate',
    '--model',
    at('model'),
    '--device',
    'hfo2-1t1r-igvva-8',
    '--circuit',
    'tile128-ideal',
    '--dataset',
    'mnist',
    '--limit',
    '100',
    '--test-limit',
    '40',
    '--calibration',
    '50',
    '--trials',
    '1',
    '--workers',
    '1',
    ...extra,
  ]);

test('simulate --out: an existing result needs --force; an existing directory gets result.json inside', async () => {
  fs.writeFileSync(at('r.json'), 'keep me');
  const refused = await simulate('--out', at('r.json'));
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/flag --out: .*r\.json exists; add --force to replace it/);
  expect(fs.readFileSync(at('r.json'), 'utf8')).toBe('keep me');
  expect(fs.existsSync(at('r.csv'))).toBe(false);
  expect((await simulate('--out', at('r.json'), '--force')).code).toBe(0);
  expect(JSON.parse(fs.readFileSync(at('r.json'), 'utf8')).trials).toBe(1);

  fs.mkdirSync(at('dir'));
  expect((await simulate('--out', at('dir'))).code).toBe(0);
  expect(fs.readdirSync(at('dir')).sort()).toEqual(['result.csv', 'result.json']);
  expect((await simulate('--out', at('dir'))).code).toBe(2); // its result.json now exists
});

test('device fit --out: an existing card or a shipped folder needs --force', async () => {
  fs.writeFileSync(at('m.csv'), 'level,current\nL0,1 uA\nL0,1.2 uA\nL1,5 uA\nL1,5.5 uA\n');
  fs.writeFileSync(at('card.json'), '{}');
  const r = await cli(['device', 'fit', '--csv', at('m.csv'), '--out', at('card.json')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/card\.json exists; add --force/);
  expect(fs.readFileSync(at('card.json'), 'utf8')).toBe('{}');
  expect((await cli(['device', 'fit', '--csv', at('m.csv'), '--out', at('card.json'), '--force'])).code).toBe(
    0,
  );
  const shipped = path.join(ROOT, 'devices', 'hfo2-1t1r-igvva-8.json');
  const before = fs.readFileSync(shipped, 'utf8');
  const s = await cli(['device', 'fit', '--csv', at('m.csv'), '--out', shipped]);
  expect(s.code).toBe(2);
  expect(s.stderr).toMatch(/inside the shipped devices\/ folder; add --force/);
  expect(fs.readFileSync(shipped, 'utf8')).toBe(before);
});

test('train --out: an existing model or the shipped models/ needs --force (refused before training)', async () => {
  const args = ['train', '--dataset', 'mnist', '--arch', 'mlp:8x1', '--epochs', '1', '--limit', '100'];
  const r = await cli([...args, '--out', at('model')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/model exists; add --force to replace it/);
  const s = await cli([...args, '--out', path.join(ROOT, 'models', 'new-model')]);
  expect(s.code).toBe(2);
  expect(s.stderr).toMatch(/inside the shipped models\/ folder/);
  expect(fs.existsSync(path.join(ROOT, 'models', 'new-model'))).toBe(false);
});

test('device show writes its plot under results/devices of the working directory, or --out', async () => {
  const cwd = process.cwd();
  process.chdir(tmp);
  try {
    expect((await cli(['device', 'show', 'hfo2-1t1r-igvva-8'])).code).toBe(0);
    expect(fs.existsSync(at('results', 'devices', 'hfo2-1t1r-igvva-8-cdf.svg'))).toBe(true);
    expect((await cli(['device', 'show', 'binary-hp', '--out', 'plots'])).code).toBe(0);
    expect(fs.existsSync(at('plots', 'binary-hp-cdf.png'))).toBe(true);
    // The plot alone names the card it shows, by path and hash.
    const card = fs.readFileSync(path.join(ROOT, 'devices', 'binary-hp.json'));
    expect(pngProvenance(fs.readFileSync(at('plots', 'binary-hp-cdf.png')))).toMatchObject({
      'devices/binary-hp.json': sha256(card),
      xbarsim: packageVersion(),
    });
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.svg'))).toEqual([]);
  } finally {
    process.chdir(cwd);
  }
});

test('one chip: no spread or interval over chips is claimed; the nominal chip has its Wilson interval', async () => {
  const r = await simulate();
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\nanalog, 1 chip: [\d.]+ % \(n = 1: no spread or interval over chips\)\n/);
  expect(r.stdout).toMatch(
    /nominal chip [\d.]+ % \(Wilson 95 % over its 40 images: \[[\d.]+ %, [\d.]+ %\]\)/,
  );
  expect(r.stdout).not.toMatch(/std|CI/);
});

test('NaN or Inf weights: one line naming the layer, exit 2, for simulate and evaluate alike', async () => {
  const w = templateWeights(mnist(100));
  w[17] = NaN;
  writeDescription(network('broken', [784], [dense('t', w, 784, 10, 'linear')]), at('nan-model'));
  for (const args of [
    ['simulate', '--model', at('nan-model'), '--device', 'hfo2-1t1r-igvva-8', '--circuit', 'tile128-ideal'],
    ['evaluate', '--model', at('nan-model'), '--dataset', 'mnist', '--test-limit', '20'],
  ]) {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^xbarsim: error: .*network\.json: layer t has a non-finite weight \(weights\[17\] = NaN\)[^\n]*\n$/,
    );
  }
});

test('a training that diverges says so and exits 3', async () => {
  const r = await cli([
    'train',
    '--dataset',
    'mnist',
    '--arch',
    'mlp:8x1',
    '--epochs',
    '1',
    '--limit',
    '500',
    '--test-limit',
    '200',
    '--lr',
    '10',
    '--out',
    at('diverged'),
  ]);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(
    /xbarsim: error: training diverged: last epoch loss .*test accuracy [\d.]+ % \(chance 10\.00 %\)/,
  );
});

test('evaluate infers the dataset from the model; another --dataset runs with a warning; none at all is an error', async () => {
  const desc = network('named', [784], [dense('t', templateWeights(mnist(100)), 784, 10, 'linear')]);
  writeDescription({ ...desc, meta: { dataset: 'mnist' } }, at('named-model'));
  const inferred = await cli([
    'evaluate',
    '--model',
    at('named-model'),
    '--limit',
    '100',
    '--test-limit',
    '30',
    '--json',
  ]);
  expect(inferred.code).toBe(0);
  expect(JSON.parse(inferred.stdout).dataset).toBe('mnist');
  const other = await cli([
    'evaluate',
    '--model',
    at('named-model'),
    '--dataset',
    'fashion-mnist',
    '--test-limit',
    '30',
  ]);
  expect(other.code).toBe(0);
  expect(other.stderr).toMatch(/warning: --model .* was trained on mnist, running it on fashion-mnist/);
  const none = await cli(['evaluate', '--model', at('model'), '--test-limit', '30']);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/its description names no dataset; give --dataset/);
});

test('a card or CSV with a UTF-8 byte-order mark loads; a gzipped IDX file gets a "gunzip it" hint', async () => {
  const card = fs.readFileSync(path.join(ROOT, 'devices', 'hfo2-1t1r-igvva-8.json'), 'utf8');
  fs.writeFileSync(at('bom-card.json'), '\uFEFF' + card.replace('"hfo2-1t1r-igvva-8"', '"bom-card"'));
  const shown = await cli(['device', 'show', at('bom-card.json'), '--out', at('bom-plots'), '--json']);
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout).card).toBe('bom-card');
  fs.writeFileSync(at('bom.csv'), '\uFEFFlevel,current\nL0,1 uA\nL0,1.2 uA\nL1,5 uA\nL1,5.5 uA\n');
  expect((await cli(['device', 'fit', '--csv', at('bom.csv'), '--out', at('bom-fit.json')])).code).toBe(0);

  fs.mkdirSync(at('idx'));
  for (const name of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ])
    fs.writeFileSync(at('idx', name), zlib.gzipSync(Buffer.alloc(64)));
  const r = await cli(['evaluate', '--model', at('model'), '--dataset', `idx:${at('idx')}`]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/is gzip-compressed \(the \.gz file as distributed\); gunzip it first/);
});

test('simulate --from a result file reruns it: same per-trial accuracies; refused once an input changed', async () => {
  const card = at('from-card.json');
  fs.copyFileSync(path.join(ROOT, 'devices', 'hfo2-1t1r-igvva-8.json'), card);
  const first = await simulate(
    '--device',
    card,
    '--trials',
    '3',
    '--seed',
    '9',
    '--quantize',
    'uniform:3',
    '--tile-rows',
    '64',
    '--mapping',
    'offset',
    '--wire-resistance',
    '2 Ohm',
    '--out',
    at('first.json'),
  );
  expect(first.code).toBe(0);
  const again = await cli(['simulate', '--from', at('first.json'), '--workers', '2', '--json']);
  expect(again.code).toBe(0);
  const a = JSON.parse(fs.readFileSync(at('first.json'), 'utf8'));
  const b = JSON.parse(again.stdout);
  const images = datasetFile('t10k-images-idx3-ubyte');
  expect(a.provenance[images.name]).toBe(images.hash);
  expect(b.trials).toBe(3);
  expect(b.perTrial).toEqual(a.perTrial);
  expect(b.settings).toEqual(a.settings);
  // The rerun read the saved result (which holds the circuit it ran) instead of the circuit card.
  const { 'circuits/tile128-ideal.json': _circuit, ...rest } = a.provenance;
  expect(b.provenance).toEqual({ ...rest, [at('first.json')]: expect.stringMatching(/^[0-9a-f]{64}$/) });
  // The card edited since: the rerun is refused, naming it.
  fs.appendFileSync(card, '\n');
  const refused = await cli(['simulate', '--from', at('first.json')]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(
    /flag --from: the inputs of .*first\.json changed since it was made \(.*from-card\.json\)/,
  );
});

test('training.json and the description record the images the model saw and the version', async () => {
  const r = await trainSmall(at('small'));
  expect(r.code).toBe(0);
  const training = JSON.parse(fs.readFileSync(at('small', 'training.json'), 'utf8'));
  expect(training).toMatchObject({
    dataset: 'mnist',
    trainImages: 2000,
    testImages: 200,
    xbarsim: expect.any(String),
  });
  // The files it learnt from, by path and hash, in training.json and in the description.
  const images = datasetFile('train-images-idx3-ubyte');
  expect(training.provenance[images.name]).toBe(images.hash);
  const desc = JSON.parse(fs.readFileSync(at('small', 'network.json'), 'utf8'));
  expect(desc.meta.provenance).toEqual(training.provenance);
});

test('messages name the real problem: a file given as a model folder; a tensor that does not fit its shape', async () => {
  fs.writeFileSync(at('not-a-dir'), 'x');
  const file = await cli(['evaluate', '--model', at('not-a-dir'), '--dataset', 'mnist']);
  expect(file.code).toBe(2);
  expect(file.stderr).toMatch(/not-a-dir is a file, not a model directory/);
  const json = JSON.parse(fs.readFileSync(at('model', 'network.json'), 'utf8'));
  json.layers[0].weights.shape = [784, 11];
  fs.mkdirSync(at('bad-shape'));
  fs.writeFileSync(at('bad-shape', 'network.json'), JSON.stringify(json));
  const shape = await cli(['evaluate', '--model', at('bad-shape'), '--dataset', 'mnist']);
  expect(shape.code).toBe(2);
  expect(shape.stderr).toMatch(
    /network\.json: a tensor does not fit its shape \(tensor data has 7840 values, shape 784,11 needs 8624\)/,
  );
  expect(shape.stderr).not.toMatch(/valid JSON/);
});

test('flags that coerce to Infinity are refused naming the flag, for integers and numbers alike', async () => {
  const model = path.join(ROOT, 'models', 'reference-mlp');
  for (const [flag, value] of [
    ['--trials', 'Infinity'],
    ['--seed', '-Infinity'],
    ['--adc-bits', '1e999'],
    ['--test-limit', 'Infinity'],
  ]) {
    const r = await cli(['simulate', '--model', model, '--device', 'hfo2-1t1r-igvva-8', flag, value]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`xbarsim: error: flag ${flag}: must be a finite number (got "${value}")`);
  }
});

test('training on the cpu backend in a fresh process prints no TF.js "install our node backend" banner', () => {
  const r = spawnSync(
    process.execPath,
    [
      BIN,
      'train',
      '--dataset',
      'mnist',
      '--arch',
      'mlp:8x1',
      '--epochs',
      '1',
      '--limit',
      '300',
      '--test-limit',
      '100',
    ].concat(['--backend', 'cpu', '--out', at('banner-model')]),
    { encoding: 'utf8' },
  );
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/test accuracy/);
  expect(r.stdout + r.stderr).not.toMatch(/TensorFlow\.js in Node\.js|=====/);
});

test('a model retrained in place and a card edited between runs of a real quick study: refused, then recomputed with --force; unchanged inputs resume', async () => {
  const train = (seed: string, ...extra: string[]) => trainSmall(at('study-model'), '--seed', seed, ...extra);
  expect((await train('1')).code).toBe(0);
  const card = at('study-card.json');
  fs.copyFileSync(path.join(ROOT, 'devices', 'hfo2-1t1r-igvva-8.json'), card);
  const out = at('adc-study');
  const study = (...extra: string[]) =>
    cli([
      'study',
      'adc-sizing',
      '--quick',
      '--model',
      at('study-model'),
      '--device',
      card,
      '--circuit',
      'tile128-adc8',
      '--trials',
      '1',
      '--workers',
      '1',
      // The card's own mapping only (its sliced designs add nothing to what this checks).
      '--only',
      '/[0-9]+$',
      '--out',
      out,
      ...extra,
    ]);
  const records = () =>
    fs
      .readFileSync(path.join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { key: string; provenance: Record<string, string>; nominalAccuracy: number },
      );
  expect((await study()).code).toBe(0);
  const first = records();
  expect(first).toHaveLength(10);
  // Every record names the dataset files it was computed from, not only the first to load them.
  const images = datasetFile('t10k-images-idx3-ubyte');
  for (const r of first) expect(r.provenance[images.name]).toBe(images.hash);
  const again = await study();
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(/resuming: 10 of 10 configurations already done/);

  expect((await train('2')).code).toBe(2); // the model exists: --force needed
  expect((await train('2', '--force')).code).toBe(0);
  const refused = await study();
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(
    /holds 10 records made from other inputs \(changed since: .*study-model\/network\.json\); rerun with --force/,
  );
  expect((await study('--force')).code).toBe(0);
  const second = records();
  expect(second).toHaveLength(10);
  const modelFile = path.join(at('study-model'), 'network.json');
  for (const r of second) expect(r.provenance[modelFile]).not.toBe(first[0].provenance[modelFile]);
  expect(second.map((r) => r.nominalAccuracy)).not.toEqual(first.map((r) => r.nominalAccuracy));

  const json = JSON.parse(fs.readFileSync(card, 'utf8'));
  json.levels[3].sigma = '9 uA';
  fs.writeFileSync(card, JSON.stringify(json));
  const edited = await study();
  expect(edited.code).toBe(2);
  expect(edited.stderr).toMatch(/study-card\.json/);
});
