/** The studies `xbarsim study NAME` can run. */
import { InputError } from '../util/errors';
import { defaultStudy } from './studies/default';
import { adcSizingStudy } from './studies/adcSizing';
import { denseResolutionStudy } from './studies/denseResolution';
import { quantizedMlpCnnStudy } from './studies/quantizedMlpCnn';
import { binarizedVariationStudy } from './studies/binarizedVariation';
import { irDropStudy } from './studies/irDrop';
import type { Study } from './types';

const STUDIES: Study[] = [
  defaultStudy,
  adcSizingStudy,
  denseResolutionStudy,
  quantizedMlpCnnStudy,
  binarizedVariationStudy,
  irDropStudy,
];

export function studyNames(): string[] {
  return STUDIES.map((s) => s.name);
}

export function findStudy(name: string): Study {
  const s = STUDIES.find((x) => x.name === name);
  if (!s) throw new InputError(`unknown study "${name}" (allowed: ${studyNames().join(', ')})`);
  return s;
}
