/** What a study is: a list of keyed configurations, each run once, and a report over their records. */
import type { Dataset } from '../data';
import type { LrSchedule } from '../nn/train';
import type { ResultRecord } from './results';

export type StudyMode = 'quick' | 'full';

/**
 * How a study cuts weights and inputs to B bits: `uniform` is xbarsim's max-scaled grid, `fixed` the
 * second source study's "first B bits of the original value" (fixed:B, docs/quantization.md).
 */
export type BitsFamily = 'uniform' | 'fixed';

export interface StudyContext {
  out: string;
  mode: StudyMode;
  /** Monte-Carlo trials per simulated configuration. */
  trials: number;
  seed: number;
  workers: number;
  /** Dataset loader shared by the configurations of one run (loaded once). */
  dataset(name: string): Dataset;
  /** A trained model directory for the job, trained now unless the model cache already has it. */
  model(job: ModelJob): Promise<string>;
  log(message: string): void;
  /** Study parameters from the command line (--model, --device, --circuit, --quantize, --lr). */
  params: StudyParams;
}

export interface StudyParams {
  model?: string;
  device?: string;
  circuit?: string;
  quantize?: string;
  /** SGD learning rate of the networks the study trains (default: the training default, 0.1). */
  lr?: number;
  /** Learning-rate schedule and warm-up epochs of the trained networks (quantized-mlp-cnn). */
  lrSchedule?: LrSchedule;
  warmupEpochs?: number;
  /** How dense-resolution cuts weights and inputs to B bits: uniform:B (default) or fixed:B. */
  quantizer?: BitsFamily;
  /** Technology card the configurations are costed with (adc-sizing; default cmos-22nm). */
  technology?: string;
  /** Circuit overrides for every simulated configuration: wire and access resistance (unit strings). */
  wireResistance?: string;
  accessResistance?: string;
}

export interface ModelJob {
  dataset: string;
  arch: string;
  epochs: number;
  /** Training images (first N); undefined: all. */
  limit?: number;
  binarize?: number;
  weights?: 'float' | 'binary' | 'ternary';
  weightLayers?: 'dense' | 'all';
  seed?: number;
  /** SGD learning rate; undefined: DEFAULT_TRAIN.learningRate. */
  lr?: number;
  /** Learning-rate schedule and warm-up epochs; undefined: DEFAULT_TRAIN's. */
  lrSchedule?: LrSchedule;
  warmupEpochs?: number;
  /** Device variation injected during training (variation-aware training), as a binary card spec. */
  variation?: { distribution: 'gaussian' | 'lognormal'; sigma: number; device: string };
}

export interface StudyConfig {
  key: string;
  /**
   * Configurations that share a trained model share a group (default: the key), so that shards of one
   * run (`--shard K/N`) never train the same model at the same time.
   */
  group?: string;
  run(ctx: StudyContext): Promise<object>;
}

export interface Study {
  name: string;
  description: string;
  /** The study parameters (--model, --device, ...) it reads; giving another is an error. */
  params?: ReadonlyArray<keyof StudyParams>;
  /** Trials per configuration when --trials is not given. */
  defaultTrials: Record<StudyMode, number>;
  /** Images per dataset used by each mode (subsets in quick mode). */
  data: Record<StudyMode, { trainLimit?: number; testLimit?: number }>;
  configurations(ctx: StudyContext): StudyConfig[];
  /** Render figures, tables and CSV into ctx.out; returns the files written. */
  report(records: ResultRecord[], out: string): Promise<string[]>;
}
