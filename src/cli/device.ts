/** `xbarsim device fit` and `xbarsim device show`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../util/errors';
import { stripBom, writeFileAtomic } from '../util/files';
import { checkOverwrite, printJson } from './common';
import { fitDeviceCard } from '../device/fit';
import { loadDeviceCard } from '../device/loadDevice';
import { parseDeviceCard } from '../device/card';
import { resolveDevice } from '../device/model';
import { levelCdfSeries, levelOverlap, levelTable } from '../device/analysis';
import { cdfChart } from '../report/cdfChart';
import { writeChart } from '../report/render';
import { collectInputs } from '../util/inputLog';
import { markdownTable } from '../report/tables';

export function registerDevice(program: Command): void {
  const device = program.command('device').description('device cards: fit from measurements, show');
  device
    .command('fit')
    .description('build a multilevel card from measured samples (CSV columns: level, current or conductance)')
    .requiredOption('--csv <file>', 'measurements')
    .requiredOption('--out <card>', 'card file to write (an existing one only with --force)')
    .option('--force', 'replace an existing card, or write into the shipped devices/')
    .option('--name <name>', 'card name (default: the output file name)')
    .option('--v-read <v>', 'read voltage, e.g. "0.2 V"', '0.2 V')
    .option('--source <text>', 'where the measurements come from', 'user measurements')
    .option('--empirical', 'keep the samples (inverse-CDF sampling) instead of Gaussian fits')
    .action(
      (opts: {
        csv: string;
        out: string;
        name?: string;
        vRead: string;
        source: string;
        empirical?: boolean;
        force?: boolean;
      }) => {
        checkOverwrite(opts.out, opts.force);
        if (!fs.existsSync(opts.csv)) throw new InputError(`CSV file not found: ${opts.csv}`);
        const card = fitDeviceCard(stripBom(fs.readFileSync(opts.csv, 'utf8')), {
          name: opts.name ?? path.basename(opts.out).replace(/\.json$/i, ''),
          vRead: opts.vRead,
          empirical: !!opts.empirical,
          source: opts.source,
          csvLabel: opts.csv,
          warn: (m) => process.stderr.write(`xbarsim: warning: ${m}\n`),
        });
        parseDeviceCard(card, opts.out); // the written card must load
        writeFileAtomic(opts.out, JSON.stringify(card, null, 2) + '\n');
        process.stdout.write(`wrote ${opts.out}: ${card.levels.length} levels\n`);
      },
    );
  device
    .command('show')
    .description('level table, level overlap and the CDF of each level (SVG/PNG)')
    .argument('<card>', 'a name in devices/ or a path')
    .option(
      '--out <dir>',
      'folder for the CDF plot <card name>-cdf.svg and .png',
      path.join('results', 'devices'),
    )
    .option('--json', 'print JSON')
    .action(async (cardName: string, opts: { out: string; json?: boolean }) => {
      const { result: card, inputs } = await collectInputs(async () => loadDeviceCard(cardName));
      const model = resolveDevice(card);
      const table = levelTable(model);
      const overlap = levelOverlap(model);
      fs.mkdirSync(opts.out, { recursive: true });
      const base = path.join(opts.out, `${card.name}-cdf`);
      const cdf = levelCdfSeries(model, 200);
      await writeChart(
        cdfChart({
          rows: cdf.map((p) => ({
            series: p.level === 'hrs' ? 'HRS' : `level ${p.level}`,
            x: p.gSiemens * 1e6,
            cdf: p.cdf,
          })),
          title: `${card.name}: conductance CDF per level`,
          xTitle: 'conductance (uS)',
          seriesTitle: 'level',
        }),
        base,
        { provenance: inputs },
      );
      if (opts.json) return printJson({ card: card.name, levels: table, overlap, plot: `${base}.svg` });
      const overlapOf = new Map(overlap.map((o) => [o.level, o.pMisread]));
      process.stdout.write(
        `${card.name} (${card.kind}), read at ${model.vReadVolts} V\n` +
          markdownTable(
            ['level', 'G mean (uS)', 'G sigma (uS)', 'I read (uA)', 'P(read nearer a neighbour)'],
            table.map((r) => [
              String(r.level),
              (r.gMeanSiemens * 1e6).toFixed(2),
              (r.gSigmaSiemens * 1e6).toFixed(3),
              (r.iReadAmps * 1e6).toFixed(3),
              typeof r.level === 'number' ? (overlapOf.get(r.level) ?? 0).toExponential(2) : '',
            ]),
          ) +
          `\nCDF plot: ${base}.svg, ${base}.png\n`,
      );
    });
}
