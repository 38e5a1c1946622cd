/**
 * xbarsim public API for scripts. Data flows one way:
 * dataset -> model -> network description -> mapped tiles -> Monte-Carlo -> results -> report.
 */
// Datasets
export { loadDataset, binarize, type Dataset, type Split } from './data';
// Network front end (TF.js) and the TF-free description
export { parseArch, type ArchSpec } from './nn/arch';
export { buildModel } from './nn/model';
export { trainModel, evaluateModel, DEFAULT_TRAIN, type TrainOptions, type EpochLog } from './nn/train';
export { trainAndSave, type TrainJob } from './nn/trainJob';
export { exportDescription } from './nn/export';
export { saveModel, loadModel } from './nn/modelIo';
export { loadNetwork, writeDescription } from './nn/load';
export { initBackend } from './nn/backend';
export * from './nn/description';
export { classify, runLayers, prepareInput, accuracyOf } from './nn/forward';
export { quantizeNetwork, calibrateInputs, layerInputs, synapseCount } from './nn/network';
export {
  parseWeightQuantizer,
  parseInputQuantizer,
  quantizeWeights,
  quantileQuantize,
  uniformQuantize,
  binarize as binarizeWeights,
  ternarize,
  fitExponential,
} from './nn/quantize';
export { evaluateQuantizers } from './nn/evaluate';
export { deadUnits, type DeadUnitRow } from './nn/deadUnits';
// Devices and circuits
export { parseDeviceCard, withBinaryVariation, type DeviceCard } from './device/card';
export { resolveDevice, type DeviceModel } from './device/model';
export { loadDeviceCard, loadDevice } from './device/loadDevice';
export { levelTable, levelOverlap, levelCdfSeries } from './device/analysis';
export { fitDeviceCard } from './device/fit';
export { parseCircuitCard, withOverrides, type CircuitCard } from './crossbar/circuit';
export { loadCircuitCard } from './crossbar/loadCircuit';
export { losslessAdcBits } from './crossbar/adc';
export { mapLayer, type MappedLayer } from './crossbar/mapping';
export { effectiveConductances, type Parasitics } from './crossbar/parasitics';
// Monte-Carlo simulation
export { buildPlan } from './sim/buildPlan';
export { runTrial, TrialScratch, type TrialResult } from './sim/trial';
// The plain per-image reference the fast trial path is tested against (bit-for-bit the same results).
export { runReferenceTrial } from './sim/referenceTrial';
export { simulate, serialRunner, type SimulationResult } from './sim/simulate';
export { prepareSimulation, runSimulation, type SimulationSetup } from './sim/node';
export { runTrialsInWorkers, TrialPool } from './sim/workerPool';
export { losslessBitsTable } from './sim/adcBits';
// Studies and reports
export { summarize, kruskalWallis } from './util/stats';
export { runStudy } from './study/runner';
export { findStudy, studyNames } from './study/registry';
export { streamFor, RandomStream } from './util/random';
export { InputError } from './util/errors';
