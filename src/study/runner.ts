/**
 * Run a study: every configuration not yet in DIR/results.jsonl is run and appended at once, so a crash
 * or Ctrl-C loses at most the configuration in flight; then the report is rendered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Dataset, loadDataset } from '../data';
import { InputError } from '../util/errors';
import { ensureWritableDir, writeFileAtomic } from '../util/files';
import { cachedModel } from './modelCache';
import { lockStudyDir } from './lock';
import { createProgress, type Progress } from '../util/progress';
import { ResultStore, type ResultRecord } from './results';
import { captureInputs, changedInputs, collectInputs, noteHashedInput } from '../util/inputLog';
import { type OutputProvenance, stampFile } from '../report/provenance';
import type { Study, StudyConfig, StudyContext, StudyMode, StudyParams } from './types';

export const STUDY_FILE = 'study.json';

export interface StudyRunOptions {
  mode: StudyMode;
  out: string;
  trials?: number;
  seed: number;
  workers: number;
  params?: StudyParams;
  /** Recompute records whose inputs changed since they were made (else such a directory is refused). */
  force?: boolean;
  /** Run only this shard's share of the configurations (1-based index of count); see shardOf. */
  shard?: { index: number; count: number };
  /**
   * Run only the configurations whose key matches (before sharding). Like a shard, it selects work and
   * changes no number; the report still covers every finished record and counts the whole plan.
   */
  only?: RegExp;
  /** Models directory of the model cache (default: the project's .cache/models, see modelCache.ts). */
  modelCache?: string;
  log?: (m: string) => void;
}

/**
 * The configurations shard `index` of `count` runs: whole groups, dealt out in turn in the study's
 * order. Shards are separate processes, each appending to its own records file (results.ts); every
 * configuration's numbers depend only on its own seeds, so sharding changes no result.
 */
export function shardOf(configs: StudyConfig[], index: number, count: number): StudyConfig[] {
  const groups = new Map<string, number>();
  return configs.filter((c) => {
    const g = c.group ?? c.key;
    if (!groups.has(g)) groups.set(g, groups.size);
    return groups.get(g)! % count === index - 1;
  });
}

interface StudyStamp {
  study: string;
  mode: StudyMode;
  trials: number;
  seed: number;
  params: StudyParams;
}

/** Refuse to mix runs with different settings in one directory: their records would not compare. */
function checkStamp(out: string, stamp: StudyStamp): void {
  const file = path.join(out, STUDY_FILE);
  if (fs.existsSync(file)) {
    const old = JSON.parse(fs.readFileSync(file, 'utf8')) as StudyStamp;
    for (const k of ['study', 'mode', 'trials', 'seed', 'params'] as const) {
      if (JSON.stringify(old[k] ?? {}) !== JSON.stringify(stamp[k]))
        throw new InputError(
          `${out} holds a run of study ${old.study} with ${k} ${JSON.stringify(old[k])}, not ${JSON.stringify(stamp[k])}: choose another --out or repeat the same settings to resume`,
        );
    }
  } else {
    writeFileAtomic(file, JSON.stringify(stamp, null, 2));
  }
}

/**
 * A record is reused only while the inputs it was made from (its `provenance`: the cards and model
 * files it read, by content hash, and the xbarsim version) are unchanged. Stale records are dropped and
 * recomputed with --force; without it the run is refused, naming what changed. Records written before
 * records carried provenance are reused as they are, with a warning.
 */
function dropStaleRecords(
  store: ResultStore,
  configs: StudyConfig[],
  o: StudyRunOptions,
  log: (m: string) => void,
): void {
  const stale = new Map<string, string[]>();
  let legacy = 0;
  const verdicts = new Map<string, string[]>(); // provenance JSON -> changed inputs (records share inputs)
  for (const c of configs) {
    const r = store.get(c.key);
    if (!r) continue;
    const prov = r.provenance as Record<string, string> | undefined;
    if (!prov) {
      legacy++;
      continue;
    }
    const id = JSON.stringify(prov);
    let changed = verdicts.get(id);
    if (!changed) verdicts.set(id, (changed = changedInputs(prov)));
    if (changed.length) stale.set(c.key, changed);
  }
  if (legacy)
    log(
      `${legacy} records carry no provenance (written before 2026-12-06): reused without checking their inputs`,
    );
  if (stale.size === 0) return;
  const what = [...new Set([...stale.values()].flat())].join(', ');
  if (!o.force)
    throw new InputError(
      `${o.out} holds ${stale.size} records made from other inputs (changed since: ${what}); rerun with --force to recompute them, or choose another --out`,
    );
  log(`recomputing ${stale.size} records whose inputs changed (${what})`);
  store.remove(new Set(stale.keys()));
}

