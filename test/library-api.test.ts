/**
 * The README's library script, through the public entry point (src/index.ts), on a test subset; and the
 * same chips through the lower-level pieces the README names, which must agree with it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  buildPlan,
  loadCircuitCard,
  loadDataset,
  loadDeviceCard,
  loadNetwork,
  prepareSimulation,
  quantizeNetwork,
  resolveDevice,
  parseWeightQuantizer,
  runSimulation,
  runTrial,
  summarize,
  TrialScratch,
} from '../src/index';
import * as index from '../src/index';

const MODEL = path.resolve(__dirname, '..', 'models', 'reference-mlp');

test('the README script runs and its chips are the ones the low-level API draws', async () => {
  const prepared = await prepareSimulation({
    model: MODEL,
    device: 'hfo2-1t1r-igvva-8',
    circuit: 'tile128-adc8',
    trials: 3,
    seed: 1,
    quantize: 'uniform:4',
    quantizeLayers: 'all',
    inputLayers: 'dense',
    calibration: 200,
    testLimit: 300,
    limit: 200,
  });
  const result = await runSimulation(prepared, { trials: 3, workers: 1 });
  expect(result.analog.n).toBe(3);
  expect(result.analog.mean).toBeGreaterThan(0.5);
  expect(result.analog.ci95[0]).toBeLessThanOrEqual(result.analog.mean);
  expect(result.analog).toEqual(
    summarize(
      result.perTrial.map((t) => t.accuracy),
      [0, 1],
    ),
  );

  // The same plan from the pieces: network -> quantiser -> cards -> plan -> trials.
  const desc = quantizeNetwork(await loadNetwork(MODEL), parseWeightQuantizer('uniform:4'), 'all');
  const data = loadDataset('mnist', { limit: 200, testLimit: 300 });
  const deviceCard = loadDeviceCard('hfo2-1t1r-igvva-8');
  const device = resolveDevice(deviceCard);
  const plan = buildPlan({
    desc,
    device,
    deviceCard,
    circuit: loadCircuitCard('tile128-adc8'),
    test: data.test,
    calibration: { images: data.train.images.subarray(0, 200 * 784), count: 200 },
    seed: 1,
  });
  const scratch = new TrialScratch();
  const mine = [0, 1, 2].map((t) => runTrial(plan, device, t, scratch).accuracy);
  expect(mine).toEqual(result.perTrial.map((t) => t.accuracy));
});

test("the README's `import ... from 'xbarsim'` resolves in the project (package exports) to src/index.ts's API", () => {
  // A user's script in the project folder imports the package by name, as an ES module: Node finds it through
  // package.json's "exports" (self-reference), which must point at the built index with its named exports.
  const root = path.resolve(__dirname, '..');
  const script = [
    "import * as api from 'xbarsim';",
    "import { createRequire } from 'node:module';",
    "const cjs = createRequire(process.cwd() + '/package.json')('xbarsim');",
    'console.log(JSON.stringify({ esm: Object.keys(api).sort(), cjs: Object.keys(cjs).sort() }));',
  ].join('\n');
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }),
  ) as { esm: string[]; cjs: string[] };
  const expected = Object.keys(index).sort();
  expect(out.cjs).toEqual(expected);
  // ESM adds "default" (the CommonJS module object) and the "__esModule" marker beside the named exports.
  expect(out.esm.filter((k) => k !== 'default' && k !== '__esModule')).toEqual(expected);
});
