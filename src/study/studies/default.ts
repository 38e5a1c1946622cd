/**
 * The default job (`npm start`): the reference MLP 784-128-10 shipped in models/reference-mlp,
 * weights quantised to uniform:4 (15 levels, which land exactly on the 2L-1 = 15 differences of an
 * 8-level device's differential pairs), mapped on hfo2-1t1r-igvva-8 with 128 x 128 tiles and an
 * 8-bit ADC, Monte-Carlo over 20 chips.
 */
import * as path from 'node:path';
import { errorBarChart } from '../../report/errorBarChart';
import { writeChart } from '../../report/render';
import { markdownTable } from '../../report/tables';
import { writeFileAtomic } from '../../util/files';
import { prepareSimulation, runSimulation } from '../../sim/node';
import type { SimulationResult } from '../../sim/simulate';
import type { ResultRecord } from '../results';
import type { Study } from '../types';
import { projectRoot } from '../../device/cardFiles';

export const REFERENCE_MODEL = 'models/reference-mlp';

export const defaultStudy: Study = {
  name: 'default',
  description: 'reference MLP on hfo2-1t1r-igvva-8, 128x128 tiles, 8-bit ADC, 20 chips',
  defaultTrials: { quick: 20, full: 20 },
  data: { quick: {}, full: {} },
  configurations: () => [
    {
      key: 'reference-mlp/uniform4/hfo2-1t1r-igvva-8/tile128-adc8',
      async run(ctx) {
        const prepared = await prepareSimulation(
          {
            model: path.join(projectRoot(), REFERENCE_MODEL),
            device: 'hfo2-1t1r-igvva-8',
            circuit: 'tile128-adc8',
            trials: ctx.trials,
            seed: ctx.seed,
            quantize: 'uniform:4',
            quantizeLayers: 'all',
            inputLayers: 'dense',
            calibration: 1000,
          },
          { data: ctx.dataset('mnist') },
        );
        const result = await runSimulation(prepared, { trials: ctx.trials, workers: ctx.workers });
        return { ...prepared.header, ...result };
      },
    },
  ],
  async report(records: ResultRecord[], out: string) {
    const r = records[0] as unknown as SimulationResult & Record<string, unknown>;
    const a = r.analog;
    const rows = [
      { stage: 'float (digital)', mean: r.floatAccuracy, lo: r.floatAccuracy, hi: r.floatAccuracy },
      { stage: 'uniform:4 (digital)', mean: r.quantizedAccuracy, lo: r.quantizedAccuracy, hi: r.quantizedAccuracy },
      { stage: 'nominal chip', mean: r.nominalAccuracy, lo: r.nominalAccuracy, hi: r.nominalAccuracy },
      { stage: `${a.n} chips (mean, 95 % CI)`, mean: a.mean, lo: a.ci95[0], hi: a.ci95[1] },
    ].map((row) => ({ ...row, mean: 100 * row.mean, lo: 100 * row.lo, hi: 100 * row.hi }));
    const table = markdownTable(
      ['stage', 'accuracy (%)', '95 % CI (%)'],
      rows.map((row) => [row.stage, row.mean.toFixed(2), row.lo === row.hi ? '' : `${row.lo.toFixed(2)} .. ${row.hi.toFixed(2)}`]),
    );
    const md = `# Default study\n\nReference MLP 784-128-10 (MNIST, inputs binarised at 0.1) on \`${r.device}\`, circuit \`${r.circuit}\`, ${a.n} Monte-Carlo chips, seed ${r.seed}.\n\n${table}\n\nAnalog std over chips: ${(100 * a.std).toFixed(3)} %; min ${(100 * a.min).toFixed(2)} %, max ${(100 * a.max).toFixed(2)} %.\n\n![accuracy](accuracy.png)\n`;
    writeFileAtomic(path.join(out, 'summary.md'), md);
    const spec = errorBarChart({
      rows,
      x: 'stage',
      xType: 'nominal',
      title: 'Reference MLP on an 8-level HfO2 crossbar',
      xTitle: 'stage',
      yTitle: 'test accuracy (%)',
      intervalLabel: '95 % confidence interval over chips',
    });
    await writeChart(spec, path.join(out, 'accuracy'));
    process.stdout.write(`\n${table}\n\n`);
    return [path.join(out, 'summary.md'), path.join(out, 'accuracy.svg'), path.join(out, 'accuracy.png')];
  },
};
