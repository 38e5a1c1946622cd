/**
 * The fast path of an analog stage. It gives bit-for-bit the results of the plain reference
 * (referenceTrial.ts, whose header states the semantics); test/sim-fastpath.test.ts checks that.
 * Browser-safe. A stage runs so:
 * - each input row's active rows (u != 0) per row tile are listed once (CSR); the first analog stage's
 *   lists are built once per plan, since its input is the same every trial;
 * - column sums are taken by a WebAssembly SIMD kernel in float32, four columns per instruction, over
 *   blocks of 32 columns that stay in registers (simdKernel.ts), images in chunks so a tile's block of
 *   conductances stays in cache; with binary inputs (W1's first layer) it adds precomputed sums of
 *   4-row groups instead of single rows (groupLists below);
 * - the ADC only needs each sum's code. All terms are non-negative, so the float32 sum is within a known
 *   relative bound of the float64 sum of the reference (recursive-summation bound gamma_n). Where that
 *   interval cannot contain a rounding boundary or the full-scale edge, the code is certain; the rare
 *   others (about 0.1 %) are recomputed exactly as the reference does (float64, rows in order);
 * - the digital combination then adds code * iFull / steps per tile in the reference's order (and, bit
 *   sliced, shifts and adds the slices as the reference does).
 * Stages it does not cover (read noise, ideal ADC, negative or non-finite inputs or conductances, no
 * WebAssembly SIMD) run through the reference code.
 */
import { type Activations, addBiasAndActivate, im2col, sizeOf } from '../nn/forward';
import type { AnalogStage, SimPlan } from './plan';
import { BLOCK_BYTES_PER_ROW, BLOCK_COLS, createKernel, type KernelExports } from './simdKernel';
import type { StageOutput } from './referenceTrial';
import { dacFractions, quantizedStageInput, shiftAdd, type TrialScratch } from './trialCommon';

/** Input rows per chunk: a chunk's column sums and codes (chunk x padded columns x 4 bytes each) stay in cache. */
const CHUNK_ROWS = 128;
/** Cache a stage's active-row lists across trials up to this many entries (8 bytes each). */
const MAX_CACHED_ENTRIES = 16 << 20;
const F32_UNIT_ROUNDOFF = 2 ** -24;
/** rowOffset >>> ROW_SHIFT is the row within the tile (BLOCK_BYTES_PER_ROW = 2^ROW_SHIFT). */
const ROW_SHIFT = Math.log2(BLOCK_BYTES_PER_ROW);

/** Active-row lists of one row tile (byte addresses in kernel memory). */
interface TileCsr {
  /** rowStart[n] .. rowStart[n + 1]: entries of input row n. For chunk lists, already offset by -n0. */
  rowStartPtr: number;
  rowOffPtr: number;
  uPtr: number;
}

interface TileState {
  rows: number;
  gPtr: number;
  blockBytes: number;
  /** Per padded column: vRead steps / iFull as float32 (x = sum k is the code before rounding). */
  kPtr: number;
  /**
   * Relative bound on |x_float32 - x_reference| / x (see header), with a factor 2 to spare:
   * rho = rhoA (terms + 1) + rhoB for an input row with `terms` active rows.
   */
  rhoA: number;
  rhoB: number;
  iFull: Float64Array;
  /** float64 table code * iFull / steps when every column of the tile has the same iFull; else 0. */
  tablePtr: number;
}

/** A chunk's active-row lists, built once (the first analog stage, whose input is the same every trial). */
interface CachedLists {
  csr: TileCsr[];
  weighted: boolean;
  /**
   * Binary inputs: lists of 4-row groups (entry = group and which of its rows are active), read against
   * the per-trial subset sums of each group's rows (see groupSums); else null.
   */
  groupCsr: TileCsr[] | null;
}