/** A study parameter's command-line flag: wireResistance -> --wire-resistance. */
const flagOf = (param: string) => `--${param.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;

export async function runStudy(
  study: Study,
  o: StudyRunOptions,
): Promise<{ records: ResultRecord[]; files: string[] }> {
  // Log lines go through the progress display once it runs, so that they never land inside the bar.
  let progress: Progress | null = null;
  const log =
    o.log ??
    ((m: string) => {
      const line = `[${study.name}] ${m}`;
      if (progress) progress.log(line);
      else process.stderr.write(`${line}\n`);
    });
  const { ctx, configs } = prepareStudyRun(study, { ...o, log });
  const release = lockStudyDir(o.out, o.shard, log);
  try {
    return await runLocked(study, o, ctx, configs, log, (p) => (progress = p));
  } finally {
    release();
  }
}

/**
 * Check a run's settings and stamp its directory, without running anything: what a run does before it
 * starts, and what `--slurm` does before it writes the scripts, so that bad settings fail at once and
 * not in every array task.
 */
export function prepareStudyRun(
  study: Study,
  o: StudyRunOptions & { log: (m: string) => void },
): { ctx: StudyContext; configs: StudyConfig[] } {
  const trials = o.trials ?? study.defaultTrials[o.mode];
  const params = o.params ?? {};
  const unused = Object.keys(params).filter((k) => !(study.params ?? []).includes(k as keyof StudyParams));
  if (unused.length)
    throw new InputError(
      `study ${study.name} takes ${study.params?.length ? `only ${study.params.map(flagOf).join(', ')}` : 'no study parameters'}, not ${unused.map(flagOf).join(', ')}`,
    );
  // After the flag checks: a refused run leaves no directory behind.
  ensureWritableDir(o.out);
  const ctx = studyContext(
    study,
    { mode: o.mode, out: o.out, trials, seed: o.seed, workers: o.workers, params },
    o.log,
    o.modelCache,
  );
  const configs = study.configurations(ctx);
  // Stamp the directory only once the study has accepted its settings (configurations() validates them).
  checkStamp(o.out, { study: study.name, mode: o.mode, trials, seed: o.seed, params });
  return { ctx, configs };
}

/** The configurations `--only` selects (all without it); an --only matching none is an input error. */
export function selectConfigs(study: Study, configs: StudyConfig[], only?: RegExp): StudyConfig[] {
  if (!only) return configs;
  const selected = configs.filter((c) => only.test(c.key));
  if (selected.length === 0)
    throw new InputError(`flag --only: ${only.source} matches no configuration key of ${study.name}`);
  return selected;
}

async function runLocked(
  study: Study,
  o: StudyRunOptions,
  ctx: StudyContext,
  configs: StudyConfig[],
  log: (m: string) => void,
  setProgress: (p: Progress | null) => void,
): Promise<{ records: ResultRecord[]; files: string[] }> {
  const store = new ResultStore(o.out, { shard: o.shard });
  const keys = new Set<string>();
  for (const c of configs) {
    if (keys.has(c.key)) throw new Error(`study ${study.name}: configuration key ${c.key} is not unique`);
    keys.add(c.key);
  }
  const selected = selectConfigs(study, configs, o.only);
  if (o.only) log(`--only ${o.only.source}: ${selected.length} of ${configs.length} configurations`);
  const mine = o.shard ? shardOf(selected, o.shard.index, o.shard.count) : selected;
  if (o.shard)
    log(`shard ${o.shard.index}/${o.shard.count}: ${mine.length} of ${selected.length} configurations`);
  dropStaleRecords(store, mine, o, log);
  const todo = mine.filter((c) => !store.has(c.key));
  if (todo.length < mine.length)
    log(`resuming: ${mine.length - todo.length} of ${mine.length} configurations already done`);
  const bar = createProgress(todo.length, study.name);
  setProgress(bar);
  try {
    for (const c of todo) {
      const { result, inputs } = await collectInputs(() => c.run(ctx));
      store.append(c.key, { ...result, provenance: inputs });
      bar.tick(c.key);
    }
  } finally {
    bar.stop();
    setProgress(null);
  }
  // Reread the records: other shards may have appended since this process opened them.
  const records = new ResultStore(o.out, { readOnly: true, warn: () => undefined })
    .all()
    .filter((r) => keys.has(r.key));
  if (records.length < configs.length)
    log(`${records.length} of ${configs.length} configurations done; the report covers those`);
  const files = await writeStudyReport(study, records, o.out, configs.length);
  return { records, files };
}

/** The context a study's configurations see: datasets loaded once, models from the cache. */
function studyContext(
  study: Study,
  o: Omit<StudyContext, 'dataset' | 'model' | 'log'>,
  log: (m: string) => void,
  modelCache: string | undefined,
): StudyContext {
  const datasets = new Map<string, { result: Dataset; inputs: Map<string, string> }>();
  const limits = study.data[o.mode];
  const ctx: StudyContext = {
    ...o,
    log,
    dataset(name) {
      let d = datasets.get(name);
      if (!d) {
        d = captureInputs(() => loadDataset(name, { limit: limits.trainLimit, testLimit: limits.testLimit }));
        datasets.set(name, d);
      }
      // Loaded once per run, but an input of every configuration that uses it.
      for (const [file, hash] of d.inputs) noteHashedInput(file, hash);
      return d.result;
    },
    // The dataset's files go into the trained model's training.json and description too.
    model: async (job) => {
      const { result: data, inputs } = await collectInputs(async () => ctx.dataset(job.dataset));
      return cachedModel({ ...job, limit: limits.trainLimit }, data, log, modelCache, inputs);
    },
  };
  return ctx;
}

/**
 * Render a study's report over its finished records. A run in progress says so atop its summary, so
 * that its tables and tests are not mistaken for the whole protocol's.
 */
async function writeStudyReport(
  study: Study,
  records: ResultRecord[],
  out: string,
  planned: number,
): Promise<string[]> {
  const files = await study.report(records, out);
  const prov = recordsProvenance(records);
  for (const file of files) stampFile(file, prov);
  const summary = path.join(out, 'summary.md');
  if (records.length < planned && fs.existsSync(summary)) {
    const md = fs.readFileSync(summary, 'utf8');
    const afterTitle = md.indexOf('\n') + 1;
    const note =
      `\n**In progress: ${records.length} of ${planned} configurations done.** The tables, tests and ` +
      `figures cover those only; rerun the study's command to finish it.\n`;
    writeFileAtomic(summary, md.slice(0, afterTitle) + note + md.slice(afterTitle));
  }
  if (fs.existsSync(summary))
    writeFileAtomic(
      summary,
      fs.readFileSync(summary, 'utf8').trimEnd() + '\n\n' + provenanceSection(records),
    );
  return files;
}

