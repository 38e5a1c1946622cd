/**
 * Report of the dense-resolution study: Markdown summary with tables, CSV files, and figures
 * (accuracy per case and head; accuracy against ADC bits with the lossless resolutions marked;
 * histogram of dense-layer inputs with the fitted exponential density and the two thresholds).
 */
import * as path from 'node:path';
import { errorBarChart } from '../../report/errorBarChart';
import { binValues, histogramWithDensity } from '../../report/histogram';
import { type VegaLiteSpec, writeChart } from '../../report/render';
import { formatNumber, markdownTable, tidyCsv, toCsv } from '../../report/tables';
import { baseConfig, PALETTE } from '../../report/theme';
import { writeFileAtomic } from '../../util/files';
import type { ResultRecord } from '../results';
import type { AdcResult, DenseResolutionRecord } from './denseResolution';
import { CASE_GROUPS, FLOAT_INPUT_DAC_BITS, MAX_CONVERTER_BITS, denseCases } from './denseResolutionCases';

type Rec = DenseResolutionRecord & ResultRecord;

const pct = (v: number) => 100 * v;
const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
const slug = (s: string) =>
  s
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

function distinctInOrder<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** The finite ADC setting nearest to lossless: lossless itself, or 16 bits when lossless exceeds the card. */
function nearestLossless(r: Rec): AdcResult | undefined {
  return r.adc
    .filter((a) => a.adcBits !== 'ideal')
    .sort((a, b) => (a.belowLossless ?? 0) - (b.belowLossless ?? 0))[0];
}

function idealAdc(r: Rec): AdcResult | undefined {
  return r.adc.find((a) => a.adcBits === 'ideal');
}

function sortRecords(records: Rec[]): Rec[] {
  const caseOrder = new Map([...denseCases(), ...denseCases('fixed')].map((c, i) => [c.id, i]));
  const datasets = distinctInOrder(records.map((r) => r.dataset));
  const heads = distinctInOrder(records.map((r) => r.head));
  return [...records].sort(
    (a, b) =>
      datasets.indexOf(a.dataset) - datasets.indexOf(b.dataset) ||
      heads.indexOf(a.head) - heads.indexOf(b.head) ||
      (caseOrder.get(a.case) ?? 99) - (caseOrder.get(b.case) ?? 99),
  );
}

/** The case id without the quantiser family's prefix (`fixed-w3` and `fixedmax-w3` are both `w3`). */
export function baseCaseId(id: string): string {
  return id.replace(/^fixed(max)?-/, '');
}

/** The quantiser family of a case: uniform:B, or the source study's truncation in one of its readings. */
export function caseFamily(id: string): 'uniform:B' | 'fixed:B' | 'fixed:B@max' {
  return id.startsWith('fixedmax-') ? 'fixed:B@max' : id.startsWith('fixed-') ? 'fixed:B' : 'uniform:B';
}

/** Digital accuracy of the float head this record's case belongs with (same dataset, head and family). */
function floatOf(records: Rec[], r: Rec): number | undefined {
  return records.find(
    (x) =>
      x.dataset === r.dataset &&
      x.head === r.head &&
      baseCaseId(x.case) === 'float' &&
      caseFamily(x.case) === caseFamily(r.case),
  )?.digitalAccuracy;
}

/** The source study's legend order (its Fig. 4): Depth 0, Initial, Width 1..3, Depth 2, Depth 3. */
const PAPER_HEAD_ORDER = ['depth0', 'initial', 'width1', 'width2', 'width3', 'depth2', 'depth3'];

/** The source study's Fig. 4 panels: which cases each holds (base ids) and the bar label of each. */
const FIG4_PANELS: ReadonlyArray<{ panel: string; cases: ReadonlyArray<[string, string]> }> = [
  {
    panel: '(a) weights',
    cases: [
      ['w2', '2 bits'],
      ['w3', '3 bits'],
      ['w4', '4 bits'],
    ],
  },
  {
    panel: '(b) inputs',
    cases: [
      ['i2', '2 bits'],
      ['i3', '3 bits'],
    ],
  },
  {
    panel: '(c) 3-bit weights, inputs',
    cases: [
      ['w3i2', '2 bits'],
      ['w3i3', '3 bits'],
    ],
  },
  {
    panel: '(d) binary weights, inputs',
    cases: [
      ['binary-i1', '1 bit'],
      ['binary-i2', '2 bits'],
      ['binary-i3', '3 bits'],
      ['binary-i4', '4 bits'],
    ],
  },
  {
    panel: '(e) ternary weights, inputs',
    cases: [
      ['ternary-i1', '1 bit'],
      ['ternary-i2', '2 bits'],
      ['ternary-i3', '3 bits'],
      ['ternary-i4', '4 bits'],
    ],
  },
  {
    panel: '(f) trained binary / ternary',
    cases: [
      ['binary', 'binary'],
      ['ternary', 'ternary'],
    ],
  },
];