interface StageState {
  /** Input rows the buffers hold (a trial chunk's; smaller chunks use a prefix). */
  inputRows: number;
  physPad: number;
  nBlocks: number;
  tiles: TileState[];
  codePtr: number;
  listPtr: number;
  clipPtr: number;
  refPtr: number;
  accPtr: number;
  /** Per-chunk lists, rebuilt for every chunk (stages whose input changes per trial). */
  chunkCsr: TileCsr[];
  /** Cached lists per input chunk (null: not cached, over budget or not listable); see cachedCsr. */
  cached: Map<Float32Array, CachedLists | null>;
  cachedEntries: number;
  /** Per tile: the trial's subset sums of each 4-row group (binary cached inputs), allocated with the lists. */
  groupSumBuffers: Array<{ ptr: number; blockBytes: number }> | null;
  /** Whether this trial's conductances are loaded: as plain rows, as group sums (see fastAnalogForward). */
  loaded: { plain: boolean; groups: boolean };
  out: Float32Array;
  refOf: Int32Array;
}

/** The fast path's kernel instance and its memory, one per TrialScratch (one per worker). */
class FastEngine {
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
  private top = 64;
  readonly stages = new Map<AnalogStage, StageState>();
  /** Per later conv stage: its patch gather table and a buffer for the DAC fractions of its input images. */
  readonly gathers = new Map<AnalogStage, { gather: PatchGather; u: Float32Array }>();
  /** Stage runs on this path (one per stage and chunk of images), and conversions recomputed in float64. */
  readonly stats = { fastStages: 0, exactConversions: 0 };

  constructor(readonly k: KernelExports) {
    this.f32 = new Float32Array(k.mem.buffer);
    this.f64 = new Float64Array(k.mem.buffer);
    this.i32 = new Int32Array(k.mem.buffer);
  }

  /** A zeroed 16-byte-aligned block of `bytes` bytes (a bump allocator: stage buffers live as long as the engine). */
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = (ptr + bytes + 15) & ~15;
    const need = this.top - this.k.mem.buffer.byteLength;
    if (need > 0) {
      this.k.mem.grow(Math.ceil(need / 65536));
      this.f32 = new Float32Array(this.k.mem.buffer);
      this.f64 = new Float64Array(this.k.mem.buffer);
      this.i32 = new Int32Array(this.k.mem.buffer);
    }
    this.f32.fill(0, ptr >> 2, this.top >> 2);
    return ptr;
  }
}

/**
 * How often the fast path ran for trials using this scratch, how many conversions it recomputed exactly,
 * and how often the exact SIMD stage ran instead (exactStage.ts).
 */
export function fastPathStats(scratch: TrialScratch): {
  fastStages: number;
  exactConversions: number;
  exactStages: number;
} {
  const fast =
    scratch.fast instanceof FastEngine ? scratch.fast.stats : { fastStages: 0, exactConversions: 0 };
  return { ...fast, exactStages: scratch.exactStages };
}

function engineOf(scratch: TrialScratch): FastEngine | null {
  if (scratch.fast === null) {
    const k = createKernel();
    scratch.fast = k ? new FastEngine(k) : false;
  }
  return scratch.fast instanceof FastEngine ? scratch.fast : null;
}

