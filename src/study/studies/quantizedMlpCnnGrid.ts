/**
 * The network grid, datasets, devices and per-mode sizes of the quantized-mlp-cnn study, and the record
 * one configuration (one dataset, one network) writes.
 */
import type { LrSchedule } from '../../nn/train';
import { featureCount, parseArch } from '../../nn/arch';
import type { SimRecord } from '../simulateConfig';
import type { StudyMode } from '../types';

const QMC_DATASETS = ['mnist', 'fashion-mnist'] as const;
/** Input binarisation threshold of the source study: a scaled pixel below 0.1 becomes 0, else 1. */
export const QMC_BINARIZE = 0.1;
/** quantile:N evaluated digitally. */
export const QMC_DIGITAL_LEVELS = [2, 3, 4, 5, 6, 7, 8] as const;
/**
 * The source study's training (Table 1: SGD 0.1, momentum 0.9, Keras defaults): a constant rate and no
 * warm-up. `--lr-schedule cosine --warmup-epochs 1` gives the schedule runs before 0.2.0 used.
 */
export const QMC_LR_SCHEDULE: LrSchedule = 'constant';
export const QMC_WARMUP_EPOCHS = 0;
/** Device level counts simulated on the crossbar: quantile:L weights on the L-level card. */
const QMC_DEVICE_LEVELS = [2, 3, 4, 5, 6, 7, 8] as const;
export const QMC_CIRCUIT = 'tile128-offset-all-adc8-calibrated';

const MLP_LAYERS = [1, 2, 3, 4] as const;
const MLP_UNITS = [8, 16, 32, 64, 128] as const;
const CNN_BLOCKS = [1, 2] as const;
const CNN_FILTERS = [8, 16, 32] as const;
const CNN_POOLS = [2, 3, 4] as const;
const CNN_HIDDEN = [8, 16, 32, 64, 128] as const;

/** The HfO2 1T1R card with L levels: the M-ISPVA estimates for 2..5, the fitted IGVVA card for 8. */
export function deviceForLevels(levels: number): string {
  if (levels === 8) return 'hfo2-1t1r-igvva-8';
  if (levels >= 2 && levels <= 5) return `hfo2-1t1r-mispva-${levels}`;
  // Interpolated between the measured 5- and 8-level schemes, as the source study did.
  if (levels === 6 || levels === 7) return `hfo2-1t1r-interp-${levels}`;
  throw new RangeError(`no HfO2 card with ${levels} levels (have 2..8)`);
}

function mlpArch(units: number, layers: number): string {
  return `mlp:${units}x${layers}`;
}

/** Every block has the same filter count and pool size (the grid varies them together). */
function cnnArch(blocks: number, filters: number, pool: number, hidden: number): string {
  const block = `c${filters}p${pool}`;
  return `cnn:${Array(blocks).fill(block).join('-')}:h${hidden}`;
}

function fullGrid(): string[] {
  const mlps = MLP_LAYERS.flatMap((l) => MLP_UNITS.map((u) => mlpArch(u, l)));
  const cnns = CNN_BLOCKS.flatMap((b) =>
    CNN_FILTERS.flatMap((f) => CNN_POOLS.flatMap((p) => CNN_HIDDEN.map((h) => cnnArch(b, f, p, h)))),
  );
  return [...mlps, ...cnns];
}

/**
 * Sizes per mode. `smoke` is --quick shrunk further (XBARSIM_QMC_SMOKE=1): three tiny nets on MNIST,
 * for the kill-and-resume test; it is not a study result.
 */
export type QmcScale = StudyMode | 'smoke';

export interface QmcPlan {
  datasets: readonly string[];
  archs: readonly string[];
  epochs: number;
  deviceLevels: readonly number[];
  trainLimit?: number;
  testLimit?: number;
  trials: number;
}

