/**
 * A resolved device: the card turned into samplable level distributions, ascending by mean.
 */
import type { DeviceCard, LevelSpec } from './card';
import {
  empiricalLevel,
  gaussianLevel,
  lognormalLevel,
  resistanceGaussianLevel,
  resistanceLognormalLevel,
  type LevelModel,
} from './levels';

export interface DeviceFaults {
  /** Probability that a cell is stuck in the highest level (its conductance drawn from that level). */
  stuckAtOn: number;
  /** Probability that a cell is stuck in the HRS (drawn from its lognormal; the lowest level without one). */
  stuckAtOff: number;
  /** The states stuck cells sit in, each cell drawn from the state's own device-to-device spread. */
  stuckOn: LevelModel;
  stuckOff: LevelModel;
}

export interface DeviceModel {
  name: string;
  kind: DeviceCard['kind'];
  vReadVolts: number;
  /** Programmable levels, ascending by gMeanSiemens. */
  levels: LevelModel[];
  /** High-resistance state (where stuck-at-off cells sit), if the card gives one. */
  hrs?: LevelModel;
  /** Gaussian conductance draws are truncated here (0 when the card gives no floor). */
  gFloorSiemens: number;
  faults: DeviceFaults;
  /** Cycle-to-cycle read noise: each read is G (1 + readNoiseRelSigma z). */
  readNoiseRelSigma: number;
}

/** The fraction of rOn used as the resistance floor when a binary card gives none (a numerical guard). */
const DEFAULT_R_FLOOR_FRACTION_OF_RON = 0.01;

function levelModel(spec: LevelSpec, floorSiemens: number): LevelModel {
  if ('samples' in spec) return empiricalLevel(spec.samples);
  if ('sigmaLn' in spec) return lognormalLevel(spec.mean, spec.sigmaLn);
  return gaussianLevel(spec.mean, spec.sigma, floorSiemens);
}

export function resolveDevice(card: DeviceCard): DeviceModel {
  let levels: LevelModel[];
  let gFloorSiemens: number;
  if (card.kind === 'multilevel') {
    gFloorSiemens = card.floor ?? 0;
    levels = card.levels.map((spec) => levelModel(spec, gFloorSiemens));
  } else {
    const rFloor = card.rFloor ?? DEFAULT_R_FLOOR_FRACTION_OF_RON * card.rOn;
    gFloorSiemens = 0;
    const { distribution, onSigma, offSigma } = card.variation;
    const state = (rOhms: number, sigma: number) =>
      distribution === 'gaussian'
        ? resistanceGaussianLevel(rOhms, sigma, rFloor)
        : resistanceLognormalLevel(rOhms, sigma);
    levels = [state(card.rOff, offSigma), state(card.rOn, onSigma)];
  }
  // Cards are checked sorted by their stated means; truncation or 1/R can only nudge the expectations.
  levels.sort((a, b) => a.gMeanSiemens - b.gMeanSiemens);
  const hrs = card.hrs ? lognormalLevel(card.hrs.mean, card.hrs.sigmaLn) : undefined;
  return {
    name: card.name,
    kind: card.kind,
    vReadVolts: card.vRead,
    levels,
    ...(hrs ? { hrs } : {}),
    gFloorSiemens,
    faults: {
      stuckAtOn: card.faults?.stuckAtOn ?? 0,
      stuckAtOff: card.faults?.stuckAtOff ?? 0,
      stuckOn: levels[levels.length - 1],
      stuckOff: hrs ?? levels[0],
    },
    readNoiseRelSigma: card.readNoise?.relativeSigma ?? 0,
  };
}