/**
 * The source study's Fig. 4 from these records: digital accuracy degradation in points per head, bars in
 * the paper's legend order. (a)-(c) against the float head, (d)-(e) against the trained binary / ternary
 * head itself (the case's floatAccuracy), (f) the trained binary / ternary head against the float head.
 * One figure per dataset and quantiser family; null when the records hold none of its cases.
 */
export function degradationChart(records: Rec[], dataset: string, family: string): VegaLiteSpec | null {
  const rows = records.flatMap((r) => {
    if (r.dataset !== dataset || caseFamily(r.case) !== family) return [];
    const base = baseCaseId(r.case);
    const panel = FIG4_PANELS.find((p) => p.cases.some(([id]) => id === base));
    if (!panel) return [];
    const reference = panel.panel.startsWith('(f)') ? floatOf(records, r) : r.floatAccuracy;
    if (reference === undefined) return [];
    const label = panel.cases.find(([id]) => id === base)![1];
    return [{ panel: panel.panel, label, head: r.head, degradation: pct(reference - r.digitalAccuracy) }];
  });
  if (rows.length === 0) return null;
  const heads = PAPER_HEAD_ORDER.filter((h) => rows.some((r) => r.head === h));
  const panels = FIG4_PANELS.map((p) => p.panel).filter((p) => rows.some((r) => r.panel === p));
  const first = records.find((r) => r.dataset === dataset);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Accuracy degradation of the dense heads on ${dataset}, ${family} (the source study's Fig. 4)`,
      subtitle: [
        `digital, ${first?.testImages} test images; (a)-(c) against the float head, (d)-(e) against the trained`,
        'binary / ternary head, (f) trained binary / ternary head against the float head; in points',
      ],
    },
    config: baseConfig(),
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelFontSize: 13 } },
    columns: 3,
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      // With an xOffset channel the step sizes one offset band: one head's bar.
      width: { step: 9 },
      height: 200,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'label', type: 'ordinal', title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'head', type: 'nominal', sort: heads },
        y: { field: 'degradation', type: 'quantitative', title: 'degradation (points)' },
        color: {
          field: 'head',
          type: 'nominal',
          title: 'head',
          sort: heads,
          scale: { domain: heads, range: PALETTE },
        },
      },
    },
  } as unknown as VegaLiteSpec;
}

/**
 * The source study's Fig. 5(a): every input of the first dense layer, zeros included, as shares of all
 * inputs: the exact zeros as one bar left of 0, the non-zero sample's equal-width bins scaled to the
 * non-zero share.
 */
export function inputsWithZerosChart(records: Rec[], dataset: string, head: string): VegaLiteSpec | null {
  const h = records.find((x) => x.dataset === dataset && x.head === head && x.inputHistogram)?.inputHistogram;
  if (!h || h.sample.length === 0) return null;
  const bins = binValues(h.sample, 60);
  const width = bins[0].x1 - bins[0].x0;
  const nonZeroShare = h.nonZero / h.total;
  const rows = [
    { x0: -width, x1: 0, share: 100 * (1 - nonZeroShare), kind: 'exactly 0' },
    ...bins.map((b) => ({
      x0: b.x0,
      x1: b.x1,
      share: (100 * b.count * nonZeroShare) / h.sample.length,
      kind: 'non-zero',
    })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `First dense layer's inputs with zeros, paper2:${head} (${dataset})`,
      subtitle: [
        `${h.layer}: ${fmt(100 * (1 - nonZeroShare), 1)} % of ${h.total} calibration inputs are exactly 0;`,
        "the source study's Fig. 5(a) (Fig. 5(b), without zeros: the other histogram)",
      ],
    },
    config: baseConfig(),
    width: 520,
    height: 260,
    data: { values: rows },
    mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'x0', type: 'quantitative', title: 'dense-layer input' },
      x2: { field: 'x1' },
      y: { field: 'share', type: 'quantitative', title: 'share of all inputs (%)' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['exactly 0', 'non-zero'], range: ['#D55E00', '#8fb8de'] },
      },
    },
  } as unknown as VegaLiteSpec;
}

