/**
 * TensorFlow.js backend selection. 'auto' tries, in order of speed: tfjs-node (native TensorFlow; an
 * optional dependency), the WebAssembly backend (XNNPACK, SIMD build), then plain JavaScript ('cpu').
 * Threads are off for wasm in Node (tfjs 4.22 only runs the threaded build with web workers), so the
 * wasm backend uses one core.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { InputError } from '../util/errors';
import { registerWasmKernels } from './kernels';

export type BackendChoice = 'auto' | 'node' | 'wasm' | 'cpu';
const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'node', 'wasm', 'cpu'];

export interface ActiveBackend {
  /** TF.js's name for the backend: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  name: string;
  tf: typeof tf;
  /** For logs and reports, e.g. 'wasm (SIMD, 1 thread)'. */
  description: string;
}

let active: ActiveBackend | null = null;
let pending: Promise<ActiveBackend> | null = null;
let wasmPathsSet = false;

type Loaded = { tf: typeof tf } | { error: string };

// A plain require: the package is optional, so it must not be resolved at build time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireTfjsNode = (): typeof tf => require('@tensorflow/tfjs-node') as typeof tf;
let tfjsNodeLoader: () => typeof tf = requireTfjsNode;

/**
 * Replace how tfjs-node is loaded (null: the real package) and forget the active backend. For tests,
 * which play machines where the package is missing or broken whatever this machine has.
 */
export function setTfjsNodeLoader(loader: (() => typeof tf) | null): void {
  tfjsNodeLoader = loader ?? requireTfjsNode;
  active = null;
}

/** tfjs-node, if it is installed and its native library loads. */
function loadNode(): Loaded {
  try {
    return { tf: tfjsNodeLoader() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = e.code === 'MODULE_NOT_FOUND' && e.message.includes("'@tensorflow/tfjs-node'");
    return {
      error: missing ? 'it is not installed' : `it failed to load (${e.message.split('\n')[0].trim()})`,
    };
  }
}

async function tryNode(): Promise<ActiveBackend | string> {
  const loaded = loadNode();
  if ('error' in loaded) return loaded.error;
  if (!(await loaded.tf.setBackend('tensorflow'))) return 'its backend did not initialise';
  return { name: 'tensorflow', tf: loaded.tf, description: 'tensorflow (tfjs-node, native)' };
}

async function tryWasm(): Promise<ActiveBackend | string> {
  if (!wasmPathsSet) {
    // Node loads the binaries from disk; the SIMD one is picked when WebAssembly SIMD validates.
    const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
    setWasmPaths(path.join(path.dirname(pkg), 'dist') + path.sep);
    wasmPathsSet = true;
  }
  registerWasmKernels();
  try {
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
  } catch (err) {
    return `the wasm backend failed: ${(err as Error).message}`;
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  return {
    name: 'wasm',
    tf,
    description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`,
  };
}

async function useCpu(): Promise<ActiveBackend> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js cpu backend did not initialise');
  return { name: 'cpu', tf, description: 'cpu (plain JavaScript)' };
}

/**
 * The cpu backend prints a "you are running TensorFlow.js in Node.js" banner on its first write.
 * Make that first write here with TF.js's production flag (which mutes its warnings) briefly on.
 */
function muteCpuBanner(): void {
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  try {
    const cpu = tf.findBackend('cpu');
    if (cpu) cpu.disposeData(cpu.write(new Float32Array(1), [1], 'float32'));
  } finally {
    tf.env().set('PROD', prod);
  }
}

async function select(choice: BackendChoice): Promise<ActiveBackend> {
  muteCpuBanner();
  if (choice === 'node' || choice === 'auto') {
    const node = await tryNode();
    if (typeof node !== 'string') return node;
    if (choice === 'node')
      throw new InputError(
        `--backend node needs @tensorflow/tfjs-node, but ${node}; use --backend auto, wasm or cpu`,
      );
  }
  if (choice === 'wasm' || choice === 'auto') {
    const wasm = await tryWasm();
    if (typeof wasm !== 'string') return wasm;
    if (choice === 'wasm')
      throw new InputError(`--backend wasm is not available: ${wasm}; use --backend cpu`);
  }
  return useCpu();
}

/**
 * Pick and initialise the backend. A second call with 'auto' or the same choice returns the first
 * result; a different explicit choice switches backend.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<ActiveBackend> {
  if (!BACKEND_CHOICES.includes(choice))
    throw new InputError(
      `--backend ${choice}: unknown backend, allowed values are ${BACKEND_CHOICES.join(', ')}`,
    );
  if (pending) await pending.catch(() => undefined);
  if (active && (choice === 'auto' || backendChoiceOf(active.name) === choice)) {
    // Someone may have called tf.setBackend since (tests do); put ours back.
    if (active.tf.getBackend() !== active.name) await active.tf.setBackend(active.name);
    return active;
  }
  pending = select(choice);
  try {
    active = await pending;
  } finally {
    pending = null;
  }
  return active;
}

function backendChoiceOf(name: string): BackendChoice {
  return name === 'tensorflow' ? 'node' : (name as BackendChoice);
}

/** The tf namespace of the initialised backend. */
export function getTf(): typeof tf {
  if (!active) throw new Error('initBackend() must be called before getTf()');
  return active.tf;
}

/** The active backend's name, or null before initBackend(). */
export function activeBackendName(): string | null {
  return active?.name ?? null;
}
