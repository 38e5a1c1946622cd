/**
 * ADC sizing: Monte-Carlo accuracy (mean, 95 % CI) against ADC bits for both range rules, with the
 * lossless resolution of each analog layer marked: the figure a designer uses to pick the ADC.
 * Defaults: the shipped reference MLP, uniform:4 weights, hfo2-1t1r-igvva-8, tile128-adc8.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withOverrides } from '../../crossbar/circuit';
import { loadCircuitCard } from '../../crossbar/loadCircuit';
import { projectRoot } from '../../device/cardFiles';
import { loadDeviceCard } from '../../device/loadDevice';
import { InputError } from '../../util/errors';
import { loadNetwork } from '../../nn/load';
import { quantizeNetwork } from '../../nn/network';
import { parseWeightQuantizer } from '../../nn/quantize';
import { errorBarChart } from '../../report/errorBarChart';
import { type VegaLiteSpec, writeChart } from '../../report/render';
import { markdownTable, tidyCsv } from '../../report/tables';
import { losslessBitsTable } from '../../sim/adcBits';
import { writeFileAtomic } from '../../util/files';
import type { ResultRecord } from '../results';
import { simulateConfig } from '../simulateConfig';
import type { Study, StudyContext } from '../types';
import { REFERENCE_MODEL } from './default';
import { loadTechnologyCard } from '../../cost/loadTechnology';
import { type ParetoPoint, paretoChart, paretoFront } from '../../report/paretoChart';
import type { CostSummary } from '../simulateConfig';
import type { SliceSpec } from '../../crossbar/slicing';
import { resolveDevice } from '../../device/model';

const RANGES = [
  { name: 'full-scale', range: 'full-scale' as const },
  { name: 'calibrated p99.9', range: { calibrated: 99.9 } },
];

/** ADC sharings costed for every configuration (accuracy does not depend on them). */
const COLUMNS_PER_ADC = [1, 8];

function settings(ctx: StudyContext) {
  return {
    model: ctx.params.model ?? path.join(projectRoot(), REFERENCE_MODEL),
    device: ctx.params.device ?? 'hfo2-1t1r-igvva-8',
    circuit: ctx.params.circuit ?? 'tile128-adc8',
    quantize: ctx.params.quantize ?? 'uniform:4',
    technology: ctx.params.technology ?? 'cmos-22nm',
  };
}

