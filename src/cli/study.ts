/** `xbarsim study NAME` and `xbarsim report DIR`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../util/errors';
import { enumFlag, intFlag, numFlag, validateFlags } from './flags';
import type { LrSchedule } from '../nn/train';
import type { BitsFamily } from '../study/types';
import { resistanceFlag } from './common';
import { findStudy, studyNames } from '../study/registry';
import { reportStudyDir, runStudy, STUDY_FILE } from '../study/runner';
import { defaultWorkers } from '../sim/workerPool';

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description(`run a study end to end, resumably (${studyNames().join(', ')})`)
    .argument('<name>', 'study name')
    .option('--quick', 'subsets and few epochs: minutes (the default mode)')
    .option('--full', "the study's full protocol")
    .option('--out <dir>', 'output directory (default results/<name>[-quick])')
    .option('--trials <n>', 'Monte-Carlo trials per configuration (default: per study and mode)')
    .option('--seed <n>', 'random seed', '1')
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option(
      '--shard <k/n>',
      'run the k-th of n shares of the configurations (parallel processes on one --out)',
    )
    .option(
      '--only <regex>',
      'run only the configurations whose key matches, e.g. "^mnist/mlp" (the report covers all records)',
    )
    .option(
      '--force',
      'recompute records whose inputs (cards, models, xbarsim version) changed since they were made',
    )
    .option('--model <dir>', 'study parameter: model directory (adc-sizing)')
    .option(
      '--device <card>',
      'study parameter: device card (adc-sizing; binarized-variation: a binary card)',
    )
    .option('--circuit <card>', 'study parameter: circuit card (adc-sizing, binarized-variation)')
    .option('--quantize <q>', 'study parameter: weight quantiser (adc-sizing)')
    .option('--lr <x>', 'study parameter: SGD learning rate of the trained networks (quantized-mlp-cnn)')
    .option(
      '--lr-schedule <s>',
      "study parameter: constant | cosine learning rate (quantized-mlp-cnn; default constant, the paper's)",
    )
    .option(
      '--warmup-epochs <x>',
      "study parameter: epochs of linear learning-rate warm-up (quantized-mlp-cnn; default 0, the paper's)",
    )
    .option(
      '--technology <card>',
      'study parameter: technology card for the cost axis (adc-sizing; default cmos-22nm)',
    )
    .option(
      '--quantizer <family>',
      'study parameter: uniform | fixed, how weights and inputs are cut to B bits (dense-resolution; default uniform)',
    )
    .option(
      '--wire-resistance <r>',
      'study parameter: circuit override, wire resistance per cell segment, e.g. "1 Ohm" (adc-sizing, quantized-mlp-cnn, binarized-variation)',
    )
    .option(
      '--access-resistance <r>',
      'study parameter: circuit override, access transistor on-resistance, e.g. "2 kOhm" (same studies)',
    )
    .action(async (name: string, opts: Record<string, unknown>) => {
      const study = findStudy(name);
      if (opts.quick && opts.full)
        throw new InputError('flags --quick and --full exclude each other: give one');
      const f = validateFlags<{
        trials?: number;
        seed: number;
        workers?: number;
        out?: string;
        model?: string;
        device?: string;
        circuit?: string;
        quantize?: string;
        lr?: number;
        lrSchedule?: LrSchedule;
        warmupEpochs?: number;
        quantizer?: BitsFamily;
        technology?: string;
        shard?: string;
        wireResistance?: string;
        accessResistance?: string;
      }>(
        {
          type: 'object',
          properties: {
            trials: intFlag(1, 100000),
            seed: intFlag(0, 2 ** 31 - 1),
            workers: intFlag(1, 256),
            shard: { type: 'string', pattern: '^[1-9][0-9]*/[1-9][0-9]*$' },
            lr: numFlag(1e-6, 10),
            lrSchedule: enumFlag('constant', 'cosine'),
            warmupEpochs: numFlag(0, 1000),
            quantizer: enumFlag('uniform', 'fixed'),
          },
        },
        opts,
      );
      f.wireResistance = resistanceFlag(f.wireResistance, '--wire-resistance');
      f.accessResistance = resistanceFlag(f.accessResistance, '--access-resistance');
      const mode = opts.full ? 'full' : 'quick';
      const out =
        f.out ?? path.join('results', mode === 'quick' && name !== 'default' ? `${name}-quick` : name);
      const t0 = Date.now();
      const params = Object.fromEntries(
        (
          [
            'model',
            'device',
            'circuit',
            'quantize',
            'lr',
            'lrSchedule',
            'warmupEpochs',
            'quantizer',
            'technology',
            'wireResistance',
            'accessResistance',
          ] as const
        )
          .filter((k) => f[k] !== undefined)
          .map((k) => [k, f[k]]),
      );
      const shard = f.shard === undefined ? undefined : parseShard(f.shard);
      let only: RegExp | undefined;
      if (typeof opts.only === 'string')
        try {
          only = new RegExp(opts.only);
        } catch (err) {
          throw new InputError(`flag --only: not a regular expression (${(err as Error).message})`);
        }
      const { files } = await runStudy(study, {
        shard,
        only,
        force: opts.force === true,
        mode,
        out,
        trials: f.trials,
        seed: f.seed,
        workers: f.workers ?? defaultWorkers(),
        params,
      });
      process.stderr.write(
        `study ${name} (${mode}) done in ${((Date.now() - t0) / 1000).toFixed(1)} s; wrote ${files.length} files in ${out}\n`,
      );
    });

  program
    .command('report')
    .description('render the figures, tables and CSV of a study directory')
    .argument('<dir>', 'study output directory')
    .action(async (dir: string) => {
      const stampFile = path.join(dir, STUDY_FILE);
      if (!fs.existsSync(stampFile))
        throw new InputError(`${dir} is not a study directory (no ${STUDY_FILE})`);
      const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { study: string };
      const study = findStudy(stamp.study);
      const files = await reportStudyDir(study, dir);
      process.stderr.write(`wrote ${files.length} files in ${dir}\n`);
    });
}

function parseShard(text: string): { index: number; count: number } {
  const [index, count] = text.split('/').map(Number);
  if (index > count || count > 64) throw new InputError(`--shard ${text}: need k/n with 1 <= k <= n <= 64`);
  return { index, count };
}