export const QMC_PLANS: Record<QmcScale, QmcPlan> = {
  full: {
    datasets: QMC_DATASETS,
    archs: fullGrid(),
    epochs: 30,
    deviceLevels: QMC_DEVICE_LEVELS,
    trials: 10,
  },
  // Two hidden-layer counts x two widths for the MLP panels, two widths of one CNN panel: every
  // panel has a line, and the whole run takes a few minutes on 2 cores.
  quick: {
    datasets: QMC_DATASETS,
    archs: [
      mlpArch(16, 1),
      mlpArch(64, 1),
      mlpArch(16, 2),
      mlpArch(64, 2),
      cnnArch(1, 8, 2, 16),
      cnnArch(1, 8, 2, 64),
    ],
    epochs: 2,
    deviceLevels: QMC_DEVICE_LEVELS,
    trainLimit: 5000,
    testLimit: 1000,
    trials: 3,
  },
  smoke: {
    datasets: ['mnist'],
    archs: [mlpArch(8, 1), mlpArch(16, 1), cnnArch(1, 8, 4, 8)],
    epochs: 1,
    deviceLevels: [2, 8],
    trainLimit: 600,
    testLimit: 200,
    trials: 2,
  },
};

export function qmcScale(mode: StudyMode): QmcScale {
  return mode === 'quick' && process.env.XBARSIM_QMC_SMOKE === '1' ? 'smoke' : mode;
}

export function configKey(scale: QmcScale, dataset: string, arch: string): string {
  // Smoke keys never collide with a real quick run's, should both end up in one directory.
  return `${scale === 'smoke' ? 'smoke/' : ''}${dataset}/${arch}`;
}

export type NetType = 'MLP' | 'CNN';

export interface NetShape {
  netType: NetType;
  hiddenLayers: number;
  hiddenUnits: number;
  /** CNN only (0 for MLPs). */
  blocks: number;
  filters: number;
  pool: number;
}

/** The grid coordinates of an architecture string of this study (checked against a 28 x 28 input). */
export function netShape(arch: string): NetShape {
  const spec = parseArch(arch);
  featureCount(spec);
  if (spec.family === 'mlp') {
    if (spec.hidden.some((u) => u !== spec.hidden[0]))
      throw new RangeError(`${arch}: the study's MLPs have equal hidden layers`);
    return {
      netType: 'MLP',
      hiddenLayers: spec.hidden.length,
      hiddenUnits: spec.hidden[0],
      blocks: 0,
      filters: 0,
      pool: 0,
    };
  }
  if (spec.family === 'cnn') {
    const b = spec.convBlocks;
    if (b.some((x) => x.filters !== b[0].filters || x.pool !== b[0].pool || x.kernel !== 3))
      throw new RangeError(`${arch}: the study's CNN blocks are equal 3x3 blocks`);
    return {
      netType: 'CNN',
      hiddenLayers: 1,
      hiddenUnits: spec.hidden[0],
      blocks: b.length,
      filters: b[0].filters,
      pool: b[0].pool,
    };
  }
  throw new RangeError(`${arch}: not an MLP or CNN of this study`);
}

/**
 * One device level count on the crossbar: Monte-Carlo summary over chips. quantizedAccuracy is the
 * digital accuracy of the quantile:L network (what a perfect chip would give); nominalAccuracy has every
 * cell at its level mean (mapping and converter error only).
 */
export interface QmcCrossbarResult extends Omit<SimRecord, 'floatAccuracy'> {
  levels: number;
  device: string;
  quantize: string;
}

/** What one configuration appends to results.jsonl (besides its key). */
export interface QmcRecord extends NetShape {
  dataset: string;
  arch: string;
  scale: QmcScale;
  epochs: number;
  /** SGD learning rate of the training (`--lr`); absent in records made before it could be set: the default. */
  lr?: number;
  /**
   * Learning-rate schedule and warm-up epochs. Absent in records made before 0.2.0, which trained with
   * one warm-up epoch and cosine decay (the then default).
   */
  lrSchedule?: LrSchedule;
  warmupEpochs?: number;
  trainImages: number;
  testImages: number;
  synapses: number;
  /** From the training record: accuracy on (up to 5000) training images after the last epoch. */
  floatTrainAccuracy: number;
  floatTestAccuracy: number;
  digital: Array<{ levels: number; accuracy: number }>;
  circuit: string;
  crossbar: QmcCrossbarResult[];
  /**
   * Per ReLU layer, units that never fire on the test images (0.2.0 on; docs/training.md): a network
   * trained at a constant rate 0.1 can die, and the record says where.
   */
  deadUnits?: Array<{ layer: string; units: number; dead: number }>;
  seconds: number;
}