function stageState(
  e: FastEngine,
  plan: SimPlan,
  stage: AnalogStage,
  inputRows: number,
  steps: number,
): StageState | null {
  const known = e.stages.get(stage);
  if (known && known.inputRows >= inputRows) return known;
  const { cols, physCols } = stage;
  const nBlocks = Math.ceil(physCols / BLOCK_COLS);
  const physPad = nBlocks * BLOCK_COLS;
  const tiles: TileState[] = [];
  for (const tile of stage.rowTiles) {
    const rows = tile.rowEnd - tile.rowStart;
    const iFull = Float64Array.from(tile.iFullAmps);
    if (!iFull.every((v) => v > 0 && v < Infinity)) return null;
    const kPtr = e.alloc(physPad * 4);
    for (let p = 0; p < physCols; p++) e.f32[(kPtr >> 2) + p] = (plan.vReadVolts * steps) / iFull[p];
    // A float32 dot product of m = terms + 1 non-negative products is within gamma_m / (1 - gamma_m) of
    // the exact sum (gamma_m = m u / (1 - m u)), below 1.03 m u while m u <= 0.01; then the float32 k and
    // product (2 u), the reference's own float64 sum and conversions; all doubled to spare.
    if ((rows + 1) * F32_UNIT_ROUNDOFF > 0.01) return null;
    const rhoA = 2 * 1.03 * F32_UNIT_ROUNDOFF;
    const rhoB = 2 * (3 * F32_UNIT_ROUNDOFF + (rows + 3) * 2 ** -52);
    let tablePtr = 0;
    if (iFull.every((v) => v === iFull[0])) {
      tablePtr = e.alloc((steps + 1) * 8);
      for (let c = 0; c <= steps; c++) e.f64[(tablePtr >> 3) + c] = (c * iFull[0]) / steps; // the reference's i'
    }
    const blockBytes = rows * BLOCK_BYTES_PER_ROW;
    tiles.push({ rows, gPtr: e.alloc(nBlocks * blockBytes), blockBytes, kPtr, rhoA, rhoB, iFull, tablePtr });
  }
  const chunkCsr = stage.rowTiles.map((t) => ({
    rowStartPtr: e.alloc((CHUNK_ROWS + 1) * 4),
    rowOffPtr: e.alloc(CHUNK_ROWS * (t.rowEnd - t.rowStart) * 4),
    uPtr: e.alloc(CHUNK_ROWS * (t.rowEnd - t.rowStart) * 4),
  }));
  const refOf = stage.refColumnOf
    ? Int32Array.from(stage.refColumnOf)
    : Int32Array.from({ length: cols }, (_, j) => cols + j);
  // Differential: the kernel takes cols + j itself (refPtr 0).
  const refPtr = stage.refColumnOf ? e.alloc(cols * 4) : 0;
  if (refPtr) e.i32.set(refOf, refPtr >> 2);
  const st: StageState = {
    inputRows,
    physPad,
    nBlocks,
    tiles,
    codePtr: e.alloc(CHUNK_ROWS * physPad * 4),
    listPtr: e.alloc(CHUNK_ROWS * physPad * 4),
    clipPtr: e.alloc(4),
    refPtr,
    accPtr: e.alloc(CHUNK_ROWS * cols * 8),
    chunkCsr,
    cached: new Map(),
    cachedEntries: 0,
    groupSumBuffers: null,
    loaded: { plain: false, groups: false },
    out: new Float32Array(inputRows * stage.outCols),
    refOf,
  };
  e.stages.set(stage, st);
  return st;
}

/** How a stage's raw inputs become DAC fractions (dacInput's arithmetic), for fusing it into list building. */
interface DacStep {
  kind: 'ideal' | 'binary' | 'bits';
  xMax: number;
  steps: number;
}

/**
 * A conv stage's patch rows read straight from its input images (no im2col copy): patch row n is image
 * floor(n / positions) at position n mod positions, and its element i is at image offset
 * offsets[position * fanIn + i], -1 for zero padding.
 */
interface PatchGather {
  offsets: Int32Array;
  positions: number;
  inSize: number;
}

/** The gather table of a conv stage, from im2col itself run on an image of its own offsets + 1. */
function patchGather(stage: AnalogStage): PatchGather {
  const c = stage.conv!;
  const inSize = sizeOf(c.inShape);
  const positions = c.outShape[0] * c.outShape[1];
  const index = Float32Array.from({ length: inSize }, (_, i) => i + 1); // exact: inSize < 2^24
  const patches = new Float32Array(positions * stage.rows);
  im2col(index, 0, c.inShape, c.kh, c.kw, c.strides, c.padding, patches, 0);
  return { offsets: Int32Array.from(patches, (v) => v - 1), positions, inSize };
}

/**
 * buildCsr's lists for patch rows [n0, n1) of a conv stage, from the DAC fractions u of its input
 * images: the same entries, in the same order, as buildCsr on the im2col patches of u.
 */