function headsTable(records: Rec[]): string {
  const keys = distinctInOrder(records.map((r) => `${r.dataset}\u0000${r.head}`));
  const rows = keys.map((k) => {
    const [dataset, head] = k.split('\u0000');
    const get = (id: string) =>
      records.find((r) => r.dataset === dataset && r.head === head && r.case === id);
    const f = get('float');
    return [
      dataset,
      `paper2:${head}`,
      fmt(f ? pct(f.digitalAccuracy) : null),
      fmt(
        f?.modelTestAccuracy !== null && f?.modelTestAccuracy !== undefined ? pct(f.modelTestAccuracy) : null,
      ),
      fmt(get('binary') ? pct(get('binary')!.digitalAccuracy) : null),
      fmt(get('ternary') ? pct(get('ternary')!.digitalAccuracy) : null),
    ];
  });
  return markdownTable(
    [
      'dataset',
      'architecture',
      'float head (%)',
      'float, TF.js at training (%)',
      'binary head, STE (%)',
      'ternary head, STE (%)',
    ],
    rows,
  );
}

function casesTable(records: Rec[]): string {
  return markdownTable(
    [
      'dataset',
      'head',
      'case',
      'weights',
      'inputs',
      'w bits',
      'l = DAC bits',
      'lossless ADC bits',
      'digital (%)',
      'vs float (pp)',
      'ideal ADC (%)',
      'chip at lossless (%)',
      'ADC sweep: bits mean % [95 % CI]',
    ],
    records.map((r) => {
      const f = floatOf(records, r);
      const near = nearestLossless(r);
      const ideal = idealAdc(r);
      const sweep = r.adc
        .filter((a) => a.adcBits !== 'ideal')
        .map((a) => `${a.adcBits}: ${fmt(pct(a.mean))} [${fmt(pct(a.ci95[0]))}, ${fmt(pct(a.ci95[1]))}]`)
        .join('; ');
      return [
        r.dataset,
        r.head,
        r.case,
        r.weights,
        r.input,
        r.weightBits,
        r.inputBits,
        r.losslessBits,
        fmt(pct(r.digitalAccuracy)),
        f === undefined ? 'n/a' : fmt(pct(r.digitalAccuracy - f)),
        fmt(ideal ? pct(ideal.mean) : null),
        near && near.belowLossless === 0 ? fmt(pct(near.mean)) : `n/a (> ${MAX_CONVERTER_BITS} bits)`,
        sweep,
      ];
    }),
  );
}

function fitRows(records: Rec[]) {
  return records.flatMap((r) =>
    r.fits.map((f) => ({
      dataset: r.dataset,
      head: r.head,
      case: r.case,
      training: r.training,
      layer: f.layer,
      rule: f.rule,
      x0: f.x0,
      beta: f.beta,
      threshold: f.threshold,
      high: f.high,
    })),
  );
}

function fitsTable(records: Rec[]): string {
  return markdownTable(
    ['dataset', 'head', 'case', 'trained', 'layer', 'rule', 'x0', 'beta', 'threshold', 'high'],
    fitRows(records).map((f) => [
      f.dataset,
      f.head,
      f.case,
      f.training,
      f.layer,
      f.rule,
      f.x0,
      f.beta,
      f.threshold,
      f.high,
    ]),
  );
}

/** One row per case and ADC setting (long format for R / pandas). */
function csvRows(records: Rec[]) {
  return records.flatMap((r) =>
    r.adc.map((a) => ({
      key: r.key,
      dataset: r.dataset,
      head: r.head,
      case: r.case,
      group: r.group,
      training: r.training,
      weights: r.weights,
      input: r.input,
      weightBits: r.weightBits,
      inputBits: r.inputBits,
      dacBits: r.dacBits,
      losslessBits: r.losslessBits,
      testImages: r.testImages,
      floatAccuracy: r.floatAccuracy,
      digitalAccuracy: r.digitalAccuracy,
      adcBits: a.adcBits,
      belowLossless: a.belowLossless,
      nominalChip: a.nominal,
      mean: a.mean,
      std: a.std,
      ci95Low: a.ci95[0],
      ci95High: a.ci95[1],
      trials: a.perTrial.length,
      perTrial: a.perTrial,
      clipRate: a.clipRate,
    })),
  );
}

