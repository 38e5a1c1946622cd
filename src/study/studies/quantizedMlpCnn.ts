/**
 * Study `quantized-mlp-cnn` (first source study): MLPs and CNNs on binarised MNIST and Fashion-MNIST,
 * weights quantised with quantile:N, then quantile:L networks mapped one-to-one onto the L-level HfO2
 * 1T1R cards and run Monte-Carlo through the crossbar. One configuration is one (dataset, network) with
 * all its quantisers and devices, so a resumed run never redoes a finished network.
 * See docs/studies.md.
 */
import { loadNetwork } from '../../nn/load';
import { evaluateQuantizers } from '../../nn/evaluate';
import { synapseCount } from '../../nn/network';
import { deadUnits } from '../../nn/deadUnits';
import { prepareInput } from '../../nn/forward';
import { DEFAULT_TRAIN } from '../../nn/train';
import type { ResultRecord } from '../results';
import { simulateConfig } from '../simulateConfig';
import type { Study, StudyConfig, StudyContext } from '../types';
import {
  configKey,
  deviceForLevels,
  netShape,
  QMC_BINARIZE,
  QMC_CIRCUIT,
  QMC_DIGITAL_LEVELS,
  QMC_LR_SCHEDULE,
  QMC_PLANS,
  QMC_WARMUP_EPOCHS,
  qmcScale,
  type QmcCrossbarResult,
  type QmcRecord,
  type QmcScale,
} from './quantizedMlpCnnGrid';
import { reportQuantizedMlpCnn } from './quantizedMlpCnnReport';

async function runNetwork(
  ctx: StudyContext,
  scale: QmcScale,
  dataset: string,
  arch: string,
): Promise<QmcRecord> {
  const t0 = Date.now();
  const plan = QMC_PLANS[scale];
  const shape = netShape(arch);
  const lr = ctx.params.lr ?? DEFAULT_TRAIN.learningRate;
  // The source study's protocol (its Table 1): plain SGD at a constant rate, no warm-up.
  const lrSchedule = ctx.params.lrSchedule ?? QMC_LR_SCHEDULE;
  const warmupEpochs = ctx.params.warmupEpochs ?? QMC_WARMUP_EPOCHS;
  const dir = await ctx.model({
    dataset,
    arch,
    epochs: plan.epochs,
    binarize: QMC_BINARIZE,
    seed: ctx.seed,
    lr: ctx.params.lr,
    lrSchedule,
    warmupEpochs,
  });
  const desc = await loadNetwork(dir);
  const data = ctx.dataset(dataset);
  const crossbar: QmcCrossbarResult[] = [];
  for (const levels of plan.deviceLevels) {
    const device = deviceForLevels(levels);
    const quantize = `quantile:${levels}`;
    ctx.log(`${dataset} ${arch}: ${quantize} on ${device}, ${ctx.trials} chips`);
    const sim = await simulateConfig(
      ctx,
      dataset,
      { model: dir, device, circuit: QMC_CIRCUIT, quantize },
      desc,
    );
    // The float accuracy is the record's floatTestAccuracy, stored once per configuration.
    const { floatAccuracy: _float, ...summary } = sim;
    crossbar.push({ levels, device, quantize, ...summary });
  }
  // The simulations already measured float and quantile:L digitally on the same test images (same
  // forward code); evaluate only the remaining quantile:N, which saves most CNN forward passes.
  const simulated = new Map(crossbar.map((c) => [c.levels, c.quantizedAccuracy]));
  const rest = QMC_DIGITAL_LEVELS.filter((n) => !simulated.has(n));
  const digitalRows = evaluateQuantizers(desc, data, {
    weightQuantizers: rest.map((levels) => ({ kind: 'quantile' as const, levels })),
    weightLayers: 'all',
    inputQuantizers: [],
    inputLayers: 'dense',
    calibrationImages: 0,
  });
  const floatTestAccuracy = digitalRows.find((r) => r.weights === 'float')!.accuracy;
  const dead = deadUnits(desc, prepareInput(desc, data.test.images, data.test.count)).map(
    ({ layer, units, dead }) => ({ layer, units, dead }),
  );
  const digital = QMC_DIGITAL_LEVELS.map((levels) => ({
    levels,
    accuracy: simulated.get(levels) ?? digitalRows.find((r) => r.weights === `quantile:${levels}`)!.accuracy,
  }));
  return {
    dataset,
    arch,
    ...shape,
    scale,
    epochs: plan.epochs,
    lr,
    lrSchedule,
    warmupEpochs,
    trainImages: data.train.count,
    testImages: data.test.count,
    synapses: synapseCount(desc),
    floatTrainAccuracy: Number(desc.meta.trainAccuracy),
    floatTestAccuracy,
    digital,
    circuit: QMC_CIRCUIT,
    crossbar,
    deadUnits: dead,
    seconds: (Date.now() - t0) / 1000,
  };
}

export const quantizedMlpCnnStudy: Study = {
  name: 'quantized-mlp-cnn',
  params: ['lr', 'lrSchedule', 'warmupEpochs', 'wireResistance', 'accessResistance'],
  description:
    'quantile-quantised MLPs and CNNs on binarised MNIST/Fashion-MNIST, digital and on 2..8-level HfO2 crossbars',
  defaultTrials: {
    get quick() {
      return QMC_PLANS[qmcScale('quick')].trials;
    },
    full: QMC_PLANS.full.trials,
  },
  data: {
    get quick() {
      const p = QMC_PLANS[qmcScale('quick')];
      return { trainLimit: p.trainLimit, testLimit: p.testLimit };
    },
    full: {},
  },
  configurations(ctx): StudyConfig[] {
    const scale = qmcScale(ctx.mode);
    const plan = QMC_PLANS[scale];
    // Network by network, both datasets each, MLPs first and then CNNs from the cheapest block count
    // up: a --full run stopped part-way (it takes several sittings) holds finished MLP-vs-CNN pairs on
    // both datasets rather than one dataset's whole grid.
    return plan.archs.flatMap((arch) =>
      plan.datasets.map((dataset) => ({
        key: configKey(scale, dataset, arch),
        run: (c: StudyContext) => runNetwork(c, scale, dataset, arch),
      })),
    );
  },
  report: (records: ResultRecord[], out: string) =>
    reportQuantizedMlpCnn(records as unknown as Array<QmcRecord & ResultRecord>, out),
};