function buildCsrGather(
  e: FastEngine,
  stage: AnalogStage,
  u: Float32Array,
  g: PatchGather,
  n0: number,
  n1: number,
  csr: TileCsr[],
): 'fail' | 'ones' | 'weighted' {
  let ones = true;
  const fanIn = stage.rows;
  const { f32, i32 } = e;
  const { offsets, positions, inSize } = g;
  for (let r = 0; r < stage.rowTiles.length; r++) {
    const { rowStart: t0, rowEnd: t1 } = stage.rowTiles[r];
    const c = csr[r];
    const starts = c.rowStartPtr >> 2;
    const offs = c.rowOffPtr >> 2;
    const us = c.uPtr >> 2;
    let k = 0;
    for (let n = n0; n < n1; n++) {
      i32[starts + n - n0] = k;
      const image = Math.floor(n / positions);
      const base = image * inSize;
      const table = (n - image * positions) * fanIn;
      for (let i = t0; i < t1; i++) {
        const at = offsets[table + i];
        if (at < 0) continue; // zero padding: u = 0
        const v = u[base + at];
        if (v === 0) continue;
        if (!(v > 0 && v < Infinity)) return 'fail';
        if (v !== 1) ones = false;
        i32[offs + k] = (i - t0) * BLOCK_BYTES_PER_ROW;
        f32[us + k] = v;
        k++;
      }
    }
    i32[starts + n1 - n0] = k;
  }
  return ones ? 'ones' : 'weighted';
}

/**
 * Write the active-row lists of input rows [n0, n1) into `csr` (rowStart indexed by n - base), from the
 * DAC fractions u, or from raw inputs when `dac` is given (then u = dacInput's value, as float32).
 * Returns 'fail' if a u is negative or not finite (the float32 error bound needs non-negative terms),
 * 'ones' if every listed u is 1 (binary inputs: the kernel adds conductances without multiplying), else
 * 'weighted'.
 */
function buildCsr(
  e: FastEngine,
  stage: AnalogStage,
  src: Float32Array,
  n0: number,
  n1: number,
  base: number,
  csr: TileCsr[],
  dac: DacStep | null,
): 'fail' | 'ones' | 'weighted' {
  let ones = true;
  const fanIn = stage.rows;
  const { f32, i32 } = e;
  // 0: src is u already; 1: bits; 2: binary; 3: ideal (a number: cheap to test per element).
  const mode = dac === null ? 0 : dac.kind === 'bits' ? 1 : dac.kind === 'binary' ? 2 : 3;
  const xMax = dac?.xMax ?? 1;
  const steps = dac?.steps ?? 1;
  for (let r = 0; r < stage.rowTiles.length; r++) {
    const { rowStart: t0, rowEnd: t1 } = stage.rowTiles[r];
    const c = csr[r];
    const starts = c.rowStartPtr >> 2;
    const offs = c.rowOffPtr >> 2;
    const us = c.uPtr >> 2;
    let k = base === n0 ? 0 : i32[starts + n0 - base];
    for (let n = n0; n < n1; n++) {
      i32[starts + n - base] = k;
      const row = n * fanIn;
      for (let i = t0; i < t1; i++) {
        let v = src[row + i];
        if (v === 0) continue; // u is 0 too: the reference skips such rows
        if (mode === 1) {
          const f = v / xMax;
          v = Math.fround(Math.round((f <= 0 ? 0 : f >= 1 ? 1 : f) * steps) / steps);
          if (v === 0) continue;
        } else if (mode === 2) {
          if (!(v > 0)) continue;
          v = 1;
        } else if (mode === 3) v = Math.fround(v / xMax);
        if (!(v > 0 && v < Infinity)) return 'fail';
        if (v !== 1) ones = false;
        i32[offs + k] = (i - t0) * BLOCK_BYTES_PER_ROW;
        f32[us + k] = v;
        k++;
      }
    }
    i32[starts + n1 - base] = k;
  }
  return ones ? 'ones' : 'weighted';
}

/**
 * The first stage's lists for one chunk of input rows, built once per plan and chunk if they fit the
 * budget. `src` holds u, or raw inputs when `dac` is given.
 */
