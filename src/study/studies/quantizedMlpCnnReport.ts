/**
 * Report of the quantized-mlp-cnn study: accuracy-vs-hidden-units panels (crossbar and digital), mean
 * accuracy per dataset and network type with 1-std error bars, a box plot of synapse counts, the
 * Kruskal-Wallis test of MLP vs CNN accuracies per dataset, Markdown summary and long-format CSV.
 */
import * as path from 'node:path';
import { boxPlot } from '../../report/boxPlot';
import { errorBarChart } from '../../report/errorBarChart';
import { lineChart } from '../../report/lineChart';
import { writeChart } from '../../report/render';
import { markdownTable, toCsv } from '../../report/tables';
import { writeFileAtomic } from '../../util/files';
import { kruskalWallis, summarize } from '../../util/stats';
import { DEFAULT_TRAIN } from '../../nn/train';
import { QMC_BINARIZE, QMC_DIGITAL_LEVELS, type QmcRecord } from './quantizedMlpCnnGrid';

export type QmcView = 'crossbar' | 'digital';

const FLOAT = 'float';

function datasetLabel(d: string): string {
  return d === 'mnist' ? 'MNIST' : d === 'fashion-mnist' ? 'Fashion-MNIST' : d;
}

function pct(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? (100 * v).toFixed(2) : 'n/a';
}

/** Device level counts present in the records, ascending. */
function deviceLevels(records: readonly QmcRecord[]): number[] {
  return [...new Set(records.flatMap((r) => r.crossbar.map((c) => c.levels)))].sort((a, b) => a - b);
}

/** Series label of a precision in a view: float, "L levels" (crossbar) or "quantile:N" (digital). */
function seriesLabel(view: QmcView, levels: number | null): string {
  if (levels === null) return FLOAT;
  return view === 'crossbar' ? `${levels} levels` : `quantile:${levels}`;
}

/** (precision, accuracy) pairs of one network in a view, float first; crossbar values are Monte-Carlo means. */
function accuraciesOf(r: QmcRecord, view: QmcView): Array<{ levels: number | null; accuracy: number }> {
  const quantised =
    view === 'crossbar'
      ? r.crossbar.map((c) => ({ levels: c.levels, accuracy: c.mean }))
      : r.digital.map((d) => ({ levels: d.levels, accuracy: d.accuracy }));
  return [{ levels: null, accuracy: r.floatTestAccuracy }, ...quantised.sort((a, b) => a.levels - b.levels)];
}

export interface PanelFigure {
  file: string;
  title: string;
  records: QmcRecord[];
  panelOf(r: QmcRecord): string;
  columns: number;
}

/** Panels: one per hidden-layer count (MLP) or per filters x pool (CNN, one figure per block count). */
export function panelFigures(records: readonly QmcRecord[]): PanelFigure[] {
  const figures: PanelFigure[] = [];
  const datasets = [...new Set(records.map((r) => r.dataset))];
  for (const dataset of datasets) {
    const mine = records.filter((r) => r.dataset === dataset);
    const mlps = mine
      .filter((r) => r.netType === 'MLP')
      .sort((a, b) => a.hiddenLayers - b.hiddenLayers || a.hiddenUnits - b.hiddenUnits);
    if (mlps.length)
      figures.push({
        file: `accuracy-mlp-${dataset}`,
        title: `MLP on ${datasetLabel(dataset)}`,
        records: mlps,
        panelOf: (r) => `${r.hiddenLayers} hidden layer${r.hiddenLayers > 1 ? 's' : ''}`,
        columns: 2,
      });
    const blockCounts = [...new Set(mine.filter((r) => r.netType === 'CNN').map((r) => r.blocks))].sort();
    for (const blocks of blockCounts) {
      const cnns = mine
        .filter((r) => r.netType === 'CNN' && r.blocks === blocks)
        .sort((a, b) => a.filters - b.filters || a.pool - b.pool || a.hiddenUnits - b.hiddenUnits);
      figures.push({
        file: `accuracy-cnn${blocks}-${dataset}`,
        title: `CNN, ${blocks} conv block${blocks > 1 ? 's' : ''}, on ${datasetLabel(dataset)}`,
        records: cnns,
        panelOf: (r) => `${r.filters} filters, pool ${r.pool}x${r.pool}`,
        columns: 3,
      });
    }
  }
  return figures;
}

