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
import { prepareStudyRun, reportStudyDir, runStudy, selectConfigs, STUDY_FILE } from '../study/runner';
import { defaultWorkers } from '../sim/workerPool';
import { autoShardIndex, type SlurmPlan } from '../study/cluster';
import { defaultModelCache } from '../study/modelCache';
import { packageVersion } from './common';
import { submitSlurm, writeSlurmScripts } from './slurm';

/** Flags that only shape the Slurm scripts; the tasks get none of them. */
const SLURM_ONLY = ['submit', 'partition', 'time', 'cpus'] as const;

/** Study parameters, by their option key (flag --wire-resistance is wireResistance). */
const PARAMS = [
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
] as const;

const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;

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
      'run the k-th of n shares of the configurations (parallel processes on one --out); auto/n takes k from SLURM_ARRAY_TASK_ID (1..n) or JOB_COMPLETION_INDEX (0..n-1)',
    )
    .option(
      '--model-cache <dir>',
      'trained-model cache directory (default .cache/models; shared by cluster tasks)',
    )
    .option(
      '--slurm <n>',
      'write a Slurm array script of n shard tasks and a report job into the study directory',
    )
    .option('--submit', 'with --slurm: submit the array and the report job (sbatch)')
    .option('--partition <p>', 'with --slurm: Slurm partition')
    .option('--time <t>', 'with --slurm: time limit per task, e.g. 4:00:00 or 1-12:00:00')
    .option('--cpus <c>', 'with --slurm: CPUs per task (also its --workers; default --workers, else 1)')
    .option(
      '--only <regex>',
      'run only the configurations whose key matches, e.g. "^mnist/mlp" (the report covers all records)',
    )
    .option(
      '--force',
      'recompute records whose inputs (cards, models, xbarsim version) changed since they were made; with --slurm: replace a different script',
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
        modelCache?: string;
        slurm?: number;
        partition?: string;
        time?: string;
        cpus?: number;
      }>(
        {
          type: 'object',
          properties: {
            trials: intFlag(1, 100000),
            seed: intFlag(0, 2 ** 31 - 1),
            workers: intFlag(1, 256),
            shard: { type: 'string', pattern: '^([1-9][0-9]*|auto)/[1-9][0-9]*$' },
            slurm: intFlag(1, MAX_SHARDS),
            cpus: intFlag(1, 256),
            partition: { type: 'string', pattern: '^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$' },
            time: { type: 'string', pattern: '^(([0-9]+-)?[0-9]+(:[0-9]+){0,2}|infinite|UNLIMITED)$' },
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
      const params = Object.fromEntries(PARAMS.filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
      if (f.slurm === undefined) {
        const stray = SLURM_ONLY.filter((k) => opts[k] !== undefined);
        if (stray.length) throw new InputError(`flag ${flagOf(stray[0])} goes with --slurm N only`);
      } else if (f.shard !== undefined)
        throw new InputError(
          'flags --slurm and --shard exclude each other: task K of --slurm N runs shard K/N',
        );
      const shard = f.shard === undefined ? undefined : parseShard(f.shard);
      const modelCache = f.modelCache === undefined ? undefined : path.resolve(f.modelCache);
      let only: RegExp | undefined;
      if (typeof opts.only === 'string')
        try {
          only = new RegExp(opts.only);
        } catch (err) {
          throw new InputError(`flag --only: not a regular expression (${(err as Error).message})`);
        }
      const run = {
        shard,
        only,
        force: opts.force === true,
        mode,
        out,
        trials: f.trials,
        seed: f.seed,
        workers: f.workers ?? defaultWorkers(),
        params,
        modelCache,
      } as const;
      if (f.slurm !== undefined) {
        const cpus = f.cpus ?? f.workers ?? 1;
        const studyArgs = [
          'study',
          name,
          `--${mode}`,
          '--seed',
          String(f.seed),
          ...(f.trials === undefined ? [] : ['--trials', String(f.trials)]),
          ...(typeof opts.only === 'string' ? ['--only', opts.only] : []),
          ...PARAMS.filter((k) => f[k] !== undefined).flatMap((k) => [flagOf(k), String(f[k])]),
        ];
        const plan: SlurmPlan = {
          studyArgs,
          tasks: f.slurm,
          out: path.resolve(out),
          // The tasks run this project's files (node, entry point) on every node, so its default cache
          // is on the shared filesystem too.
          modelCache: modelCache ?? path.resolve(defaultModelCache()),
          cwd: process.cwd(),
          node: process.execPath,
          entry: path.join(__dirname, 'main.js'),
          cpus,
          workers: f.workers ?? cpus,
          partition: f.partition,
          time: f.time,
          env: Object.fromEntries(
            Object.entries(process.env).filter(
              (e): e is [string, string] => e[0].startsWith('XBARSIM_') && e[1] !== undefined,
            ),
          ),
          version: packageVersion(),
          jobName: `xbarsim-${name}`,
        };
        const log = (m: string) => process.stderr.write(`[${name}] ${m}\n`);
        // Settings checked and the directory stamped before any script exists.
        const { configs } = prepareStudyRun(study, { ...run, log });
        const selected = selectConfigs(study, configs, run.only);
        const scripts = writeSlurmScripts(plan, opts.force === true);
        log(
          `wrote ${scripts.study} (${f.slurm} tasks, ${selected.length} configurations) and ${scripts.report}`,
        );
        if (opts.submit) {
          const [array, report] = submitSlurm(scripts, process.cwd());
          process.stdout.write(`${array}\n`);
          log(
            `submitted array job ${array} (logs ${path.dirname(scripts.study)}/task-K.out), report job ${report} after it`,
          );
        }
        return;
      }
      const { files } = await runStudy(study, run);
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

const MAX_SHARDS = 64;

function parseShard(text: string): { index: number; count: number } {
  const [k, n] = text.split('/');
  const count = Number(n);
  if (count > MAX_SHARDS) throw new InputError(`--shard ${text}: need n <= ${MAX_SHARDS}`);
  const index = k === 'auto' ? autoShardIndex(count, process.env) : Number(k);
  if (index > count) throw new InputError(`--shard ${text}: need k/n with 1 <= k <= n <= ${MAX_SHARDS}`);
  return { index, count };
}