function cachedCsr(
  e: FastEngine,
  st: StageState,
  stage: AnalogStage,
  src: Float32Array,
  inputRows: number,
  dac: DacStep | null,
): CachedLists | null {
  const known = st.cached.get(src);
  if (known !== undefined) return known;
  st.cached.set(src, null);
  // Non-zero inputs bound the entries (the DAC may still round some to 0).
  const counts = stage.rowTiles.map((t) => {
    let c = 0;
    for (let n = 0; n < inputRows; n++)
      for (let i = n * stage.rows + t.rowStart, end = n * stage.rows + t.rowEnd; i < end; i++)
        if (src[i] !== 0) c++;
    return c;
  });
  const entries = counts.reduce((a, b) => a + b, 0);
  if (st.cachedEntries + entries > MAX_CACHED_ENTRIES) return null;
  // Leaving lists allocated when they are not used is fine: a worker's scratch serves one plan.
  const csr = counts.map((c) => ({
    rowStartPtr: e.alloc((inputRows + 1) * 4),
    rowOffPtr: e.alloc(c * 4),
    uPtr: e.alloc(c * 4),
  }));
  const kind = buildCsr(e, stage, src, 0, inputRows, 0, csr, dac);
  if (kind === 'fail') return null;
  st.cachedEntries += entries;
  const lists: CachedLists = {
    csr,
    weighted: kind === 'weighted',
    groupCsr: kind === 'ones' ? groupLists(e, stage, csr, inputRows) : null,
  };
  // Allocated now, not while a trial holds views of the kernel memory (an allocation may grow it).
  if (lists.groupCsr) groupSumBuffers(e, st, stage);
  st.cached.set(src, lists);
  return lists;
}

/**
 * Binary inputs add conductances without weights, so the sum over a row's active rows can take 4 rows at
 * a time: each trial tabulates, per group of 4 tile rows, the sums of all 16 subsets of its rows
 * (groupSums), and the input lists name (group, subset) entries instead of rows: about 2.6 times fewer
 * additions on binarised MNIST. Any summation order is covered by the float32 error bound (it holds for
 * any order, with each entry counted as up to 4 terms); exact recomputations use the row lists.
 */
const GROUP_ROWS = 4;
const SUBSETS = 1 << GROUP_ROWS;

function groupLists(e: FastEngine, stage: AnalogStage, rowCsr: TileCsr[], inputRows: number): TileCsr[] {
  const csr: TileCsr[] = [];
  stage.rowTiles.forEach((_t, r) => {
    const rc = rowCsr[r];
    const entries = e.i32[(rc.rowStartPtr >> 2) + inputRows];
    const c = {
      rowStartPtr: e.alloc((inputRows + 1) * 4),
      rowOffPtr: e.alloc(entries * 4),
      uPtr: e.alloc(4),
    };
    const i32 = e.i32;
    const starts = rc.rowStartPtr >> 2;
    const offs = rc.rowOffPtr >> 2;
    let k = 0;
    for (let n = 0; n < inputRows; n++) {
      i32[(c.rowStartPtr >> 2) + n] = k;
      let group = -1;
      let subset = 0;
      for (let j = i32[starts + n], end = i32[starts + n + 1]; j <= end; j++) {
        const row = j < end ? i32[offs + j] >>> ROW_SHIFT : -1;
        const q = j < end ? Math.floor(row / GROUP_ROWS) : -1;
        if (q !== group && group >= 0)
          i32[(c.rowOffPtr >> 2) + k++] = (group * SUBSETS + subset) * BLOCK_BYTES_PER_ROW;
        if (q !== group) subset = 0;
        group = q;
        if (row >= 0) subset |= 1 << (row % GROUP_ROWS);
      }
    }
    i32[(c.rowStartPtr >> 2) + inputRows] = k;
    csr.push(c);
  });
  return csr;
}

/** Per tile, room for a trial's subset sums of every 4-row group (allocated once per stage state). */
function groupSumBuffers(e: FastEngine, st: StageState, stage: AnalogStage): StageState['groupSumBuffers'] {
  st.groupSumBuffers ??= stage.rowTiles.map((t) => {
    const blockBytes = Math.ceil((t.rowEnd - t.rowStart) / GROUP_ROWS) * SUBSETS * BLOCK_BYTES_PER_ROW;
    return { ptr: e.alloc(st.nBlocks * blockBytes), blockBytes };
  });
  return st.groupSumBuffers;
}

/**
 * This trial's subset sums (float32) of each 4-row group, from the row-major conductances: subset s is
 * subset s without its lowest row, plus that row. False if a conductance is negative or not finite.
 */
