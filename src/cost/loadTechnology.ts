/** Node adapter: read a technology card from technology/<name>.json or a path. */
import { readCardJson, shippedCardNames } from '../device/cardFiles';
import { parseTechnologyCard, type TechnologyCard } from './technology';

const TECHNOLOGY_CARD_FOLDER = 'technology';

export function loadTechnologyCard(nameOrPath: string): TechnologyCard {
  const { json, label } = readCardJson(nameOrPath, TECHNOLOGY_CARD_FOLDER, 'technology card');
  return parseTechnologyCard(json, label);
}

export function shippedTechnologyNames(): string[] {
  return shippedCardNames(TECHNOLOGY_CARD_FOLDER);
}
