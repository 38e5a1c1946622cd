/**
 * Provenance of a computation: the files it read (cards, model descriptions), each by path and content
 * hash, and the xbarsim version, collected while it runs. A study record or a simulation result carries
 * them, so that a rerun can tell whether the record still describes the inputs as they are now
 * (`changedInputs`). Node-only (files, hashes): the loaders that note inputs are Node adapters.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from './files';

/** The key under which an input map records the xbarsim version. */
export const VERSION_INPUT = 'xbarsim';
/**
 * The key of the git commit when xbarsim runs from a checkout: recorded, never compared (every commit
 * would otherwise make every record stale; the version and the file hashes decide).
 */
export const COMMIT_INPUT = 'xbarsim commit';

/**
 * HEAD's commit of the checkout xbarsim runs from, read from .git without running git; null outside one.
 * In a linked worktree .git is a file naming the worktree's git directory, whose `commondir` holds the
 * shared refs.
 */
export function gitCommit(root = projectRoot()): string | null {
  let git = path.join(root, '.git');
  try {
    if (fs.statSync(git).isFile()) {
      const link = fs.readFileSync(git, 'utf8').trim();
      if (!link.startsWith('gitdir: ')) return null;
      git = path.resolve(root, link.slice(8));
    }
    const head = fs.readFileSync(path.join(git, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : null;
    const ref = head.slice(5);
    const common = fs.existsSync(path.join(git, 'commondir'))
      ? path.resolve(git, fs.readFileSync(path.join(git, 'commondir'), 'utf8').trim())
      : git;
    const loose = [git, common].map((d) => path.join(d, ref)).find((f) => fs.existsSync(f));
    if (loose) return fs.readFileSync(loose, 'utf8').trim();
    const packed = fs.readFileSync(path.join(common, 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
    return line ? line.split(' ')[0] : null;
  } catch {
    return null;
  }
}

export function packageVersion(): string {
  const file = path.join(projectRoot(), 'package.json');
  return fs.existsSync(file) ? String(JSON.parse(fs.readFileSync(file, 'utf8')).version) : 'unknown';
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A file's name in an input map: relative to the project folder when inside it, else absolute. */
function inputName(file: string): string {
  const abs = path.resolve(file);
  const rel = path.relative(projectRoot(), abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}

const collectors: Map<string, string>[] = [];

/** Note that the running computation read `file` with this content. */
export function noteInput(file: string, content: string | Uint8Array): void {
  if (collectors.length === 0) return;
  noteHashedInput(inputName(file), sha256(content));
}

/** Note an input already hashed (a name as an input map holds it), e.g. again for a cached dataset. */
export function noteHashedInput(name: string, hash: string): void {
  for (const c of collectors) c.set(name, hash);
}

/**
 * Run synchronous `work`, returning the inputs it noted (which the enclosing collections note too), so
 * that a cache (a dataset loaded once per run) can note them again each time it is used.
 */
export function captureInputs<T>(work: () => T): { result: T; inputs: Map<string, string> } {
  const c = new Map<string, string>();
  collectors.push(c);
  try {
    return { result: work(), inputs: c };
  } finally {
    collectors.splice(collectors.indexOf(c), 1);
  }
}

/**
 * Run `work`, collecting the inputs it notes (and the version). Collections nest; work must not run
 * concurrently with other collected work in the same process (studies run configurations one by one).
 */
export async function collectInputs<T>(
  work: () => Promise<T>,
): Promise<{ result: T; inputs: Record<string, string> }> {
  const c = new Map<string, string>([[VERSION_INPUT, packageVersion()]]);
  const commit = gitCommit();
  if (commit) c.set(COMMIT_INPUT, commit);
  collectors.push(c);
  try {
    const result = await work();
    return { result, inputs: Object.fromEntries([...c].sort(([a], [b]) => a.localeCompare(b))) };
  } finally {
    collectors.splice(collectors.indexOf(c), 1);
  }
}

/**
 * The inputs of a map that differ now: another xbarsim version, or a file whose content changed. A file
 * that no longer exists cannot be compared and does not count (a trained model cached on another
 * machine; the model cache keys its models by everything that defines them).
 */
export function changedInputs(inputs: Record<string, string>): string[] {
  const changed: string[] = [];
  for (const [name, hash] of Object.entries(inputs)) {
    if (name === COMMIT_INPUT) continue;
    if (name === VERSION_INPUT) {
      if (hash !== packageVersion()) changed.push(`xbarsim version (${hash} -> ${packageVersion()})`);
      continue;
    }
    const file = path.isAbsolute(name) ? name : path.join(projectRoot(), name);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
    if (fileHash(file) !== hash) changed.push(name);
  }
  return changed;
}

/** File hashes by path, size and mtime: a study checks many records naming the same dataset files. */
const hashCache = new Map<string, { size: number; mtimeMs: number; hash: string }>();

function fileHash(file: string): string {
  const { size, mtimeMs } = fs.statSync(file);
  const known = hashCache.get(file);
  if (known && known.size === size && known.mtimeMs === mtimeMs) return known.hash;
  const hash = sha256(fs.readFileSync(file));
  hashCache.set(file, { size, mtimeMs, hash });
  return hash;
}
