/**
 * Issue 4, "Done when": unknown study, bad flag combinations, unwritable output directory: a clear
 * one-line error, exit code 2, and no study directory stamped with the bad settings. Plus `report` on a
 * directory that is not a study. Runs the built CLI's `main` in-process (npm test builds first).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(BIN) as { main: (argv: string[]) => Promise<number> };

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-cli-study-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr: string[] = [];
  const e = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
  const o = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return { code: await main(args), stderr: stderr.join('') };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

/** One line, starting "xbarsim: error:", matching every pattern. */
function expectOneLineError(stderr: string, ...patterns: RegExp[]): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^xbarsim: error: /);
  for (const p of patterns) expect(lines[0]).toMatch(p);
}

test.each<[string, string[], RegExp[]]>([
  ['unknown study', ['study', 'no-such-study'], [/no-such-study/, /quantized-mlp-cnn/, /adc-sizing/]],
  ['unknown option (commander)', ['study', 'default', '--bogus'], [/unknown option '--bogus'/]],
  ['--quick with --full', ['study', 'default', '--quick', '--full'], [/--quick/, /--full/]],
  ['trials out of range', ['study', 'default', '--trials', '0'], [/--trials/]],
  ['malformed shard', ['study', 'default', '--shard', '3'], [/--shard/]],
  ['shard beyond its count', ['study', 'default', '--shard', '3/2'], [/--shard 3\/2/]],
  ['a parameter the study does not read', ['study', 'default', '--model', 'x'], [/default/, /--model/]],
  [
    'a parameter of another study',
    ['study', 'binarized-variation', '--quantize', 'uniform:3'],
    [/--device, --circuit/, /--quantize/],
  ],
  [
    '--lr for a study that trains with the defaults',
    ['study', 'binarized-variation', '--lr', '0.01'],
    [/--lr/],
  ],
  ['--lr out of range', ['study', 'quantized-mlp-cnn', '--lr', '0'], [/--lr/, />= 0.000001/]],
  ['--lr not a number', ['study', 'quantized-mlp-cnn', '--lr', 'fast'], [/--lr/]],
])('%s: exit 2 with one line naming it', async (_name, args, patterns) => {
  const out = path.join(tmp, `out-${args.join('_').replace(/[^a-z0-9]+/gi, '_')}`);
  const r = await cli([...args, '--out', out]);
  expect(r.code).toBe(2);
  expectOneLineError(r.stderr, ...patterns);
  expect(fs.existsSync(path.join(out, 'study.json'))).toBe(false);
  expect(fs.existsSync(out)).toBe(false);
});

test('an output directory under a file: exit 2, naming the directory', async () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  const r = await cli(['study', 'default', '--out', path.join(file, 'sub')]);
  expect(r.code).toBe(2);
  expectOneLineError(r.stderr, /output directory/, /a-file/);
});

test('adc-sizing with a missing model fails before stamping, so a corrected rerun may use the directory', async () => {
  const out = path.join(tmp, 'adc');
  const bad = await cli(['study', 'adc-sizing', '--model', path.join(tmp, 'no-model'), '--out', out]);
  expect(bad.code).toBe(2);
  expectOneLineError(bad.stderr, /--model/, /no-model/);
  expect(fs.existsSync(path.join(out, 'study.json'))).toBe(false);
  const badCard = await cli(['study', 'adc-sizing', '--device', 'no-such-card', '--out', out]);
  expect(badCard.code).toBe(2);
  expectOneLineError(badCard.stderr, /no-such-card/);
  expect(fs.existsSync(path.join(out, 'study.json'))).toBe(false);
  // A sliced card: the study sets each design's slicing itself, so it would mislabel the card's own.
  const card = JSON.parse(
    fs.readFileSync(path.resolve(__dirname, '..', 'circuits', 'tile128-adc8.json'), 'utf8'),
  );
  const slicedCard = path.join(tmp, 'sliced.json');
  fs.writeFileSync(slicedCard, JSON.stringify({ ...card, weightSlices: 2, bitsPerCell: 3 }));
  const sliced = await cli(['study', 'adc-sizing', '--circuit', slicedCard, '--out', out]);
  expect(sliced.code).toBe(2);
  expectOneLineError(sliced.stderr, /adc-sizing sweeps bit slicing itself/);
  expect(fs.existsSync(path.join(out, 'study.json'))).toBe(false);
});

test('report on a directory that is not a study: exit 2', async () => {
  const r = await cli(['report', tmp]);
  expect(r.code).toBe(2);
  expectOneLineError(r.stderr, /not a study directory/);
});
