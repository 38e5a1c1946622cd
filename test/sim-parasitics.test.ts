/**
 * Parasitics in the Monte-Carlo: a stage's tiles laid out as tiling.ts places them and solved for M give
 * the layer outputs an independent per-tile computation gives; a parasitics block of zeros changes
 * nothing, bit for bit; the calibrated ADC range follows the drop; the IR drop is reported.
 */
import type { CircuitCard } from '../src/crossbar/circuit';
import { mapLayer } from '../src/crossbar/mapping';
import { effectiveConductances, type Parasitics } from '../src/crossbar/parasitics';
import { planTiles } from '../src/crossbar/tiling';
import type { AnalogStage } from '../src/sim/plan';
import { runReferenceTrial } from '../src/sim/referenceTrial';
import { samplersForPlan } from '../src/sim/samplers';
import { runTrial, TrialScratch } from '../src/sim/trial';
import { streamFor } from '../src/util/random';
import { captureOutputs, circuit, dense, mnist, multilevelCardJson, network, planFor } from './sim-fixtures';

const N = 40;
const LEVELS = [10e-6, 60e-6, 110e-6, 160e-6, 210e-6];
const card = multilevelCardJson('five-levels', LEVELS);

/** The fixtures' ideal-converter circuit on 128 x 10 tiles (5 weight columns: three column tiles of 13). */
const circuitWith = (fields: Record<string, unknown>): CircuitCard =>
  circuit({ tile: { rows: 128, cols: 10 }, ...fields });

/** One linear dense layer 784 -> 13 with random float weights. */
function layerNetwork() {
  const rng = streamFor(11, 'parasitic-layer');
  const w = Float32Array.from({ length: 784 * 13 }, () => 0.05 * rng.normal());
  return network('parasitic-layer', [784], [dense('d', w, 784, 13, 'linear')]);
}

/**
 * The layer's outputs computed tile by tile from the tiling plan, independently of the trial code:
 * physical tile (rowsUsed x physicalColsUsed) with G+ / G- (or weight and reference) as tiling.ts
 * places them, M solved per tile, currents in float64, G+ minus G- (or minus the reference).
 */
function expectedOutputs(circ: CircuitCard, p: Parasitics, count: number): Float64Array {
  const desc = layerNetwork();
  const layer = desc.layers[0] as Extract<(typeof desc.layers)[number], { kind: 'dense' }>;
  const mapped = mapLayer(layer.weights.data, 784, 13, LEVELS, circ.mapping);
  const tiling = planTiles(784, 13, circ.tile, circ.mapping);
  const data = mnist(N);
  const vRead = 0.2;
  const out = new Float64Array(count * 13);
  for (const t of tiling.tiles) {
    const cols = t.physicalColsUsed;
    const g = new Float64Array(t.rowsUsed * cols);
    for (let i = t.rowStart; i < t.rowEnd; i++)
      for (let j = t.colStart; j < t.colEnd; j++) {
        const k = j - t.colStart;
        const at = (i - t.rowStart) * cols;
        if (circ.mapping === 'differential') {
          g[at + 2 * k] = LEVELS[mapped.levelPos[i * 13 + j]];
          g[at + 2 * k + 1] = LEVELS[mapped.levelNeg![i * 13 + j]];
        } else {
          g[at + k] = LEVELS[mapped.levelPos[i * 13 + j]];
          g[at + t.referenceCol!] = LEVELS[mapped.refLevel!];
        }
      }
    const m = effectiveConductances(g, t.rowsUsed, cols, p);
    for (let n = 0; n < count; n++) {
      const current = new Float64Array(cols);
      for (let i = t.rowStart; i < t.rowEnd; i++) {
        const u = data.test.images[n * 784 + i]; // ideal DAC; pixels in [0, 1] with 1 as the largest
        for (let c = 0; c < cols; c++) current[c] += u * vRead * m[(i - t.rowStart) * cols + c];
      }
      for (let j = t.colStart; j < t.colEnd; j++) {
        const k = j - t.colStart;
        const diff =
          circ.mapping === 'differential'
            ? current[2 * k] - current[2 * k + 1]
            : current[k] - current[t.referenceCol!];
        out[n * 13 + j] += (diff * mapped.weightPerSiemens) / vRead;
      }
    }
  }
  return out;
}