function groupSums(e: FastEngine, st: StageState, stage: AnalogStage, g: Float32Array[]): boolean {
  const { physCols } = stage;
  const f32 = e.f32;
  for (let r = 0; r < g.length; r++) {
    const rows = st.tiles[r].rows;
    const { ptr, blockBytes } = st.groupSumBuffers![r];
    const gt = g[r];
    for (let b = 0; b < st.nBlocks; b++) {
      const p0 = b * BLOCK_COLS;
      const width = Math.min(BLOCK_COLS, physCols - p0);
      const base = (ptr + b * blockBytes) >> 2;
      for (let q = 0; q * GROUP_ROWS < rows; q++) {
        const table = base + q * SUBSETS * BLOCK_COLS; // subset 0 stays 0
        for (let subset = 1; subset < SUBSETS; subset++) {
          const low = 31 - Math.clz32(subset & -subset);
          const row = q * GROUP_ROWS + low;
          const to = table + subset * BLOCK_COLS;
          const from = table + (subset & (subset - 1)) * BLOCK_COLS;
          if (row >= rows) continue; // a partial last group: subsets with missing rows never occur
          const src = row * physCols + p0;
          for (let c = 0; c < width; c++) {
            const v = gt[src + c];
            if (!(v >= 0 && v < Infinity)) return false;
            f32[to + c] = f32[from + c] + v;
          }
        }
      }
    }
  }
  return true;
}

/** Copy the tiles' conductances into the kernel's column-block layout; false if one is negative or not finite. */
function loadConductances(e: FastEngine, st: StageState, stage: AnalogStage, g: Float32Array[]): boolean {
  const { physCols } = stage;
  const f32 = e.f32;
  for (let r = 0; r < g.length; r++) {
    const { rows, gPtr, blockBytes } = st.tiles[r];
    const gt = g[r];
    for (let b = 0; b < st.nBlocks; b++) {
      const p0 = b * BLOCK_COLS;
      const width = Math.min(BLOCK_COLS, physCols - p0);
      const dst = (gPtr + b * blockBytes) >> 2;
      for (let i = 0; i < rows; i++) {
        const src = i * physCols + p0;
        const d = dst + i * BLOCK_COLS;
        for (let c = 0; c < width; c++) {
          const v = gt[src + c];
          if (!(v >= 0 && v < Infinity)) return false;
          f32[d + c] = v;
        }
      }
    }
  }
  return true;
}

/** The reference's ADC conversion of one column current (float64, same operations). Counts i > iFull in clip. */
function exactCode(sum: number, vRead: number, full: number, steps: number, clip: { n: number }): number {
  let i = sum * vRead;
  if (i > full) {
    clip.n++;
    i = full;
  } else if (i < 0) i = 0;
  return Math.round((i / full) * steps);
}

/** ReLU and linear layers get bias and activation in writeOutputs; others through addBiasAndActivate after. */
function fusedActivation(stage: AnalogStage): boolean {
  return stage.activation === 'relu' || stage.activation === 'linear';
}

/**
 * out = acc * scale as float32, then (for fused activations) + bias as float32 and ReLU: the reference's
 * arithmetic (it stores acc * scale in a Float32Array, then adds the bias in place).
 */
function writeOutputs(
  acc: Float64Array,
  a: number,
  rows: number,
  cols: number,
  scale: number,
  stage: AnalogStage,
  out: Float32Array,
  o: number,
): void {
  if (!fusedActivation(stage)) {
    for (let i = 0, end = rows * cols; i < end; i++) out[o + i] = acc[a + i] * scale;
    return;
  }
  const relu = stage.activation === 'relu';
  const bias = stage.bias;
  for (let n = 0; n < rows; n++) {
    for (let j = 0; j < cols; j++) {
      const i = n * cols + j;
      let v = Math.fround(acc[a + i] * scale);
      if (bias) v = Math.fround(v + bias[j]);
      out[o + i] = relu && v < 0 ? 0 : v;
    }
  }
}

/**
 * What a stage's lists are built from: its raw inputs with the DAC fused into list building, or, when
 * the input needs reshaping first (conv patches, an input quantiser), the DAC fractions u.
 */
