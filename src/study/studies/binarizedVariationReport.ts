/**
 * Report of the binarized-variation study: accuracy (mean and 95 % CI over chips) against the R_on/R_off
 * variation, plain vs variation-aware training, one panel per distribution; a Markdown table; CSV.
 */
import * as path from 'node:path';
import type { VegaLiteSpec } from '../../report/render';
import { writeChart } from '../../report/render';
import { markdownTable, tidyCsv } from '../../report/tables';
import { baseConfig, PALETTE, titleOf, WIDTH, HEIGHT } from '../../report/theme';
import { writeFileAtomic } from '../../util/files';
import type { ResultRecord } from '../results';

const FIGURE = 'binarized-variation';

export interface VariationRow {
  distribution: string;
  training: string;
  /** R_on/R_off spread, percent of the mean resistance. */
  variationPct: number;
  /** Accuracy in percent. */
  mean: number;
  lo: number;
  hi: number;
  std: number;
  nominal: number;
  digital: number;
  trials: number;
  /** sd of the encoded weight / alpha, percent. */
  weightSigmaPct: number;
}

export function variationRows(records: readonly ResultRecord[]): VariationRow[] {
  return records
    .map((r) => {
      const ci = r.ci95 as [number, number];
      return {
        distribution: String(r.distribution),
        training: String(r.training),
        variationPct: Math.round(Number(r.sigma) * 1000) / 10,
        mean: 100 * Number(r.mean),
        lo: 100 * ci[0],
        hi: 100 * ci[1],
        std: 100 * Number(r.std),
        nominal: 100 * Number(r.nominalAccuracy),
        digital: 100 * Number(r.floatAccuracy),
        trials: Number(r.trials),
        weightSigmaPct: 100 * Number(r.relativeWeightSigma),
      };
    })
    .sort(
      (a, b) =>
        a.distribution.localeCompare(b.distribution) ||
        trainingOrder(a.training) - trainingOrder(b.training) ||
        a.variationPct - b.variationPct,
    );
}

function trainingOrder(label: string): number {
  return label === 'plain' ? 0 : 1;
}

/** Line (mean) and band (95 % CI) per training, one panel per distribution. */
function variationChart(rows: readonly VariationRow[], subtitle: string): VegaLiteSpec {
  const data = rows.map((r) => ({ ...r, panel: `${r.distribution} variation` }));
  const trainings = [...new Set(rows.map((r) => r.training))].sort(
    (a, b) => trainingOrder(a) - trainingOrder(b),
  );
  const xValues = [...new Set(rows.map((r) => r.variationPct))].sort((a, b) => a - b);
  const color = {
    field: 'training',
    type: 'nominal',
    title: 'training',
    scale: { domain: trainings, range: PALETTE },
  };
  const legend = { symbolType: 'stroke', symbolSize: 400, symbolStrokeWidth: 2.5 };
  const x = {
    field: 'variationPct',
    type: 'quantitative',
    title: 'R_on / R_off variation, sd / mean (%)',
    scale: { zero: false, nice: false, padding: 12 },
    axis: { values: xValues },
  };
  const y = { type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false, padding: 10 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: titleOf('Binarised CNN on binary memristors: accuracy vs device variation', subtitle),
    data: { values: data },
    config: baseConfig(),
    facet: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(data.map((d) => d.panel))] },
    columns: 2,
    spec: {
      width: Math.round(WIDTH * 0.8),
      height: HEIGHT,
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, fill: { ...color, legend } },
        },
        {
          mark: { type: 'line', point: true },
          encoding: { x, y: { ...y, field: 'mean' }, color: { ...color, legend } },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as unknown as VegaLiteSpec;
}

const pct = (v: number) => v.toFixed(2);

/** One row per distribution and variation level: plain and variation-aware side by side. */
export function comparisonTable(rows: readonly VariationRow[]): string {
  const keys = [...new Set(rows.map((r) => `${r.distribution}|${r.variationPct}`))];
  const body = keys.map((k) => {
    const [distribution, v] = k.split('|');
    const at = rows.filter((r) => r.distribution === distribution && r.variationPct === Number(v));
    const plain = at.find((r) => r.training === 'plain');
    const aware = at.find((r) => r.training !== 'plain');
    const cell = (r?: VariationRow) => (r ? `${pct(r.mean)} [${pct(r.lo)}, ${pct(r.hi)}]` : '');
    return [
      distribution,
      Number(v),
      (plain ?? aware)!.weightSigmaPct.toFixed(1),
      cell(plain),
      cell(aware),
      plain && aware ? (aware.mean - plain.mean >= 0 ? '+' : '') + pct(aware.mean - plain.mean) : '',
    ];
  });
  return markdownTable(
    [
      'distribution',
      'R variation (%)',
      'weight sd / alpha (%)',
      'plain: mean [95 % CI] (%)',
      'variation-aware: mean [95 % CI] (%)',
      'difference (points)',
    ],
    body,
  );
}

export async function writeBinarizedVariationReport(
  records: readonly ResultRecord[],
  out: string,
): Promise<string[]> {
  if (records.length === 0) return [];
  const rows = variationRows(records);
  const first = records[0];
  const trials = Math.min(...rows.map((r) => r.trials));
  const subtitle = `${first.arch}, binary weights (STE), ${first.circuit}; line: mean over ${trials} chips, band: 95 % CI of the mean`;
  await writeChart(variationChart(rows, subtitle), path.join(out, FIGURE));
  // One row per trained model: the plain model serves both panels, each distribution has its own aware model.
  const models = [...new Map(records.map((r) => [String(r.model), r])).values()].map((r) => [
    r.training === 'plain'
      ? 'plain'
      : `variation-aware, ${String(r.distribution)} ${Math.round(100 * Number(r.trainSigma))} %`,
    String(r.model),
    pct(100 * Number(r.floatAccuracy)),
  ]);
  const md = [
    '# Binarised CNN on binary memristors: accuracy vs device variation',
    '',
    `Network \`${first.arch}\` (${first.epochs} epochs), conv and dense weights binary (STE), batch norm digital; ` +
      `all weighted layers on \`${first.circuit}\` crossbars with the binary device swept from \`${String(first.device).replace(/-(gaussian|lognormal)-.*$/, '')}\`. ` +
      `${trials} Monte-Carlo chips per point.`,
    '',
    'Digital (software) test accuracy of each model:',
    '',
    markdownTable(['training', 'model', 'digital accuracy (%)'], models),
    comparisonTable(rows),
    'R variation: sd / mean of R_on and R_off (both states), Gaussian or lognormal (mean-preserving) in resistance. ' +
      'Weight sd / alpha: spread of the weight a differential pair encodes, alpha (G+ - G-) / (E G_on - E G_off); ' +
      'with a Gaussian R the conductance 1/R is skewed, so at equal R spread it exceeds the lognormal one. ' +
      "Variation-aware models were trained with the same card at 20 % (the panel's distribution): every batch draws a fresh chip " +
      'for every conv and dense layer and the forward pass computes with the weights it encodes, the same random weights the simulator realises. ' +
      'The 0 % point is the nominal chip (converter quantisation only).',
    '',
    `![accuracy vs variation](${FIGURE}.png)`,
    '',
  ].join('\n');
  writeFileAtomic(path.join(out, 'summary.md'), md);
  writeFileAtomic(path.join(out, 'results.csv'), tidyCsv(records));
  return [`${FIGURE}.svg`, `${FIGURE}.png`, `${FIGURE}.vl.json`, 'summary.md', 'results.csv'].map((f) =>
    path.join(out, f),
  );
}
