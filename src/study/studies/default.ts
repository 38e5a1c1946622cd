/**
 * The default job (`npm start`): the reference MLP 784-128-10 shipped in models/reference-mlp,
 * weights quantised to uniform:4 (15 levels, which land exactly on the 2L-1 = 15 differences of an
 * 8-level device's differential pairs), mapped on hfo2-1t1r-igvva-8 with 128 x 128 tiles and an
 * 8-bit ADC, Monte-Carlo over 20 chips. It runs the ADC with both range rules, because the choice
 * decides the result: a full-scale range (128 rows x G_max x vRead) spends most codes on currents
 * binarised inputs never reach, a range calibrated on training images does not.
 */
import * as path from 'node:path';
import { errorBarChart } from '../../report/errorBarChart';
import { writeChart } from '../../report/render';
import { markdownTable, toCsv } from '../../report/tables';
import { writeFileAtomic } from '../../util/files';
import { prepareSimulation, runSimulation } from '../../sim/node';
import type { SimulationResult } from '../../sim/simulate';
import type { ResultRecord } from '../results';
import type { Study } from '../types';
import { projectRoot } from '../../device/cardFiles';

export const REFERENCE_MODEL = 'models/reference-mlp';
const CIRCUITS = ['tile128-adc8-calibrated', 'tile128-adc8'];

export const defaultStudy: Study = {
  name: 'default',
  description: 'reference MLP on hfo2-1t1r-igvva-8, 128x128 tiles, 8-bit ADC, 20 chips',
  defaultTrials: { quick: 20, full: 20 },
  data: { quick: {}, full: {} },
  configurations: () =>
    CIRCUITS.map((circuit) => ({
      key: `reference-mlp/uniform4/hfo2-1t1r-igvva-8/${circuit}`,
      async run(ctx) {
        const prepared = await prepareSimulation(
          {
            model: path.join(projectRoot(), REFERENCE_MODEL),
            device: 'hfo2-1t1r-igvva-8',
            circuit,
            trials: ctx.trials,
            seed: ctx.seed,
            quantize: 'uniform:4',
            quantizeLayers: 'all',
            inputLayers: 'dense',
            calibration: 1000,
          },
          { data: ctx.dataset('mnist') },
        );
        const result = await runSimulation(prepared, {
          trials: ctx.trials,
          workers: ctx.workers,
          progress: false,
        });
        return { ...prepared.header, ...result };
      },
    })),
  async report(records: ResultRecord[], out: string) {
    const results = records as unknown as Array<SimulationResult & Record<string, unknown>>;
    const first = results[0];
    const digital = [
      {
        stage: 'float',
        circuit: 'digital',
        mean: first.floatAccuracy,
        lo: first.floatAccuracy,
        hi: first.floatAccuracy,
      },
      {
        stage: 'uniform:4',
        circuit: 'digital',
        mean: first.quantizedAccuracy,
        lo: first.quantizedAccuracy,
        hi: first.quantizedAccuracy,
      },
    ];
    const analog = results.flatMap((r) => [
      {
        stage: 'nominal chip',
        circuit: String(r.circuit),
        mean: r.nominalAccuracy,
        lo: r.nominalAccuracy,
        hi: r.nominalAccuracy,
      },
      {
        stage: `${r.analog.n} chips`,
        circuit: String(r.circuit),
        mean: r.analog.mean,
        lo: r.analog.ci95[0],
        hi: r.analog.ci95[1],
      },
    ]);
    const rows = [...digital, ...analog].map((row) => ({
      ...row,
      mean: 100 * row.mean,
      lo: 100 * row.lo,
      hi: 100 * row.hi,
    }));
    const table = markdownTable(
      ['stage', 'circuit', 'accuracy (%)', '95 % CI (%)'],
      rows.map((row) => [
        row.stage,
        row.circuit,
        row.mean.toFixed(2),
        row.lo === row.hi ? '' : `${row.lo.toFixed(2)} .. ${row.hi.toFixed(2)}`,
      ]),
    );
    const spread = results
      .map(
        (r) =>
          `- \`${r.circuit}\`: std over chips ${(100 * r.analog.std).toFixed(3)} %, min ${(100 * r.analog.min).toFixed(2)} %, max ${(100 * r.analog.max).toFixed(2)} %, ADC clipping ${r.layers.map((l) => `${(100 * l.meanClipRate).toFixed(2)} %`).join(' / ')} per layer`,
      )
      .join('\n');
    const md = `# Default study\n\nReference MLP 784-128-10 (MNIST, inputs binarised at 0.1), weights \`uniform:4\`, on \`${first.device}\`, 128 x 128 tiles, differential pairs, 8-bit DAC and ADC, seed ${first.seed}. The ADC range is either calibrated (99.9th percentile of column currents on 1000 training images) or full scale (rows x G_max x V_read).\n\n${table}\n${spread}\n\n![accuracy](accuracy.png)\n`;
    writeFileAtomic(path.join(out, 'summary.md'), md);
    const spec = errorBarChart({
      rows,
      x: 'stage',
      xType: 'nominal',
      group: 'circuit',
      groupTitle: 'circuit',
      title: 'Reference MLP on an 8-level HfO2 crossbar, 8-bit ADC',
      xTitle: 'stage',
      yTitle: 'test accuracy (%)',
      intervalLabel: '95 % confidence interval over chips',
    });
    const chartFiles = await writeChart(spec, path.join(out, 'accuracy'));
    // One row per chip, with the digital and nominal references beside it.
    const csv = toCsv(
      results.flatMap((r) =>
        r.perTrial.map((t) => ({
          circuit: String(r.circuit),
          trial: t.trial,
          accuracy: t.accuracy,
          ...Object.fromEntries(t.clipRate.map((c, k) => [`clipRate_${k}`, c])),
          nominalAccuracy: r.nominalAccuracy,
          quantizedAccuracy: r.quantizedAccuracy,
          floatAccuracy: r.floatAccuracy,
        })),
      ),
    );
    writeFileAtomic(path.join(out, 'results.csv'), csv);
    process.stdout.write(`\n${table}\n`);
    return [...['summary.md', 'results.csv'].map((f) => path.join(out, f)), ...chartFiles];
  },
};
