/**
 * Study `binarized-variation` (third source study: variation-aware binarised memristive CNNs).
 * A CNN whose conv and dense weights are binary (sign x alpha, trained with an STE), batch norm in full
 * precision and digital, runs entirely on binary-device crossbars (+alpha -> (R_on, R_off), -alpha ->
 * (R_off, R_on) differential pairs). Monte-Carlo accuracy as the R_on/R_off variation grows from 0 to
 * 30 %, Gaussian and lognormal; plain training against variation-aware training (the same device
 * variation injected in the forward pass, src/study/variation.ts). Protocol: docs/studies.md.
 */
import * as path from 'node:path';
import type { VariationDistribution } from '../../device/card';
import { loadCircuitCard } from '../../crossbar/loadCircuit';
import type { ResultRecord } from '../results';
import { simulateConfig } from '../simulateConfig';
import type { ModelJob, Study, StudyConfig, StudyContext, StudyMode } from '../types';
import { relativeWeightSigma, sweptBinaryCard } from '../variation';
import { writeBinarizedVariationReport } from './binarizedVariationReport';

const DEVICE = 'binary-hfo2-1t1r';
const CIRCUIT = 'tile128-all-adc8-calibrated';
const DATASET = 'mnist';
/** Pixel threshold of the first study: the first layer sees 0/1 inputs. */
const BINARIZE = 0.1;
const DISTRIBUTIONS: readonly VariationDistribution[] = ['gaussian', 'lognormal'];
/**
 * Variation-aware models are trained at one level, 20 %, one model per distribution: one network that a
 * designer deploys without knowing the chip's exact spread; 20 % lies in the upper part of the sweep, so
 * the model is tested both below and above the level it was trained at.
 */
const TRAIN_SIGMA = 0.2;

export interface BinarizedVariationPlan {
  arch: string;
  epochs: number;
  /** Relative R_on/R_off spreads (sd / mean) simulated. */
  sigmas: number[];
}

export function binarizedVariationPlan(mode: StudyMode): BinarizedVariationPlan {
  if (mode === 'quick') return { arch: 'cnn:c8p2:h32:bn', epochs: 2, sigmas: [0, 0.1, 0.2, 0.3] };
  return { arch: 'cnn:c32p2-c64p2:h128:bn', epochs: 30, sigmas: [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3] };
}

export type Training =
  { kind: 'plain' } | { kind: 'variation-aware'; distribution: VariationDistribution; sigma: number };

function trainingLabel(t: Training): string {
  return t.kind === 'plain' ? 'plain' : `variation-aware (${Math.round(100 * t.sigma)} %)`;
}

/** Plain training, and variation-aware training with the distribution the chip is evaluated under. */
export function trainingsFor(distribution: VariationDistribution): Training[] {
  return [{ kind: 'plain' }, { kind: 'variation-aware', distribution, sigma: TRAIN_SIGMA }];
}

export function modelJob(
  plan: BinarizedVariationPlan,
  training: Training,
  seed: number,
  device: string,
): ModelJob {
  const job: ModelJob = {
    dataset: DATASET,
    arch: plan.arch,
    epochs: plan.epochs,
    binarize: BINARIZE,
    weights: 'binary',
    weightLayers: 'all',
    seed,
  };
  if (training.kind === 'variation-aware')
    job.variation = { distribution: training.distribution, sigma: training.sigma, device };
  return job;
}

/** `plain/gaussian/10pct`, `vat20/lognormal/30pct`. */
export function configKey(training: Training, distribution: VariationDistribution, sigma: number): string {
  const t = training.kind === 'plain' ? 'plain' : `vat${Math.round(100 * training.sigma)}`;
  return `${t}/${distribution}/${Math.round(sigma * 1000) / 10}pct`;
}

function settings(ctx: StudyContext) {
  return { device: ctx.params.device ?? DEVICE, circuit: ctx.params.circuit ?? CIRCUIT };
}

export const binarizedVariationStudy: Study = {
  name: 'binarized-variation',
  description:
    'binary-weight CNN on binary memristors: accuracy vs R_on/R_off variation, plain vs variation-aware training',
  params: ['device', 'circuit', 'wireResistance', 'accessResistance'],
  defaultTrials: { quick: 4, full: 10 },
  data: { quick: { trainLimit: 5000, testLimit: 1000 }, full: {} },
  configurations(ctx) {
    const plan = binarizedVariationPlan(ctx.mode);
    const { device, circuit } = settings(ctx);
    // Fail before any training if the cards are wrong (not binary, unknown, or not all-analog).
    sweptBinaryCard(device, 'gaussian', 0);
    const circuitCard = loadCircuitCard(circuit);
    if (circuitCard.analogLayers !== 'all')
      ctx.log(
        `circuit ${circuit} runs only dense layers on tiles (analogLayers "dense"): conv layers stay digital and ideal`,
      );
    const configs: StudyConfig[] = [];
    for (const distribution of DISTRIBUTIONS)
      for (const training of trainingsFor(distribution))
        for (const sigma of plan.sigmas)
          configs.push({
            key: configKey(training, distribution, sigma),
            // One model per group: the plain model serves both distributions.
            group: training.kind === 'plain' ? 'plain' : `vat/${training.distribution}`,
            async run(c: StudyContext) {
              const job = modelJob(plan, training, c.seed, device);
              const model = await c.model(job);
              const card = sweptBinaryCard(device, distribution, sigma);
              const sim = await simulateConfig(c, DATASET, { model, device: card, circuit });
              return {
                training: trainingLabel(training),
                trainSigma: training.kind === 'plain' ? 0 : training.sigma,
                distribution,
                sigma,
                relativeWeightSigma: relativeWeightSigma(card),
                arch: plan.arch,
                epochs: plan.epochs,
                model: path.basename(model),
                device: card.name,
                circuit,
                ...sim,
              };
            },
          });
    return configs;
  },
  report: (records: ResultRecord[], out: string) => writeBinarizedVariationReport(records, out),
};