/** Line-chart rows of a panel figure: float first so that it takes the first colour and legend slot. */
export function lineRows(
  fig: PanelFigure,
  view: QmcView,
): Array<{ panel: string; hiddenUnits: number; series: string; accuracy: number }> {
  const rows = fig.records.flatMap((r) =>
    accuraciesOf(r, view).map((a) => ({
      panel: fig.panelOf(r),
      hiddenUnits: r.hiddenUnits,
      series: seriesLabel(view, a.levels),
      levels: a.levels ?? 0,
      accuracy: 100 * a.accuracy,
    })),
  );
  // Stable sort: panels keep the figure's order, series go float, then ascending levels.
  rows.sort((a, b) => a.levels - b.levels);
  return rows
    .filter((r) => Number.isFinite(r.accuracy))
    .map((r) => ({ panel: r.panel, hiddenUnits: r.hiddenUnits, series: r.series, accuracy: r.accuracy }));
}

export interface MeanRow {
  dataset: string;
  netType: string;
  group: string;
  precision: string;
  n: number;
  mean: number;
  std: number;
}

/** Mean and sample std over networks of each (dataset, network type) at each precision, in percent. */
export function meanAccuracyRows(records: readonly QmcRecord[], view: QmcView): MeanRow[] {
  const byKey = new Map<
    string,
    { dataset: string; netType: string; precision: string; order: number; values: number[] }
  >();
  for (const r of records) {
    for (const a of accuraciesOf(r, view)) {
      if (!Number.isFinite(a.accuracy)) continue;
      const precision = seriesLabel(view, a.levels);
      const k = `${r.dataset}\u0000${r.netType}\u0000${precision}`;
      if (!byKey.has(k))
        byKey.set(k, { dataset: r.dataset, netType: r.netType, precision, order: a.levels ?? 0, values: [] });
      byKey.get(k)!.values.push(100 * a.accuracy);
    }
  }
  return [...byKey.values()]
    .sort((a, b) => a.order - b.order)
    .map((g) => {
      const s = summarize(g.values);
      return {
        dataset: g.dataset,
        netType: g.netType,
        group: `${datasetLabel(g.dataset)} ${g.netType}`,
        precision: g.precision,
        n: s.n,
        mean: s.mean,
        std: s.std,
      };
    });
}

export interface KruskalRow {
  dataset: string;
  accuracy: string;
  nMlp: number;
  nCnn: number;
  medianMlp: number;
  medianCnn: number;
  statistic: number;
  df: number;
  pValue: number;
}

/** Kruskal-Wallis rank-sum test of MLP vs CNN accuracies per dataset: float test, then each device level count. */
export function kruskalRows(records: readonly QmcRecord[]): KruskalRow[] {
  const rows: KruskalRow[] = [];
  const datasets = [...new Set(records.map((r) => r.dataset))];
  const measures: Array<{ label: string; of(r: QmcRecord): number | undefined }> = [
    { label: 'float test', of: (r) => r.floatTestAccuracy },
    ...deviceLevels(records).map((levels) => ({
      label: `crossbar, ${levels} levels (mean over chips)`,
      of: (r: QmcRecord) => r.crossbar.find((c) => c.levels === levels)?.mean,
    })),
  ];
  for (const dataset of datasets) {
    for (const m of measures) {
      const values = (type: string) =>
        records
          .filter((r) => r.dataset === dataset && r.netType === type)
          .map((r) => m.of(r))
          .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const mlp = values('MLP');
      const cnn = values('CNN');
      if (mlp.length === 0 || cnn.length === 0) continue;
      const kw = kruskalWallis([mlp, cnn]);
      rows.push({
        dataset,
        accuracy: m.label,
        nMlp: mlp.length,
        nCnn: cnn.length,
        medianMlp: summarize(mlp).median,
        medianCnn: summarize(cnn).median,
        statistic: kw.statistic,
        df: kw.df,
        pValue: kw.pValue,
      });
    }
  }
  return rows;
}

