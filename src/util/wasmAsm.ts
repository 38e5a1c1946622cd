/**
 * A minimal WebAssembly binary encoder, for the small SIMD kernels that xbarsim assembles from opcodes at
 * run time (no toolchain, no download): value types, instructions, sections, and instantiation with a
 * clean `null` where WebAssembly SIMD is unavailable. Browser-safe.
 */

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

// Instructions (https://webassembly.github.io/spec/core/binary/instructions.html).
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const i32c = (v: number) => [0x41, ...sleb(v)];
export const i32add = [0x6a];
export const i32sub = [0x6b];
export const i32mul = [0x6c];
export const i32geU = [0x4f];
export const i32eq = [0x46];
export const i32eqz = [0x45];
export const i32and = [0x71];
export const f32lt = [0x5d];
export const select = [0x1b];
export const i32shl = [0x74];
export const i32shrU = [0x76];
export const i32store = (offset = 0) => [0x36, 2, ...uleb(offset)];
export const f64load = [0x2b, 3, 0];
export const f64loadAt = (offset: number) => [0x2b, 3, ...uleb(offset)];
export const f64storeAt = (offset: number) => [0x39, 3, ...uleb(offset)];
export const i32load8U = (offset = 0) => [0x2d, 0, ...uleb(offset)];
export const i32ne = [0x47];
export const i32ltU = [0x49];
export const i32gtU = [0x4b];
export const f32add = [0x92];
export const f32mul = [0x94];
export const f32convertI32 = [0xb2];
export const f64store = [0x39, 3, 0];
export const f64add = [0xa0];
export const f64sub = [0xa1];
export const i32load = (offset = 0) => [0x28, 2, ...uleb(offset)];
export const f32load = [0x2a, 2, 0];
export const f32store = [0x38, 2, 0];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const ifEmpty = [0x04, 0x40];
export const elseOp = [0x05];
export const end = [0x0b];
export const br = (d: number) => [0x0c, ...uleb(d)];
export const brIf = (d: number) => [0x0d, ...uleb(d)];
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
export const v128load = (offset = 0) => simd(0x00, 0, ...uleb(offset)); // align hint 1 byte: always valid
export const v128store = (offset = 0) => simd(0x0b, 0, ...uleb(offset));
export const v128zero = simd(0x0c, ...new Array<number>(16).fill(0));
/** One float64 from memory into both lanes. */
export const v128load64Splat = (offset = 0) => simd(0x0a, 0, ...uleb(offset));
export const i32x4splat = simd(0x11);
export const f32x4splat = simd(0x13);
export const i32x4lane = (l: number) => simd(0x1b, l);
export const i32x4eq = simd(0x37);
export const f32x4eq = simd(0x41);
export const f32x4lt = simd(0x43);
export const f32x4gt = simd(0x44);
export const v128and = simd(0x4e);
export const bitselect = simd(0x52);
export const f32x4floor = simd(0x68);
export const v128or = simd(0x50);
export const i32x4allTrue = simd(0xa3);
export const i32x4sub = simd(0xb1);
export const f32x4add = simd(0xe4);
export const f32x4sub = simd(0xe5);
export const f32x4mul = simd(0xe6);
export const f32x4pmax = simd(0xeb);
export const i32x4truncSatF32 = simd(0xf8);
export const f64x2splat = simd(0x14);
export const f32x4demoteF64x2Zero = simd(0x5e);
export const f64x2promoteLowF32x4 = simd(0x5f);
export const f64x2extractLane = (l: number) => simd(0x21, l);
export const f64x2add = simd(0xf0);
export const f64x2sub = simd(0xf1);
export const f64x2mul = simd(0xf2);
export const f64x2div = simd(0xf3);

/** `while (local a < local b) { body }` (unsigned compare). */
// prettier-ignore
export function whileLt(a: number, b: number, body: number[]): number[] {
  return [...block, ...loop, ...get(a), ...get(b), ...i32geU, ...brIf(1), ...body, ...br(0), ...end, ...end];
}

export function f32c(v: number): number[] {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [0x43, ...b];
}

export function f64c(v: number): number[] {
  const b = new Uint8Array(new Float64Array([v]).buffer);
  return [0x44, ...b];
}

/** One exported function: parameter and result types, local declarations (count, type), body code. */
interface WasmFunc {
  name: string;
  params: number[];
  results: number[];
  locals: Array<[number, number]>;
  code: number[];
}

/**
 * A module of `funcs` with one memory, exported as `mem`: its own (1 page to start, grown by the caller),
 * or, with `importMemory`, the memory given at instantiation as `env.mem` (any size, not shared).
 */
function moduleBytes(funcs: WasmFunc[], importMemory = false): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const bodies = funcs.map((f) => {
    const body = [...vec(f.locals.map(([count, t]) => [...uleb(count), t])), ...f.code, ...end];
    return [...uleb(body.length), ...body];
  });
  const memory = importMemory
    ? section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(0)]]))
    : section(5, vec([[0x00, ...uleb(1)]]));
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...(importMemory ? memory : []),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...(importMemory ? [] : memory),
    ...section(
      7,
      vec([[...name('mem'), 0x02, 0], ...funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ),
    ...section(10, vec(bodies)),
  ]);
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * A compiler of one module: each call of the result is a fresh instance (own memory), or null where
 * WebAssembly SIMD is unavailable. The module is assembled and compiled once, on first use.
 */
export function instantiator<T>(build: () => WasmFunc[]): () => T | null {
  let compiled: object | null | undefined;
  return () => {
    if (compiled === undefined) {
      try {
        const bytes = moduleBytes(build());
        compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
      } catch {
        compiled = null;
      }
    }
    if (!compiled || !wasm) return null;
    return new wasm.Instance(compiled, {}).exports as T;
  };
}

/**
 * Like `instantiator`, for a module that works in a memory it is given (`memory`, for example the wasm
 * tensor backend's heap, so that kernels read and write tensors in place): one instance per memory,
 * made on first use; null where WebAssembly SIMD is unavailable or `memory` is not a (non-shared)
 * WebAssembly.Memory.
 */
export function memoryInstantiator<T>(build: () => WasmFunc[]): (memory: unknown) => T | null {
  let compiled: object | null | undefined;
  const instances = new WeakMap<object, T | null>();
  const instantiate = (memory: object): T | null => {
    if (!wasm || !(memory instanceof wasm.Memory)) return null;
    if (compiled === undefined) {
      try {
        const bytes = moduleBytes(build(), true);
        compiled = wasm.validate(bytes) ? new wasm.Module(bytes) : null;
      } catch {
        compiled = null;
      }
    }
    if (!compiled) return null;
    try {
      return new wasm.Instance(compiled, { env: { mem: memory } }).exports as T;
    } catch {
      return null; // for example a shared memory, which this module does not declare
    }
  };
  return (memory) => {
    if (typeof memory !== 'object' || memory === null) return null;
    if (!instances.has(memory)) instances.set(memory, instantiate(memory));
    return instances.get(memory) ?? null;
  };
}
