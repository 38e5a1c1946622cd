import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from './errors';

/**
 * Write a file atomically: write a temporary sibling, then rename over the target, so a crash never
 * leaves a half-written result.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([[file, data]]);
}

/**
 * Write several files as one result: every temporary sibling is written first, then all are renamed
 * into place, so a failure while writing leaves none of them (not one without the other).
 */
export function writeFilesAtomic(files: ReadonlyArray<[file: string, data: string | Uint8Array]>): void {
  const temps: string[] = [];
  try {
    for (const [file, data] of files) {
      const dir = path.dirname(file);
      ensureWritableDir(dir);
      const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
      temps.push(tmp);
      fs.writeFileSync(tmp, data);
    }
    files.forEach(([file], i) => fs.renameSync(temps[i], file));
  } catch (err) {
    for (const tmp of temps) fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Create `dir` if needed and check that we can write there; bad input otherwise. */
export function ensureWritableDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new InputError(`output directory ${dir} is not writable: ${(err as Error).message}`);
  }
}

/** Read a whole file; a missing file is bad input naming `what`. */
export function readFileOrFail(file: string, what: string): Buffer {
  if (!fs.existsSync(file)) throw new InputError(`${what} not found: ${file}`);
  return fs.readFileSync(file);
}

/**
 * Write a directory as a whole: `fill` writes into a temporary sibling, which then replaces `dir`, so
 * an interrupted run never leaves a half-written directory.
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.partial-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Text without a leading UTF-8 byte-order mark (editors on Windows write one; JSON.parse rejects it). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The nearest directory at or above this module that holds package.json. */
export function projectRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}