/** One CSV row per network and stage: float train, float test, each digital quantile:N, each device. */
export function csvRows(records: readonly QmcRecord[]): object[] {
  return records.flatMap((r) => {
    const base = {
      dataset: r.dataset,
      arch: r.arch,
      netType: r.netType,
      hiddenLayers: r.hiddenLayers,
      hiddenUnits: r.hiddenUnits,
      blocks: r.blocks,
      filters: r.filters,
      pool: r.pool,
      synapses: r.synapses,
      epochs: r.epochs,
      trainImages: r.trainImages,
      testImages: r.testImages,
    };
    return [
      { ...base, stage: 'float-train', levels: '', accuracy: r.floatTrainAccuracy },
      { ...base, stage: 'float-test', levels: '', accuracy: r.floatTestAccuracy },
      ...r.digital.map((d) => ({
        ...base,
        stage: 'digital',
        levels: d.levels,
        quantize: `quantile:${d.levels}`,
        accuracy: d.accuracy,
      })),
      ...r.crossbar.map((c) => ({
        ...base,
        stage: 'crossbar',
        levels: c.levels,
        quantize: c.quantize,
        accuracy: c.mean,
        device: c.device,
        circuit: r.circuit,
        std: c.std,
        ci95Low: c.ci95[0],
        ci95High: c.ci95[1],
        min: c.min,
        max: c.max,
        quantizedAccuracy: c.quantizedAccuracy,
        nominalAccuracy: c.nominalAccuracy,
        trials: c.trials,
        perTrial: c.perTrial.join(' '),
      })),
    ];
  });
}

/**
 * Networks that died in training: float test accuracy below twice chance (20 %), or a ReLU layer with
 * every unit silent on the test images; with the dead units per layer where the record has them.
 */
function deadNetworksSection(records: readonly QmcRecord[]): string[] {
  const deadLayers = (r: QmcRecord) => (r.deadUnits ?? []).filter((l) => l.dead > 0);
  const died = records.filter(
    (r) => r.floatTestAccuracy < 0.2 || (r.deadUnits ?? []).some((l) => l.dead === l.units),
  );
  const lines = ['## Networks that died in training', ''];
  const withDead = records.filter((r) => deadLayers(r).length > 0).length;
  const counted = records.filter((r) => r.deadUnits).length;
  lines.push(
    `${died.length} of ${records.length} networks died (float test accuracy below 20 %, or a ReLU layer with no unit ` +
      `ever active on the test images).` +
      (counted
        ? ` ${withDead} of the ${counted} networks whose record counts dead units have at least one.`
        : ''),
    '',
  );
  if (died.length)
    lines.push(
      markdownTable(
        ['dataset', 'network', 'float test (%)', 'dead units per ReLU layer'],
        died.map((r) => [
          datasetLabel(r.dataset),
          r.arch,
          pct(r.floatTestAccuracy),
          r.deadUnits
            ? deadLayers(r)
                .map((l) => `${l.layer} ${l.dead}/${l.units}`)
                .join(', ') || 'none'
            : 'not recorded',
        ]),
      ),
      '',
    );
  return lines;
}

/** The learning-rate schedule in words; records before 0.2.0 carry none and used warm-up + cosine. */
function scheduleText(r: QmcRecord): string {
  const schedule = r.lrSchedule ?? 'cosine';
  const warmup = r.warmupEpochs ?? 1;
  const rate = schedule === 'constant' ? 'constant rate' : 'cosine decay';
  return warmup > 0
    ? `${warmup} warm-up epoch${warmup === 1 ? '' : 's'} then ${rate}`
    : `${rate}, no warm-up`;
}

