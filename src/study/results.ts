/**
 * Append-only store of finished study configurations, one JSON object per line in DIR/results.jsonl,
 * so an interrupted study resumes by skipping the keys already present.
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
   * flight). The default repairs the file: such a line is left by a crash and is truncated away.
   */
  readOnly?: boolean;
}

/** How long a writer waits to see whether an incomplete last line is still being written. */
const SETTLE_MS = 200;

export const RESULTS_FILE = 'results.jsonl';

const NEWLINE = 0x0a;

export class ResultStore {
  readonly file: string;
  /** Records by key, in file order (a Map keeps insertion order). */
  private readonly records = new Map<string, ResultRecord>();
  private readonly warn: (message: string) => void;
  private readonly readOnly: boolean;

  constructor(
    readonly dir: string,
    opts: ResultStoreOptions = {},
  ) {
    this.warn = opts.warn ?? ((m) => console.warn(`xbarsim: warning: ${m}`));
    this.readOnly = opts.readOnly ?? false;
    ensureWritableDir(dir);
    this.file = path.join(dir, RESULTS_FILE);
    if (fs.existsSync(this.file)) this.load();
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  get(key: string): ResultRecord | undefined {
    return this.records.get(key);
  }

  /**
   * Drop the records of these keys: the file is rewritten whole (atomically) without their lines. Not
   * for a directory that shards are appending to at the same time.
   */
  remove(keys: ReadonlySet<string>): void {
    for (const k of keys) this.records.delete(k);
    writeFileAtomic(
      this.file,
      this.all()
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
    if (this.records.has(key)) throw new Error(`result for ${key} is already stored in ${this.file}`);
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
    this.remember(JSON.parse(line) as ResultRecord);
  }

  private remember(record: ResultRecord): void {
    this.records.set(record.key, record);
  }

  private load(): void {
    let bytes = fs.readFileSync(this.file);
    // An incomplete last line may be a shard's append in flight: wait until the file stops growing.
    while (!this.readOnly && bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
      const again = fs.readFileSync(this.file);
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
          throw new InputError(`${this.file} line ${lineNo} is not a valid result record; fix or remove it`);
        }
        keepBytes = l.start;
        if (!this.readOnly)
          this.warn(
            `${this.file} line ${lineNo} is incomplete (interrupted write); dropped it, that configuration will rerun`,
          );
        break;
      }
      // A valid JSON object can only end at its closing brace, so an unterminated one is whole.
      if (isLast && !l.terminated) missingNewline = true;
      parsed.push(record);
    }
    if (!this.readOnly && keepBytes < bytes.length) fs.truncateSync(this.file, keepBytes);
    if (!this.readOnly && missingNewline) fs.appendFileSync(this.file, '\n');
    for (const record of parsed) {
      if (this.records.has(record.key)) {
        this.warn(`${this.file} holds key ${record.key} more than once; keeping the first`);
        continue;
      }
      this.remember(record);
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
