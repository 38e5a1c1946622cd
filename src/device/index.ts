/** Device cards and models (browser-safe; file loading lives in loadDevice.ts). */
export * from './card';
export * from './levels';
export * from './model';
export * from './program';
export * from './analysis';
export * from './fit';
export { formatSi } from './format';
export { parseQuantity, parseConductance, type Dimension } from './quantity';
export { compileSchema, validateCard, cardError, jsonPath } from './validate';
