/** Crossbar circuit: cards, converters, mapping and tiling (browser-safe; loading is in loadCircuit.ts). */
export * from './circuit';
export * from './dac';
export * from './adc';
export * from './mapping';
export * from './tiling';
export { fitScale, weightHistogram, nearestIndex, type ScaleFit, type WeightHistogram } from './scaleFit';
