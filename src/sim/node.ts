/**
 * Node adapter for simulations: read the model, cards and dataset from disk, build the plan, run the
 * trials on worker threads with a progress bar. The core (plan, trials) stays browser-safe.
 */
import {
  type CircuitCard,
  circuitCardToJson,
  type CircuitOverrides,
  withOverrides,
} from '../crossbar/circuit';
import { loadCircuitCard } from '../crossbar/loadCircuit';
import { loadDeviceCard } from '../device/loadDevice';
import { type DeviceModel, resolveDevice } from '../device/model';
import { type DeviceCard, parseDeviceCard } from '../device/card';
import { type Dataset, loadDataset } from '../data';
import { datasetFor, loadNetwork } from '../nn/load';
import { calibrateInputs, quantizeNetwork, type LayerSelection } from '../nn/network';
import { parseInputQuantizer, parseWeightQuantizer } from '../nn/quantize';
import type { NetworkDescription } from '../nn/description';
import { createProgress } from '../util/progress';
import { buildPlan, checkInputSize } from './buildPlan';
import type { SimPlan } from './plan';
import { type DigitalRefs, type SimulationResult, simulate } from './simulate';
import { defaultWorkers, runTrialsInWorkers } from './workerPool';

export interface SimulationSetup {
  model: string;
  /** A card name or path, or a card object (e.g. a variation sweep's modified card). */
  device: string | DeviceCard;
  /** A card name or path, or a parsed card (a rerun from a result's effective circuit). */
  circuit: string | CircuitCard;
  dataset?: string;
  limit?: number;
  testLimit?: number;
  trials: number;
  seed: number;
  workers?: number;
  quantize?: string;
  quantizeLayers: LayerSelection;
  input?: string;
  inputLayers: LayerSelection;
  calibration: number;
  adcBits?: number | 'ideal';
  dacBits?: number | 'ideal' | 'binary';
  tileRows?: number;
  tileCols?: number;
  mapping?: 'differential' | 'offset';
  adcRange?: CircuitOverrides['adcRange'];
  analogLayers?: CircuitOverrides['analogLayers'];
  /** Unit strings ("1 Ohm") or ohms. */
  wireResistance?: string | number;
  columnsPerAdc?: number;
  accessResistance?: string | number;
  /** Bit slicing overrides; slices alone keep the card's bitsPerCell (crossbar/slicing.ts). */
  weightSlices?: number;
  bitsPerCell?: number;
}

export interface PreparedSimulation {
  plan: SimPlan;
  refs: DigitalRefs;
  header: Record<string, unknown>;
  /** The circuit after overrides and the resolved device, as the plan was built with them. */
  circuit: CircuitCard;
  device: DeviceModel;
}

export async function prepareSimulation(
  s: SimulationSetup,
  pre: { desc?: NetworkDescription; data?: Dataset } = {},
): Promise<PreparedSimulation> {
  const float = pre.desc ?? (await loadNetwork(s.model));
  const deviceCard =
    typeof s.device === 'string'
      ? loadDeviceCard(s.device)
      : parseDeviceCard(s.device, `device ${s.device.name}`);
  const device = resolveDevice(deviceCard);
  const card = typeof s.circuit === 'string' ? loadCircuitCard(s.circuit) : s.circuit;
  const circuit = withOverrides(card, {
    slicing:
      s.weightSlices === undefined && s.bitsPerCell === undefined
        ? undefined
        : { slices: s.weightSlices, bitsPerCell: s.bitsPerCell },
    adcBits: s.adcBits,
    dacBits: s.dacBits,
    rows: s.tileRows,
    cols: s.tileCols,
    mapping: s.mapping,
    adcRange: s.adcRange,
    analogLayers: s.analogLayers,
    wireResistance: s.wireResistance,
    accessResistance: s.accessResistance,
    columnsPerAdc: s.columnsPerAdc,
  });
  // Descriptions without a dataset (older tools) run on MNIST, as before.
  const dataset = datasetFor(float, s.dataset, s.model, 'mnist');
  const data = pre.data ?? loadDataset(dataset.name, { limit: s.limit, testLimit: s.testLimit });
  // Once the dataset has opened (a bad name is an error, not a warning first).
  if (dataset.warning && !pre.data) process.stderr.write(dataset.warning);
  const imageSize = data.imageShape.reduce((a: number, b: number) => a * b, 1);
  checkInputSize(float, imageSize, `dataset ${data.name} (images ${data.imageShape.join(' x ')})`);
  const calCount = Math.min(s.calibration, data.train.count);
  const calibration = { images: data.train.images.subarray(0, calCount * imageSize), count: calCount };
  let quantized = s.quantize
    ? quantizeNetwork(float, parseWeightQuantizer(s.quantize), s.quantizeLayers)
    : float;
  if (s.input)
    quantized = calibrateInputs(
      quantized,
      calibration.images,
      calCount,
      parseInputQuantizer(s.input),
      s.inputLayers,
    );
  const plan = buildPlan({
    desc: quantized,
    device,
    deviceCard,
    circuit,
    test: data.test,
    calibration,
    seed: s.seed,
  });
  return {
    plan,
    circuit,
    device,
    refs: { float, quantized, test: data.test },
    header: {
      model: s.model,
      dataset: data.name,
      device: deviceCard.name,
      circuit: circuit.name,
      quantize: s.quantize ?? 'none',
      input: s.input ?? 'none',
      workers: s.workers ?? defaultWorkers(),
      // What else made the numbers: the circuit after its overrides, the data limits, the quantisers'
      // layers and the calibration images.
      settings: {
        circuitCard: circuitCardToJson(circuit),
        deviceCard: typeof s.device === 'string' ? s.device : deviceCard.name,
        limit: s.limit ?? null,
        testLimit: s.testLimit ?? null,
        quantizeLayers: s.quantizeLayers,
        inputLayers: s.inputLayers,
        calibrationImages: calCount,
      },
    },
  };
}

/**
 * Run the trials. Progress: a bar on a terminal, nothing when piped; `progress: false` (studies, which
 * show their own bar) turns it off.
 */
export async function runSimulation(
  p: PreparedSimulation,
  s: { trials: number; workers?: number; progress?: boolean },
  label = 'trials',
): Promise<SimulationResult> {
  const workers = s.workers ?? defaultWorkers();
  const progress =
    s.progress === false
      ? { tick() {}, stop() {} }
      : createProgress(s.trials, label, { logWhenPiped: false });
  try {
    return await simulate(
      p.plan,
      p.refs,
      s.trials,
      (plan, trials, onResult) => runTrialsInWorkers(plan, trials, workers, onResult),
      () => progress.tick(),
    );
  } finally {
    progress.stop();
  }
}
