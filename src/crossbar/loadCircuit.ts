/** Node adapter: read a circuit card from circuits/<name>.json or a path. */
import { readCardJson, shippedCardNames } from '../device/cardFiles';
import { parseCircuitCard, type CircuitCard } from './circuit';

const CIRCUIT_CARD_FOLDER = 'circuits';

/** `tile128-adc8` -> <project root>/circuits/tile128-adc8.json; anything with / or .json is a path. */
export function loadCircuitCard(nameOrPath: string): CircuitCard {
  const { json, label } = readCardJson(nameOrPath, CIRCUIT_CARD_FOLDER, 'circuit card');
  return parseCircuitCard(json, label);
}

export function shippedCircuitNames(): string[] {
  return shippedCardNames(CIRCUIT_CARD_FOLDER);
}