function summaryMarkdown(records: readonly QmcRecord[], figures: string[]): string {
  const first = records[0];
  const levels = deviceLevels(records);
  const trials = first.crossbar[0]?.trials ?? 0;
  const datasets = [...new Set(records.map((r) => r.dataset))];
  const lines: string[] = [];
  lines.push('# Quantised MLPs and CNNs on multilevel HfO2 crossbars (`quantized-mlp-cnn`)', '');
  lines.push(
    `Run: ${first.scale}; ${records.length} networks on ${datasets.map(datasetLabel).join(' and ')}; ` +
      `${first.epochs} epoch${first.epochs === 1 ? '' : 's'} (SGD ${first.lr ?? DEFAULT_TRAIN.learningRate}, momentum 0.9, ${scheduleText(first)}, batch 32, 10 % validation), ${first.trainImages} training and ` +
      `${first.testImages} test images; inputs binarised at ${QMC_BINARIZE}. Digital: quantile:N weights in every layer, ` +
      `N = ${QMC_DIGITAL_LEVELS[0]}..${QMC_DIGITAL_LEVELS[QMC_DIGITAL_LEVELS.length - 1]}. Crossbar: quantile:L weights mapped ` +
      `one-to-one in rank order onto the L-level HfO2 card (L = ${levels.join(', ')}), circuit \`${first.circuit}\`, ` +
      `${trials} Monte-Carlo chips per network and card.`,
    '',
  );
  lines.push('## MLP vs CNN: Kruskal-Wallis rank-sum test per dataset', '');
  const kw = kruskalRows(records);
  if (kw.length === 0)
    lines.push('Not enough networks: the test needs at least one MLP and one CNN per dataset.', '');
  else
    lines.push(
      markdownTable(
        [
          'dataset',
          'accuracy compared',
          'MLPs',
          'CNNs',
          'median MLP (%)',
          'median CNN (%)',
          'H',
          'df',
          'p-value',
        ],
        kw.map((k) => [
          datasetLabel(k.dataset),
          k.accuracy,
          k.nMlp,
          k.nCnn,
          pct(k.medianMlp),
          pct(k.medianCnn),
          Number.isFinite(k.statistic) ? k.statistic : 'n/a (all equal)',
          k.df,
          Number.isFinite(k.pValue) ? k.pValue : 'n/a',
        ]),
      ),
    );
  lines.push('## Mean accuracy per dataset and network type (mean ± 1 std over networks, %)', '');
  const digital = meanAccuracyRows(records, 'digital');
  const crossbar = meanAccuracyRows(records, 'crossbar').filter((r) => r.precision !== FLOAT);
  const cell = (rows: MeanRow[], d: string, t: string, p: string) => {
    const m = rows.find((r) => r.dataset === d && r.netType === t && r.precision === p);
    return m ? `${m.mean.toFixed(2)} ± ${m.std.toFixed(2)}` : '';
  };
  const groups = [...new Map(digital.map((r) => [`${r.dataset}/${r.netType}`, r])).values()];
  const digitalCols = [FLOAT, ...QMC_DIGITAL_LEVELS.map((n) => seriesLabel('digital', n))];
  const crossbarCols = levels.map((l) => seriesLabel('crossbar', l));
  lines.push(
    markdownTable(
      [
        'dataset',
        'network type',
        'nets',
        ...digitalCols.map((c) => (c === FLOAT ? 'float' : `${c} digital`)),
        ...crossbarCols.map((c) => `${c} chip`),
      ],
      groups.map((g) => [
        datasetLabel(g.dataset),
        g.netType,
        g.n,
        ...digitalCols.map((c) => cell(digital, g.dataset, g.netType, c)),
        ...crossbarCols.map((c) => cell(crossbar, g.dataset, g.netType, c)),
      ]),
    ),
  );
  lines.push('## Per network (%)', '');
  lines.push(
    'Float train accuracy: on up to 5000 training images after the last epoch. Chip: Monte-Carlo mean [95 % CI]; ' +
      'nominal: every cell at its level mean (mapping and converter error only).',
    '',
  );
  lines.push(
    markdownTable(
      [
        'dataset',
        'network',
        'synapses',
        'float train',
        'float test',
        ...QMC_DIGITAL_LEVELS.map((n) => `q${n}`),
        ...levels.map((l) => `${l}-level nominal`),
        ...levels.map((l) => `${l}-level chip`),
      ],
      records.map((r) => [
        datasetLabel(r.dataset),
        r.arch,
        r.synapses,
        pct(r.floatTrainAccuracy),
        pct(r.floatTestAccuracy),
        ...QMC_DIGITAL_LEVELS.map((n) => pct(r.digital.find((d) => d.levels === n)?.accuracy)),
        ...levels.map((l) => pct(r.crossbar.find((c) => c.levels === l)?.nominalAccuracy)),
        ...levels.map((l) => {
          const c = r.crossbar.find((x) => x.levels === l);
          return c ? `${pct(c.mean)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}]` : '';
        }),
      ]),
    ),
  );
  lines.push(...deadNetworksSection(records));
  lines.push('## Figures', '');
  for (const f of figures.filter((x) => x.endsWith('.png')))
    lines.push(`![${path.basename(f, '.png')}](${path.basename(f)})`, '');
  lines.push('All results, one row per network and stage: `results.csv`.', '');
  return lines.join('\n');
}

