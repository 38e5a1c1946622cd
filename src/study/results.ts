/**
 * Append-only store of finished study configurations, one JSON object per line, so an interrupted study
 * resumes by skipping the keys already present. Each writer has its own file: a whole run
 * DIR/results.jsonl, shard K of N DIR/results.shard-K-of-N.jsonl (one writer per file, so shards on
 * several hosts never append to one file); every reader reads them all as one store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { ensureWritableDir, writeFileAtomic } from '../util/files';

export interface ResultRecord {
  key: string;
  [field: string]: unknown;
}

export interface ResultStoreOptions {
  /** Where repairs and duplicates are reported; console.warn by default. */
  warn?: (message: string) => void;
  /**
   * Read only: an incomplete last line is skipped, never cut off (it may be another shard's write in
   * flight). The default repairs the store's own file: such a line is left by a crash and is truncated
   * away (other writers' files are only read).
   */
  readOnly?: boolean;
  /** The shard this store writes for (its own file); a whole run writes results.jsonl. */
  shard?: { index: number; count: number };
}

/** How long a writer waits to see whether an incomplete last line is still being written. */
const SETTLE_MS = 200;

export const RESULTS_FILE = 'results.jsonl';

/** The records file of shard K of N. */
export function shardResultsFile(shard: { index: number; count: number }): string {
  return `results.shard-${shard.index}-of-${shard.count}.jsonl`;
}

const RECORDS_FILE = /^results(\.shard-\d+-of-\d+)?\.jsonl$/;

/** The records files of a study directory: results.jsonl first, then the shards' files by name. */
export function recordsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const names = fs.readdirSync(dir).filter((f) => RECORDS_FILE.test(f));
  return names.sort((a, b) => (a === RESULTS_FILE ? -1 : b === RESULTS_FILE ? 1 : a.localeCompare(b)));
}

const NEWLINE = 0x0a;

export class ResultStore {
  /** The file this store appends to. */
  readonly file: string;
  /** Records by key, in file order (a Map keeps insertion order), and the file each came from. */
  private readonly records = new Map<string, ResultRecord>();
  private readonly fileOf = new Map<string, string>();
  private readonly warn: (message: string) => void;
  private readonly readOnly: boolean;

  constructor(
    readonly dir: string,
    opts: ResultStoreOptions = {},
  ) {
    this.warn = opts.warn ?? ((m) => console.warn(`xbarsim: warning: ${m}`));
    this.readOnly = opts.readOnly ?? false;
    ensureWritableDir(dir);
    this.file = path.join(dir, opts.shard ? shardResultsFile(opts.shard) : RESULTS_FILE);
    for (const name of recordsFiles(dir)) this.load(path.join(dir, name));
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  get(key: string): ResultRecord | undefined {
    return this.records.get(key);
  }

  /**
   * Drop the records of these keys: each file holding one is rewritten whole (atomically) without them.
   * Not for a directory that shards are appending to at the same time.
   */
  remove(keys: ReadonlySet<string>): void {
    const files = new Set([...keys].flatMap((k) => (this.fileOf.has(k) ? [this.fileOf.get(k)!] : [])));
    for (const k of keys) {
      this.records.delete(k);
      this.fileOf.delete(k);
    }
    for (const file of files)
      writeFileAtomic(
        file,
        this.all()
          .filter((r) => this.fileOf.get(r.key) === file)
          .map((r) => JSON.stringify(r) + '\n')
          .join(''),
      );
  }

  /** Records in file order, first occurrence of each key only. */
  all(): ResultRecord[] {
    return [...this.records.values()];
  }

  /**
   * Store one finished configuration. The line goes out in a single append and is fsynced, so after
   * a crash the file holds whole lines plus at most one partial last line, which the next open drops.
   */
  append(key: string, record: object): void {
    if (typeof key !== 'string' || key === '') throw new InputError('result key must be a non-empty string');
    if (Object.prototype.hasOwnProperty.call(record, 'key')) {
      throw new Error(`result for ${key}: the record must not carry its own "key" field`);
    }
    if (this.records.has(key))
      throw new Error(`result for ${key} is already stored in ${this.fileOf.get(key) ?? this.file}`);
    const full: ResultRecord = { key, ...record };
    const line = JSON.stringify(full) + '\n';
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.appendFileSync(fd, line);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // Keep what a reopen would read back (NaN becomes null, undefined fields vanish).
    this.remember(JSON.parse(line) as ResultRecord, this.file);
  }

  private remember(record: ResultRecord, file: string): void {
    this.records.set(record.key, record);
    this.fileOf.set(record.key, file);
  }

  private load(file: string): void {
    // Only the store's own file is repaired; another writer's may have an append in flight.
    const repair = !this.readOnly && file === this.file;
    let bytes = fs.readFileSync(file);
    // An incomplete last line may be an append in flight: wait until the file stops growing.
    while (repair && bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
      const again = fs.readFileSync(file);
      if (again.length === bytes.length) break;
      bytes = again;
    }
    // Split on the newline byte: it never occurs inside a UTF-8 multi-byte character.
    const lines: { start: number; end: number; terminated: boolean }[] = [];
    for (let start = 0; start < bytes.length;) {
      const nl = bytes.indexOf(NEWLINE, start);
      const end = nl === -1 ? bytes.length : nl;
      lines.push({ start, end, terminated: nl !== -1 });
      start = end + 1;
    }
    // Blank lines are harmless (a hand edit); they are neither records nor corruption.
    const content = lines.filter((l) => bytes.subarray(l.start, l.end).toString('utf8').trim() !== '');
    const parsed: ResultRecord[] = [];
    let keepBytes = bytes.length;
    let missingNewline = false;
    for (let i = 0; i < content.length; i++) {
      const l = content[i];
      const record = parseRecord(bytes.subarray(l.start, l.end).toString('utf8'));
      const isLast = i === content.length - 1;
      if (record === undefined) {
        const lineNo = lines.indexOf(l) + 1;
        if (!isLast) {
          throw new InputError(`${file} line ${lineNo} is not a valid result record; fix or remove it`);
        }
        keepBytes = l.start;
        if (repair)
          this.warn(
            `${file} line ${lineNo} is incomplete (interrupted write); dropped it, that configuration will rerun`,
          );
        break;
      }
      // A valid JSON object can only end at its closing brace, so an unterminated one is whole.
      if (isLast && !l.terminated) missingNewline = true;
      parsed.push(record);
    }
    if (repair && keepBytes < bytes.length) fs.truncateSync(file, keepBytes);
    if (repair && missingNewline) fs.appendFileSync(file, '\n');
    for (const record of parsed) {
      if (this.records.has(record.key)) {
        const first = this.fileOf.get(record.key);
        this.warn(
          first === file
            ? `${file} holds key ${record.key} more than once; keeping the first`
            : `key ${record.key} is in both ${first} and ${file}; keeping the first`,
        );
        continue;
      }
      this.remember(record, file);
    }
  }
}

function parseRecord(text: string): ResultRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const key = (value as { key?: unknown }).key;
  if (typeof key !== 'string' || key === '') return undefined;
  return value as ResultRecord;
}