function stageSource(
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  x: Activations,
  scratch: TrialScratch,
  e: FastEngine,
): { src: Float32Array; inputRows: number; dac: DacStep | null; gather: PatchGather | null } {
  const isFirst = plan.stages.findIndex((st) => st.kind === 'analog') === stageIndex;
  if (stage.conv && !isFirst) {
    // A later conv stage's input changes every trial: DAC on its images, patches gathered from them
    // while the lists are built (the first stage's patches are built once and kept, stageInput).
    let known = e.gathers.get(stage);
    const size = x.data.length;
    if (!known || known.u.length < size) {
      known = { gather: known?.gather ?? patchGather(stage), u: new Float32Array(size) };
      e.gathers.set(stage, known);
    }
    const u = known.u.subarray(0, size);
    dacFractions(stage, quantizedStageInput(stage, x.data), u);
    return { src: u, inputRows: x.count * known.gather.positions, dac: null, gather: known.gather };
  }
  if (stage.conv || stage.inputQuantizer) {
    const { u, rows } = scratch.stageInput(plan, stageIndex, stage, x);
    return { src: u, inputRows: rows, dac: null, gather: null };
  }
  return {
    src: x.data,
    inputRows: x.count,
    dac: { kind: stage.dac.kind, xMax: stage.dac.xMax, steps: 2 ** stage.dac.bits - 1 },
    gather: null,
  };
}

/**
 * Prepare the fast path before the first trial (optional; the first trial would do it): the kernel, and
 * the first analog stage's input lists, which every trial reuses.
 */
export function prepareTrials(plan: SimPlan, scratch: TrialScratch): void {
  const stage = plan.stages[0];
  if (!stage || stage.kind !== 'analog' || stage.adcBits === null) return;
  const e = engineOf(scratch);
  if (!e) return;
  for (const chunk of scratch.frontChunks(plan)) {
    const { src, inputRows, dac } = stageSource(plan, stage, 0, chunk, scratch, e);
    const st = stageState(e, plan, stage, inputRows, 2 ** stage.adcBits - 1);
    if (st) cachedCsr(e, st, stage, src, inputRows, dac);
  }
}