export const adcSizingStudy: Study = {
  name: 'adc-sizing',
  description: 'accuracy against ADC bits and range rule, lossless bits marked',
  params: ['model', 'device', 'circuit', 'quantize', 'technology', 'wireResistance', 'accessResistance'],
  defaultTrials: { quick: 5, full: 50 },
  data: { quick: { trainLimit: 2000, testLimit: 2000 }, full: {} },
  configurations(ctx) {
    // Check the settings now, before the run directory is stamped with them.
    const s = settings(ctx);
    if (!fs.existsSync(s.model) || !fs.statSync(s.model).isDirectory())
      throw new InputError(`--model ${s.model}: model directory not found`);
    const device = loadDeviceCard(s.device);
    const card = loadCircuitCard(s.circuit);
    // The study sets the slicing of every design itself (the card's mapping, then its sliced designs).
    if (card.slicing)
      throw new InputError(
        `--circuit ${s.circuit}: adc-sizing sweeps bit slicing itself; give a card without weightSlices / bitsPerCell`,
      );
    loadTechnologyCard(s.technology);
    if (s.quantize !== 'none') parseWeightQuantizer(s.quantize);
    const bits = ctx.mode === 'quick' ? [3, 5, 7, 9, 11] : [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const designs = slicedDesigns(resolveDevice(device).levels.length, card.mapping);
    // The card's own mapping at every range and resolution; the sliced designs too in --full, and in
    // --quick the widest one at the calibrated range (minutes, not tens of them).
    const grid = [
      ...RANGES.flatMap((r) => bits.map((b) => ({ r, b, slicing: null as SliceSpec | null }))),
      ...(ctx.mode === 'quick' ? designs.slice(0, 1) : designs).flatMap((slicing) =>
        (ctx.mode === 'quick' ? RANGES.slice(1) : RANGES).flatMap((r) =>
          bits.map((b) => ({ r, b, slicing })),
        ),
      ),
    ];
    return grid.map(({ r, b, slicing }) => ({
      // Unsliced keys are as before slicing existed, so their records still resume.
      key: `${r.name}/${b}${slicing ? `/slices-${sliceName(slicing)}` : ''}`,
      async run(c: StudyContext) {
        const s = settings(c);
        const desc = await loadNetwork(s.model);
        // A sliced design quantises the weights itself (to integers of slices x bits per cell).
        const quantize = slicing ? 'none' : s.quantize;
        const circuit = withOverrides(loadCircuitCard(s.circuit), { adcBits: b, adcRange: r.range, slicing });
        const quantized = quantize === 'none' ? desc : quantizeNetwork(desc, parseWeightQuantizer(quantize));
        const lossless = losslessBitsTable(quantized, circuit);
        const { technology, ...setup } = s;
        const sim = await simulateConfig(
          c,
          String(desc.meta.dataset ?? 'mnist'),
          {
            ...setup,
            quantize: quantize === 'none' ? undefined : quantize,
            adcBits: b,
            adcRange: r.range,
            ...(slicing && { weightSlices: slicing.slices, bitsPerCell: slicing.bitsPerCell }),
          },
          desc,
          { technology, columnsPerAdc: COLUMNS_PER_ADC },
        );
        return {
          ...s,
          quantize,
          ...(slicing && { slicing: sliceName(slicing) }),
          range: r.name,
          adcBits: b,
          lossless,
          ...sim,
        };
      },
    }));
  },
  async report(records: ResultRecord[], out: string) {
    const rows = records.map((r) => ({
      // Sliced designs are their own curves.
      range: typeof r.slicing === 'string' ? `${r.range}, ${designOf(r)}` : String(r.range),
      adcBits: Number(r.adcBits),
      mean: 100 * Number(r.mean),
      lo: 100 * (r.ci95 as number[])[0],
      hi: 100 * (r.ci95 as number[])[1],
      nominal: 100 * Number(r.nominalAccuracy),
      clip: (r.clipRate as number[]).map((c) => (100 * c).toFixed(3)).join(' / '),
    }));
    // The card's own design names the figures (its quantiser, its lossless bits).
    const first = records.find((r) => r.slicing === undefined) ?? records[0] ?? {};
    const lossless = (first.lossless ?? []) as Array<{ layer: string; losslessBits: number | null }>;
    const spec = errorBarChart({
      rows,
      x: 'adcBits',
      group: 'range',
      title: 'Accuracy against ADC resolution',
      subtitle: `${first.model ? path.basename(String(first.model)) : ''}, ${first.quantize} weights, ${first.device}, ${first.circuit}; band: 95 % CI over chips; rules: lossless bits`,
      xTitle: 'ADC bits',
      yTitle: 'test accuracy (%)',
      groupTitle: 'ADC range, weights',
      rules: losslessRules(lossless),
    });
    const chartFiles = await writeChart(spec, path.join(out, 'adc-sizing'));
    const costed = records.filter((r) => Array.isArray(r.cost)) as Array<
      ResultRecord & { cost: CostSummary[] }
    >;
    const pareto = costed.length ? paretoFigure(costed, first) : null;
    if (pareto) chartFiles.push(...(await writeChart(pareto, path.join(out, 'adc-pareto'))));
    const table = markdownTable(
      [
        'ADC range, weights',
        'ADC bits',
        'mean accuracy (%)',
        '95 % CI (%)',
        'nominal chip (%)',
        'clipping per layer (%)',
      ],
      rows
        .sort((a, b) => a.range.localeCompare(b.range) || a.adcBits - b.adcBits)
        .map((r) => [
          r.range,
          r.adcBits,
          r.mean.toFixed(2),
          `${r.lo.toFixed(2)} .. ${r.hi.toFixed(2)}`,
          r.nominal.toFixed(2),
          r.clip,
        ]),
    );
    const losslessText = lossless
      .map((l) => `- ${l.layer}: ${l.losslessBits ?? 'n/a (ideal DAC)'} bits`)
      .join('\n');
    writeFileAtomic(
      path.join(out, 'summary.md'),
      `# ADC sizing\n\nLossless ADC resolution per analog layer (${first.quantize} weights on the card's mapping):\n\n${losslessText}\n\n${table}\n\n![ADC sizing](adc-sizing.png)\n` +
        (pareto ? `\n${costTable(costed)}\n\n![accuracy against cost](adc-pareto.png)\n` : ''),
    );
    writeFileAtomic(path.join(out, 'results.csv'), tidyCsv(records));
    return [...chartFiles, ...['summary.md', 'results.csv'].map((f) => path.join(out, f))];
  },
};

/**
 * Bit-slicing designs for a device of `levels` levels (b = floor(log2 levels) bits per cell): one and
 * two slices of b bits, and two of b - 1 (b >= 2), widest first. None for offset mapping (slicing is
 * differential only).
 */
function slicedDesigns(levels: number, mapping: string): SliceSpec[] {
  if (mapping !== 'differential') return [];
  const b = Math.floor(Math.log2(levels));
  return [
    { slices: 2, bitsPerCell: b },
    { slices: 1, bitsPerCell: b },
    ...(b >= 2 ? [{ slices: 2, bitsPerCell: b - 1 }] : []),
  ];
}

const sliceName = (s: SliceSpec): string => `${s.slices}x${s.bitsPerCell}`;

/** A record's weight design: its slicing, or the card's mapping of its quantised weights. */
function designOf(r: Record<string, unknown>): string {
  if (typeof r.slicing === 'string') {
    const [slices, b] = r.slicing.split('x');
    return `${slices} slice${slices === '1' ? '' : 's'} x ${b} bits`;
  }
  return `${r.quantize}, one cell pair`;
}

/** One labelled rule per distinct lossless resolution (layers sharing one are named together). */
function losslessRules(
  rows: ReadonlyArray<{ layer: string; losslessBits: number | null }>,
): Array<{ x: number; label: string }> {
  const byBits = new Map<number, string[]>();
  for (const r of rows)
    if (r.losslessBits !== null) byBits.set(r.losslessBits, [...(byBits.get(r.losslessBits) ?? []), r.layer]);
  return [...byBits].map(([x, layers]) => ({ x, label: `${layers.join(', ')} lossless` }));
}

/**
 * Design points: every (range, bits) at every ADC sharing costed. Energy does not depend on the sharing,
 * so only the first sharing's points carry it (one point per design on the energy axis).
 */
function designPoints(records: ReadonlyArray<ResultRecord & { cost: CostSummary[] }>): ParetoPoint[] {
  return records.flatMap((r) =>
    r.cost.map((c, k) => ({
      label: `${designOf(r)}, ${r.range}, ${r.adcBits} bits, ${c.columnsPerAdc} col/ADC`,
      group: designOf(r),
      shape: `${r.range}, ${c.columnsPerAdc} col/ADC`,
      accuracy: 100 * Number(r.mean),
      lo: 100 * (r.ci95 as number[])[0],
      hi: 100 * (r.ci95 as number[])[1],
      cost: {
        area: c.adcAreaSquareMeters * 1e6,
        ...(k === 0 && { energy: c.energyJoules.total * 1e9 }),
      },
    })),
  );
}

function paretoFigure(
  records: ReadonlyArray<ResultRecord & { cost: CostSummary[] }>,
  first: Record<string, unknown>,
): VegaLiteSpec {
  const c = records[0].cost[0];
  return paretoChart({
    points: designPoints(records),
    axes: [
      { key: 'energy', title: 'energy per inference (nJ)' },
      { key: 'area', title: 'ADC area (mm^2)', log: true },
    ],
    title: 'Accuracy against cost: ADC bits x range rule x columns per ADC x bit slicing',
    subtitle: `${first.model ? path.basename(String(first.model)) : ''}, ${first.quantize} weights, ${first.device}, ${first.circuit}; ${c.technology}, ADC model ${c.adcModel}; bars: 95 % CI over chips; ringed and dashed: the Pareto front`,
    yTitle: 'test accuracy (%)',
    groupTitle: 'weights',
    shapeTitle: 'ADC range, sharing',
  });
}

/** Energy, ADC area and latency per design point, with its place on each Pareto front. */
function costTable(records: ReadonlyArray<ResultRecord & { cost: CostSummary[] }>): string {
  const points = designPoints(records);
  const costs = records.flatMap((r) => r.cost);
  const onFront = (key: string) => {
    const indices = points.map((_p, i) => i).filter((i) => key in points[i].cost);
    const front = paretoFront(
      indices.map((i) => ({ accuracy: points[i].accuracy, cost: points[i].cost[key] })),
    );
    return new Set(front.map((j) => indices[j]));
  };
  const energyFront = onFront('energy');
  const areaFront = onFront('area');
  return markdownTable(
    [
      'design',
      'mean accuracy (%)',
      'energy (nJ)',
      'ADC area (mm^2)',
      'latency (ns)',
      'Pareto: energy (first sharing) / area',
    ],
    points.map((p, i) => [
      p.label,
      p.accuracy.toFixed(2),
      (costs[i].energyJoules.total * 1e9).toPrecision(3),
      (costs[i].adcAreaSquareMeters * 1e6).toPrecision(3),
      (costs[i].latencySeconds * 1e9).toPrecision(3),
      `${energyFront.has(i) ? 'yes' : ''} / ${areaFront.has(i) ? 'yes' : ''}`,
    ]),
  );
}