export async function reportQuantizedMlpCnn(records: QmcRecord[], out: string): Promise<string[]> {
  const files: string[] = [];
  const chart = async (spec: Parameters<typeof writeChart>[0], name: string) => {
    await writeChart(spec, path.join(out, name));
    files.push(...['svg', 'png', 'vl.json'].map((e) => path.join(out, `${name}.${e}`)));
  };
  if (records.length === 0) {
    writeFileAtomic(path.join(out, 'summary.md'), '# quantized-mlp-cnn\n\nNo finished configurations yet.\n');
    return [path.join(out, 'summary.md')];
  }
  const trials = records[0].crossbar[0]?.trials ?? 0;
  for (const fig of panelFigures(records)) {
    for (const view of ['crossbar', 'digital'] as const) {
      await chart(
        lineChart({
          rows: lineRows(fig, view),
          x: 'hiddenUnits',
          y: 'accuracy',
          color: 'series',
          strokeDash: { field: 'series', solid: [FLOAT] },
          facet: 'panel',
          columns: fig.columns,
          title: `${fig.title}: test accuracy vs hidden units, ${view === 'crossbar' ? 'on the crossbar' : 'quantised digitally'}`,
          subtitle:
            view === 'crossbar'
              ? `solid: float (digital); dashed: quantile:L weights on the L-level HfO2 card, mean over ${trials} chips`
              : 'solid: float; dashed: quantile:N weights in every layer, computed digitally',
          xTitle: 'hidden units',
          yTitle: 'test accuracy (%)',
          colorTitle: 'weights',
          xScale: 'log',
          yDomain: [0, 100],
        }),
        `${fig.file}-${view}`,
      );
    }
  }
  for (const view of ['crossbar', 'digital'] as const) {
    await chart(
      errorBarChart({
        rows: meanAccuracyRows(records, view),
        x: 'precision',
        xType: 'nominal',
        group: 'group',
        title: `Mean test accuracy per dataset and network type, ${view === 'crossbar' ? 'on the crossbar' : 'quantised digitally'}`,
        subtitle:
          view === 'crossbar'
            ? `error bars: mean ± 1 std over networks; L levels: quantile:L on the L-level HfO2 card (mean over ${trials} chips)`
            : 'error bars: mean ± 1 std over networks; quantile:N weights in every layer',
        xTitle: 'weights',
        yTitle: 'test accuracy (%)',
        groupTitle: 'dataset, network',
      }),
      `mean-accuracy-${view}`,
    );
  }
  // Synapse count depends only on the architecture: one box entry per distinct network.
  const archs = [...new Map(records.map((r) => [r.arch, r])).values()];
  await chart(
    boxPlot({
      rows: archs.map((r) => ({ network: r.netType, synapses: r.synapses })),
      group: 'network',
      value: 'synapses',
      title: 'Total synapse count per network type',
      xTitle: 'network type',
      yTitle: 'synapses (weights, log scale)',
      yScale: 'log',
    }),
    'synapses',
  );
  writeFileAtomic(path.join(out, 'results.csv'), toCsv(csvRows(records)));
  files.push(path.join(out, 'results.csv'));
  writeFileAtomic(path.join(out, 'summary.md'), summaryMarkdown(records, files));
  files.push(path.join(out, 'summary.md'));
  return files;
}
