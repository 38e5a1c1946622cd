/**
 * The simulator's core (cards, mapping, tiles, trial loop, cost model: src/device, src/crossbar, src/sim,
 * src/cost) must run in a browser: no module of it may reach a Node API, directly or through what it imports. Files,
 * threads and dataset loading live in the adapters listed here. Layering: a lower layer never imports a
 * higher one (util < data < nn < device < crossbar < sim < cost < report < study < cli; `report` holds the
 * chart and table primitives with which each study renders its results).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', 'src');
const CORE = ['device', 'crossbar', 'sim', 'cost'];
/** Node-side adapters inside the core folders (src-relative, without .ts). */
const ADAPTERS = new Set([
  'device/cardFiles',
  'device/loadDevice',
  'crossbar/loadCircuit',
  'sim/node',
  'sim/workerPool',
  'sim/trialWorker',
  'cost/loadTechnology',
  'cost/node',
]);
const NODE_ONLY = /^(node:|fs$|path$|os$|worker_threads$|child_process$|@tensorflow\/tfjs-node)/;

/** Import specifiers of a source file (static imports and re-exports, and dynamic imports). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g))
    specs.push(m[1] ?? m[2]);
  return specs;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const f of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(f)) return f;
  throw new Error(`${path.relative(SRC, from)}: cannot resolve ${spec}`);
}

const rel = (f: string) => path.relative(SRC, f).replace(/\.ts$/, '');

/** The first Node-only module `file` reaches, with the chain of files that leads there. */
function nodeReach(file: string, seen = new Set<string>()): string[] | null {
  if (seen.has(file)) return null;
  seen.add(file);
  for (const spec of importsOf(file)) {
    if (NODE_ONLY.test(spec)) return [rel(file), spec];
    const local = resolveLocal(file, spec);
    if (!local) continue;
    if (ADAPTERS.has(rel(local))) return [rel(file), rel(local)];
    const chain = nodeReach(local, seen);
    if (chain) return [rel(file), ...chain];
  }
  return null;
}

const coreFiles = CORE.flatMap((dir) =>
  fs
    .readdirSync(path.join(SRC, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(SRC, dir, f)),
).filter((f) => !ADAPTERS.has(rel(f)));

test('the core folders hold browser-safe modules besides the adapters', () => {
  expect(coreFiles.length).toBeGreaterThan(15);
  for (const a of ADAPTERS) expect(fs.existsSync(path.join(SRC, `${a}.ts`))).toBe(true);
});

test.each(coreFiles.map((f) => [rel(f), f]))('%s reaches no Node API', (_name, file) => {
  expect(nodeReach(file)).toBeNull();
});

test('no layer imports a higher one', () => {
  const order = ['util', 'data', 'nn', 'device', 'crossbar', 'sim', 'cost', 'report', 'study', 'cli'];
  const layerOf = (f: string) => order.indexOf(rel(f).split('/')[0]);
  const offences: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(f);
      else if (f.endsWith('.ts') && layerOf(f) >= 0)
        for (const spec of importsOf(f)) {
          const local = resolveLocal(f, spec);
          if (local && layerOf(local) > layerOf(f)) offences.push(`${rel(f)} -> ${rel(local)}`);
        }
    }
  };
  walk(SRC);
  expect(offences).toEqual([]);
});