/** Every input any record read, with each hash seen; and how many records carry no provenance. */
function recordsInputs(records: ResultRecord[]): { inputs: Map<string, Set<string>>; without: number } {
  const inputs = new Map<string, Set<string>>();
  let without = 0;
  for (const r of records) {
    const prov = r.provenance as Record<string, string> | undefined;
    if (!prov) {
      without++;
      continue;
    }
    for (const [name, hash] of Object.entries(prov)) {
      if (!inputs.has(name)) inputs.set(name, new Set());
      inputs.get(name)!.add(hash);
    }
  }
  return { inputs: new Map([...inputs].sort(([a], [b]) => a.localeCompare(b))), without };
}

/** The records' inputs as one map for the report's CSV and figure files (several hashes: comma-joined). */
export function recordsProvenance(records: ResultRecord[]): OutputProvenance {
  const { inputs, without } = recordsInputs(records);
  const prov: OutputProvenance = Object.fromEntries([...inputs].map(([n, h]) => [n, [...h].join(', ')]));
  if (without) prov['records without provenance'] = String(without);
  return prov;
}

/**
 * What the records were made from, so that the summary names its inputs alone: every file any record
 * read, by path and content hash, and the xbarsim versions and commits (results.jsonl has them per record).
 */
export function provenanceSection(records: ResultRecord[]): string {
  const { inputs, without } = recordsInputs(records);
  const lines = ['## Provenance', ''];
  if (inputs.size === 0) lines.push('No record carries provenance (all were written before 2026-12-06).');
  else {
    lines.push('| input | SHA-256 (or version, commit) |', '| --- | --- |');
    for (const [name, hashes] of inputs)
      lines.push(`| \`${name}\` | ${[...hashes].map((h) => `\`${h}\``).join(', ')} |`);
    if (without) lines.push('', `${without} records carry no provenance (written before 2026-12-06).`);
  }
  return lines.join('\n') + '\n';
}

/**
 * `xbarsim report DIR`: the report of a study directory, its configurations planned again from the
 * directory's stamp (mode, trials, seed, parameters) so that a run in progress is marked as such.
 */
export async function reportStudyDir(study: Study, dir: string): Promise<string[]> {
  const stamp = JSON.parse(fs.readFileSync(path.join(dir, STUDY_FILE), 'utf8')) as StudyStamp;
  const ctx = studyContext(
    study,
    {
      mode: stamp.mode,
      out: dir,
      trials: stamp.trials,
      seed: stamp.seed,
      workers: 1,
      params: stamp.params ?? {},
    },
    () => undefined,
    undefined,
  );
  const keys = new Set(study.configurations(ctx).map((c) => c.key));
  const records = new ResultStore(dir).all().filter((r) => keys.has(r.key));
  return writeStudyReport(study, records, dir, keys.size);
}