export function fastAnalogForward(
  plan: SimPlan,
  stage: AnalogStage,
  stageIndex: number,
  g: Float32Array[],
  x: Activations,
  scratch: TrialScratch,
  newChip: boolean,
): StageOutput | null {
  if (stage.adcBits === null) return null; // an ideal ADC needs the float64 current itself
  const e = engineOf(scratch);
  if (!e) return null;
  const steps = 2 ** stage.adcBits - 1;
  const isFirst = plan.stages.findIndex((st) => st.kind === 'analog') === stageIndex;
  const { src, inputRows, dac, gather } = stageSource(plan, stage, stageIndex, x, scratch, e);
  const st = stageState(e, plan, stage, inputRows, steps);
  if (!st) return null;
  const cached = isFirst ? cachedCsr(e, st, stage, src, inputRows, dac) : null;
  const groups = cached?.groupCsr ?? null;
  // The chip's conductances go into kernel memory once per trial, in the form a chunk needs.
  if (newChip) st.loaded = { plain: false, groups: false };
  if (groups) {
    if (!st.loaded.groups && !groupSums(e, st, stage, g)) return null;
    st.loaded.groups = true;
  } else {
    if (!st.loaded.plain && !loadConductances(e, st, stage, g)) return null;
    st.loaded.plain = true;
  }
  const sums = groups ? st.groupSumBuffers! : null;

  const { cols, physCols, rowTiles } = stage;
  const { physPad, tiles, refOf, codePtr, listPtr, clipPtr, accPtr } = st;
  const { outCols } = stage;
  const out = st.out.subarray(0, inputRows * outCols);
  const vRead = plan.vReadVolts;
  const scale = (stage.weightPerSiemens * stage.dac.xMax) / vRead;
  // The float32 rounding of the code arithmetic itself: a few roundings of values up to steps + 1, each
  // at most half an ulp there (2^(ceil log2(steps + 1) - 24)); 16 ulps spare it fourfold.
  const eAbs = 16 * 2 ** (Math.ceil(Math.log2(steps + 1)) - 24);
  const clip = { n: 0 };
  e.i32[clipPtr >> 2] = 0;
  const refExact = stage.refExactSiemens;
  for (let n0 = 0; n0 < inputRows; n0 += CHUNK_ROWS) {
    const n1 = Math.min(inputRows, n0 + CHUNK_ROWS);
    let csr = cached?.csr ?? null;
    let weighted = cached?.weighted ?? true;
    if (!csr) {
      const kind = gather
        ? buildCsrGather(e, stage, src, gather, n0, n1, st.chunkCsr)
        : buildCsr(e, stage, src, n0, n1, n0, st.chunkCsr, dac);
      if (kind === 'fail') return null;
      weighted = kind === 'weighted';
      // rowStart of a chunk list is indexed from n0: hand the kernel a base pointer shifted back by n0.
      csr = st.chunkCsr.map((c) => ({ ...c, rowStartPtr: c.rowStartPtr - n0 * 4 }));
    }
    const rowsInChunk = n1 - n0;
    e.f64.fill(0, accPtr >> 3, (accPtr >> 3) + rowsInChunk * cols);
    for (let r = 0; r < rowTiles.length; r++) {
      const t = tiles[r];
      const c = csr[r];
      // prettier-ignore
      const ambiguous = groups
        ? e.k.accumulateCodes(
          sums![r].ptr, st.nBlocks, sums![r].blockBytes, groups[r].rowStartPtr, groups[r].rowOffPtr, 0, n0, n1,
          codePtr, physPad * 4, 0, t.kPtr, GROUP_ROWS * t.rhoA, t.rhoB, eAbs, steps, listPtr, clipPtr,
        )
        : e.k.accumulateCodes(
          t.gPtr, st.nBlocks, t.blockBytes, c.rowStartPtr, c.rowOffPtr, c.uPtr, n0, n1, codePtr, physPad * 4, weighted ? 1 : 0,
          t.kPtr, t.rhoA, t.rhoB, eAbs, steps, listPtr, clipPtr,
        );
      const mem = e.i32; // codes and the lists' integer arrays
      const uMem = e.f32;
      const cBase = codePtr >> 2;
      const starts = c.rowStartPtr >> 2;
      const offs = c.rowOffPtr >> 2;
      const us = c.uPtr >> 2;
      const gt = g[r];
      for (let a = 0, list = listPtr >> 2; a < ambiguous; a++) {
        // Too close to a code boundary for the float32 sum: the reference's float64 sum, rows in order.
        const idx = mem[list + a];
        const p = idx % physPad;
        if (p >= physCols) continue;
        const n = n0 + (idx - p) / physPad;
        let sum = 0;
        for (let k = mem[starts + n], k1 = mem[starts + n + 1]; k < k1; k++)
          sum += uMem[us + k] * gt[(mem[offs + k] >>> ROW_SHIFT) * physCols + p];
        mem[cBase + idx] = exactCode(sum, vRead, t.iFull[p], steps, clip);
      }
      e.stats.exactConversions += ambiguous;
      if (refExact !== null) {
        // Trimmed references carry sum(u) gRef, not programmed cells.
        for (let n = n0; n < n1; n++) {
          let sumU = 0;
          for (let k = mem[starts + n], k1 = mem[starts + n + 1]; k < k1; k++) sumU += uMem[us + k];
          const row = cBase + (n - n0) * physPad;
          for (let p = cols; p < physCols; p++)
            mem[row + p] = exactCode(sumU * refExact, vRead, t.iFull[p], steps, clip);
        }
      }
      if (t.tablePtr) {
        e.k.combine(codePtr, rowsInChunk, physPad, cols, st.refPtr, t.tablePtr, accPtr);
      } else {
        const full = t.iFull;
        const acc = e.f64;
        for (let n = 0; n < rowsInChunk; n++) {
          const row = cBase + n * physPad;
          const a = (accPtr >> 3) + n * cols;
          for (let j = 0; j < cols; j++)
            acc[a + j] += (mem[row + j] * full[j]) / steps - (mem[row + refOf[j]] * full[refOf[j]]) / steps;
        }
      }
    }
    shiftAdd(stage, e.f64, accPtr >> 3, rowsInChunk);
    writeOutputs(e.f64, accPtr >> 3, rowsInChunk, outCols, scale, stage, out, n0 * outCols);
  }
  clip.n += e.i32[clipPtr >> 2];
  if (!fusedActivation(stage)) addBiasAndActivate(out, stage.bias, stage.activation, outCols);
  e.stats.fastStages++;
  const conversions = inputRows * physCols * rowTiles.length;
  const shape = stage.conv ? stage.conv.outShape : [outCols];
  return { out: { data: out, count: x.count, shape }, clipped: clip.n, conversions };
}