const parasitics = {
  rowWireResistance: '2 Ohm',
  colWireResistance: '3 Ohm',
  accessResistance: '1 kOhm',
  driverResistance: '30 Ohm',
  senseResistance: '15 Ohm',
};

test.each([
  ['differential', 'left', 'bottom'],
  ['offset', 'both', 'both'],
] as const)(
  '%s mapping, drive %s, sense %s: outputs match an independent per-tile solve',
  (mapping, drive, sense) => {
    const circ = circuitWith({ mapping, parasitics: { ...parasitics, drive, sense } });
    const data = mnist(N);
    const p = planFor(layerNetwork(), card, circ, data);
    const stage = p.stages[0] as AnalogStage;
    expect(stage.dac.xMax).toBe(1); // so u = pixel value, as expectedOutputs assumes
    // Only level-mean conductances are used with the nominal chip; the offset reference must be a level.
    if (mapping === 'offset') expect(stage.refExactSiemens).toBeNull();
    const { outputs } = captureOutputs(() =>
      runTrial(p, samplersForPlan(p), -1, new TrialScratch(), { nominal: true }),
    );
    const want = expectedOutputs(circ, circ.parasitics!, N);
    let scale = 0;
    for (const w of want) scale = Math.max(scale, Math.abs(w));
    for (let k = 0; k < want.length; k++)
      expect(Math.abs(outputs[0][k] - want[k]) / scale).toBeLessThan(1e-5);
    // And the drop is real: the ideal tile's outputs differ by far more.
    const ideal = captureOutputs(() =>
      runTrial(
        planFor(layerNetwork(), card, circuitWith({ mapping }), data),
        samplersForPlan(p),
        -1,
        new TrialScratch(),
        {
          nominal: true,
        },
      ),
    ).outputs[0];
    let diff = 0;
    for (let k = 0; k < want.length; k++) diff = Math.max(diff, Math.abs(ideal[k] - want[k]) / scale);
    expect(diff).toBeGreaterThan(1e-2);
  },
);

test('a parasitics block of zeros changes nothing, bit for bit', () => {
  const data = mnist(N);
  const zeros = {
    wireResistance: '0 Ohm',
    accessResistance: 0,
    driverResistance: '0 kOhm',
    senseResistance: 0,
  };
  const base = { adc: { bits: 6, range: { calibrated: 99 } }, dac: { bits: 4 } };
  const a = planFor(layerNetwork(), card, circuitWith(base), data);
  const b = planFor(layerNetwork(), card, circuitWith({ ...base, parasitics: zeros }), data);
  expect((b.stages[0] as AnalogStage).parasitics).toBeUndefined();
  const device = samplersForPlan(a);
  for (const t of [0, 1]) {
    const ra = captureOutputs(() => runReferenceTrial(a, device, t));
    const rb = captureOutputs(() => runReferenceTrial(b, device, t));
    expect(rb.result).toEqual(ra.result);
    expect(new Uint32Array(rb.outputs[0].buffer)).toEqual(new Uint32Array(ra.outputs[0].buffer));
  }
});

test('the calibrated ADC range follows the drop, and the IR drop is reported', () => {
  const data = mnist(N);
  const base = { adc: { bits: 8, range: { calibrated: 99.9 } } };
  const ideal = planFor(layerNetwork(), card, circuitWith(base), data).stages[0] as AnalogStage;
  const wired = planFor(
    layerNetwork(),
    card,
    circuitWith({ ...base, parasitics: { wireResistance: '5 Ohm' } }),
    data,
  ).stages[0] as AnalogStage;
  expect(wired.rowTiles[0].iFullAmps[0]).toBeLessThan(ideal.rowTiles[0].iFullAmps[0]);
  expect(ideal.parasitics).toBeUndefined();
  expect(wired.parasitics!.meanRelCurrentError).toBeGreaterThan(0.01);
  expect(wired.parasitics!.meanRelCurrentError).toBeLessThan(1);
});