/**
 * Accuracy per case: digital (hollow diamond) and the chip at the ADC nearest lossless (dot, mean ± 1
 * std over chips: with the few chips of a quick run a 95 % CI is mostly the t quantile). One panel per
 * case group, three to a row (one column of 24 cases x 7 heads runs to several pages); cases run down
 * each panel's y axis, heads side by side within each case.
 */
function caseChart(records: Rec[], dataset: string): VegaLiteSpec {
  // Every record the study writes has finite ADC settings; one without (nothing to plot on the chip)
  // is left out.
  const rows = records.flatMap((r) => {
    const near = r.dataset === dataset ? nearestLossless(r) : undefined;
    if (!near) return [];
    const chip = pct(near.mean);
    const std = pct(near.std);
    return [
      {
        group: r.group,
        case: r.case,
        head: r.head,
        digital: pct(r.digitalAccuracy),
        chip,
        lo: chip - std,
        hi: chip + std,
      },
    ];
  });
  const cases = distinctInOrder(rows.map((r) => r.case));
  const groups = distinctInOrder(rows.map((r) => r.group));
  const heads = distinctInOrder(rows.map((r) => r.head));
  const y = {
    field: 'case',
    type: 'nominal',
    title: null,
    sort: cases,
    // Equal label room in every panel, so that the panels line up.
    axis: { labelLimit: 300, minExtent: 140, maxExtent: 140 },
    scale: { paddingInner: 0.2 },
  };
  const yOffset = { field: 'head', type: 'nominal', sort: heads };
  const x = { type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false, padding: 10 } };
  const color = { field: 'head', type: 'nominal', title: 'head', scale: { domain: heads, range: PALETTE } };
  // Constant shapes as datum: no per-layer transforms.
  const shape = (measure: string) => ({
    datum: measure,
    type: 'nominal',
    title: 'measure',
    scale: { domain: ['digital', 'chip (lossless ADC)'], range: ['diamond', 'circle'] },
  });
  const first = records.find((r) => r.dataset === dataset);
  const trials = first ? (nearestLossless(first)?.perTrial.length ?? 0) : 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Dense-head resolution on ${dataset}: accuracy per case`,
      subtitle: [
        `${first?.testImages} test images, ${trials} chips; hollow diamond: digital (quantised, no crossbar);`,
        'dot and bar: chip mean ± 1 std, ADC at the lossless bits (16 where lossless > 16)',
      ],
    },
    config: baseConfig(),
    data: { values: rows },
    facet: { field: 'group', type: 'nominal', sort: groups, title: null, header: { labelFontSize: 13 } },
    columns: 3,
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
    spec: {
      width: 300,
      // With a yOffset channel the step sizes each offset band (one head), not a whole case: at least
      // about 28 px a case, so that a quick run's two heads do not squash the panels.
      height: { step: Math.max(8, Math.round(28 / heads.length)) },
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { y, yOffset, x: { ...x, field: 'lo' }, x2: { field: 'hi' }, color },
        },
        {
          mark: { type: 'point', filled: true, size: 30, opacity: 1 },
          encoding: { y, yOffset, x: { ...x, field: 'chip' }, color, shape: shape('chip (lossless ADC)') },
        },
        {
          mark: { type: 'point', filled: false, size: 45, strokeWidth: 1.4, opacity: 1 },
          encoding: { y, yOffset, x: { ...x, field: 'digital' }, color, shape: shape('digital') },
        },
      ],
    },
  } as unknown as VegaLiteSpec;
}

/** Cases sharing a lossless resolution: listed, or as `prefix-*` when they share an id prefix (the label runs up a rule). */
export function ruleLabel(ids: string[]): string {
  const joined = ids.join(', ');
  if (ids.length < 2 || joined.length <= 20) return joined;
  let prefix = ids[0];
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  prefix = prefix.slice(0, prefix.lastIndexOf('-') + 1);
  return prefix.length >= 3 ? `${prefix}*` : joined;
}

/** Accuracy against ADC bits for one group of cases on one head, lossless resolutions as labelled rules. */
function adcChart(records: Rec[], dataset: string, head: string, group: string): VegaLiteSpec | null {
  const sel = records.filter((r) => r.dataset === dataset && r.head === head && r.group === group);
  const rows = sel.flatMap((r) =>
    r.adc
      .filter((a) => a.adcBits !== 'ideal')
      .map((a) => ({ case: r.case, adcBits: a.adcBits as number, mean: pct(a.mean), std: pct(a.std) })),
  );
  if (rows.length === 0) return null;
  const byBits = new Map<number, string[]>();
  for (const r of sel) byBits.set(r.losslessBits, [...(byBits.get(r.losslessBits) ?? []), r.case]);
  const rules = [...byBits.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([x, ids]) => ({ x, label: `${ruleLabel(ids)} lossless` }));
  const trials = sel[0]?.adc[0]?.perTrial.length ?? 0;
  const spec = errorBarChart({
    rows,
    x: 'adcBits',
    group: 'case',
    title: `${group} on paper2:${head} (${dataset}): accuracy against ADC bits`,
    subtitle: `line and band: mean ± 1 std over ${trials} chips; dashed: lossless bits per case${rules.some((r) => r.x > MAX_CONVERTER_BITS) ? ` (above ${MAX_CONVERTER_BITS}: simulated at ${MAX_CONVERTER_BITS} and below)` : ''}; dotted: ideal ADC`,
    xTitle: 'ADC bits',
    yTitle: 'test accuracy (%)',
    groupTitle: 'case',
    rules,
  }) as unknown as { layer: Record<string, unknown>[] };
  // Whole-bit ticks at every simulated and every lossless resolution.
  const ticks = [...new Set([...rows.map((r) => r.adcBits), ...rules.map((r) => r.x)])].sort((a, b) => a - b);
  for (const l of spec.layer) {
    const enc = l.encoding as Record<string, Record<string, unknown>> | undefined;
    if (enc?.x) enc.x = { ...enc.x, axis: { values: ticks, format: 'd' } };
    // Rule labels run up along their rules, so labels of neighbouring resolutions do not overlap.
    const mark = l.mark as { type?: string } | undefined;
    if (mark?.type === 'text')
      l.mark = { ...mark, angle: -90, align: 'left', baseline: 'bottom', dx: 6, dy: -4 };
  }
  // The ideal ADC of each case as a dotted level, in the case's colour.
  const cases = distinctInOrder(rows.map((r) => r.case));
  const ideal = sel.flatMap((r) => {
    const a = idealAdc(r);
    return a ? [{ case: r.case, idealMean: pct(a.mean) }] : [];
  });
  if (ideal.length)
    spec.layer.push({
      data: { values: ideal },
      mark: { type: 'rule', strokeDash: [2, 3], strokeWidth: 1.5, opacity: 0.9 },
      encoding: {
        y: { field: 'idealMean', type: 'quantitative', title: 'test accuracy (%)' },
        // Same field, title and domain as the lines: Vega-Lite merges this into their legend.
        color: { field: 'case', type: 'nominal', title: 'case', scale: { domain: cases, range: PALETTE } },
      },
    });
  return spec as unknown as VegaLiteSpec;
}

/** Histogram of a first dense layer's non-zero inputs with the fitted exponential and both thresholds. */
function inputHistogramChart(records: Rec[], dataset: string, head: string): VegaLiteSpec | null {
  const r = records.find((x) => x.dataset === dataset && x.head === head && x.inputHistogram);
  const h = r?.inputHistogram;
  if (!r || !h || h.sample.length === 0) return null;
  const maxX = Math.max(...h.sample);
  const points = 200;
  const density = Array.from({ length: points + 1 }, (_, i) => {
    const x = h.x0 + ((maxX - h.x0) * i) / points;
    return { x, y: Math.exp(-(x - h.x0) / h.beta) / h.beta };
  });
  const spec = histogramWithDensity({
    values: h.sample,
    density,
    title: `Inputs of the first dense layer, paper2:${head} (${dataset}, float-trained)`,
    xTitle: 'dense-layer input',
    histogramLabel: 'non-zero inputs',
    densityLabel: 'fitted exponential',
    bins: 60,
  }) as unknown as { layer: Record<string, unknown>[]; title: unknown };
  spec.title = {
    text: `Inputs of the first dense layer, paper2:${head} (${dataset}, float-trained)`,
    subtitle: [
      `${h.layer}: non-zero inputs ${h.nonZero} of ${h.total} (${fmt((100 * h.nonZero) / h.total, 1)} %), ${h.sample.length} plotted`,
      `exponential fit: x0 = ${formatNumber(h.x0)}, beta = ${formatNumber(h.beta)}; dashed: 1-bit thresholds x0 + beta, x0 + beta ln 4`,
    ],
  };
  const thresholds = [
    { x: h.x0 + h.beta, label: 'mean threshold' },
    { x: h.x0 + h.beta * Math.log(4), label: 'q3 threshold' },
  ];
  spec.layer.push(
    {
      data: { values: thresholds },
      mark: { type: 'rule', strokeDash: [5, 4], color: '#333333', strokeWidth: 1.5 },
      encoding: { x: { field: 'x', type: 'quantitative', title: 'dense-layer input' } },
    },
    {
      data: { values: thresholds },
      mark: {
        type: 'text',
        angle: -90,
        align: 'right',
        baseline: 'bottom',
        dx: -8,
        dy: -4,
        fontSize: 12,
        color: '#333333',
      },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'dense-layer input' },
        y: { value: 0 },
        text: { field: 'label' },
      },
    },
  );
  return spec as unknown as VegaLiteSpec;
}

export async function writeDenseResolutionReport(all: Rec[], out: string): Promise<string[]> {
  const records = sortRecords(all);
  const files: string[] = [];
  const chart = async (spec: VegaLiteSpec | null, base: string) => {
    if (!spec) return null;
    await writeChart(spec, path.join(out, base));
    files.push(...['svg', 'png', 'vl.json'].map((e) => path.join(out, `${base}.${e}`)));
    return `${base}.png`;
  };
  const datasets = distinctInOrder(records.map((r) => r.dataset));
  const sections: string[] = [];
  for (const ds of datasets) {
    const dsRecords = records.filter((r) => r.dataset === ds);
    const heads = distinctInOrder(dsRecords.map((r) => r.head));
    const parts: string[] = [`## ${ds}`];
    const casePng = await chart(caseChart(records, ds), `cases-${slug(ds)}`);
    if (casePng) parts.push(`![accuracy per case](${casePng})`);
    for (const family of ['uniform:B', 'fixed:B', 'fixed:B@max']) {
      const png = await chart(degradationChart(records, ds, family), `fig4-${slug(ds)}-${slug(family)}`);
      if (png) parts.push(`![degradation, ${family}](${png})`);
    }
    for (const head of heads) {
      parts.push(`### paper2:${head}`);
      const hist = await chart(inputHistogramChart(records, ds, head), `inputs-${slug(ds)}-${slug(head)}`);
      if (hist) parts.push(`![dense-layer inputs](${hist})`);
      const all = await chart(
        inputsWithZerosChart(records, ds, head),
        `inputs-zeros-${slug(ds)}-${slug(head)}`,
      );
      if (all) parts.push(`![dense-layer inputs, zeros included](${all})`);
      for (const g of CASE_GROUPS) {
        const png = await chart(adcChart(records, ds, head, g), `adc-${slug(ds)}-${slug(head)}-${slug(g)}`);
        if (png) parts.push(`![${g}](${png})`);
      }
    }
    sections.push(parts.join('\n\n'));
  }
  const md = [
    '# Dense-layer resolution (paper2 CNNs)',
    `Conv layers float and digital; dense layers on \`hfo2-1t1r-igvva-8\` crossbars, 128 x 128 tiles, differential pairs, full-scale ADC range. ` +
      `Lossless ADC bits z = log2(d) + w + l (minus 1 when w = 1 or l = 1), d = 128 rows; w: binary 1, ternary 2, uniform:B B, float weights 4 ` +
      `(the 15 differential values of the 8-level device); l = DAC bits: uniform:B inputs B, 1-bit expfit inputs 1, float inputs ${FLOAT_INPUT_DAC_BITS}. ` +
      `Resolutions above ${MAX_CONVERTER_BITS} bits are simulated at ${MAX_CONVERTER_BITS}. Accuracies in %; CI: 95 % over chips.`,
    '## Float, binary and ternary heads',
    headsTable(records),
    '## Every case',
    casesTable(records),
    '## Exponential fits of the dense-layer inputs (1-bit threshold cases)',
    fitRows(records).length ? fitsTable(records) : 'No expfit case in these records.',
    ...sections,
  ].join('\n\n');
  writeFileAtomic(path.join(out, 'summary.md'), md + '\n');
  writeFileAtomic(path.join(out, 'results.csv'), tidyCsv(csvRows(records)));
  writeFileAtomic(path.join(out, 'fits.csv'), toCsv(fitRows(records)));
  files.push(...['summary.md', 'results.csv', 'fits.csv'].map((f) => path.join(out, f)));
  return files;
}
