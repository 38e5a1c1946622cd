/**
 * Compact architecture strings (see docs/architectures.md):
 *   mlp:128x2            two hidden dense layers of 128 units (ReLU), softmax output
 *   mlp:256-64           hidden layers listed one by one
 *   cnn:c16p2-c32p2:h64  conv blocks [c<filters>[k<kernel>]p<pool>], then one hidden dense layer
 *   cnn:c32p2:h128:bn    ... with batch normalisation after every conv and hidden dense layer
 *   paper2:width2        second study's family (conv32+pool2, conv64+pool2, dense head)
 *   paper2:initial:relu  ... with another dense activation (default sigmoid, as in that study)
 */
import { InputError } from '../util/errors';
import type { Activation } from './description';

export interface ConvBlockSpec {
  filters: number;
  kernel: number;
  pool: number;
}

export interface ArchSpec {
  /** The string it was parsed from, normalised. */
  text: string;
  family: 'mlp' | 'cnn' | 'paper2';
  convBlocks: ConvBlockSpec[];
  /** Hidden dense layer widths (the output layer of `classes` units comes after them). */
  hidden: number[];
  hiddenActivation: Activation;
  convActivation: Activation;
  batchNorm: boolean;
}

const PAPER2_HEADS: Record<string, number[]> = {
  depth0: [],
  initial: [128],
  depth2: [128, 256],
  depth3: [128, 256, 128],
  width1: [256],
  width2: [512],
  width3: [1024],
};

const LIMITS = {
  mlpLayers: [1, 4],
  units: [8, 1024],
  convBlocks: [1, 3],
  filters: [1, 256],
  kernel: [1, 7],
  pool: [2, 8],
} as const;

function bad(text: string, why: string): never {
  throw new InputError(
    `architecture "${text}": ${why} (grammar: mlp:<units>x<layers> | mlp:<u1>-<u2>.. | cnn:c<f>[k<k>]p<p>[-...]:h<units>[:bn] | paper2:<${Object.keys(PAPER2_HEADS).join('|')}>[:<activation>])`,
  );
}

function intIn(text: string, value: string, what: string, [lo, hi]: readonly [number, number]): number {
  if (!/^\d+$/.test(value)) bad(text, `${what} "${value}" is not a whole number`);
  const n = Number(value);
  if (n < lo || n > hi) bad(text, `${what} ${n} is out of range ${lo}..${hi}`);
  return n;
}

export function parseArch(input: string): ArchSpec {
  const text = input.trim().toLowerCase();
  const parts = text.split(':');
  const family = parts[0];
  if (family === 'mlp') {
    if (parts.length !== 2 || !parts[1]) bad(text, 'mlp takes one field of hidden layers');
    let hidden: number[];
    const rep = /^(\d+)x(\d+)$/.exec(parts[1]);
    if (rep) {
      const units = intIn(text, rep[1], 'units', LIMITS.units);
      const layers = intIn(text, rep[2], 'hidden layer count', LIMITS.mlpLayers);
      hidden = Array(layers).fill(units);
    } else {
      hidden = parts[1].split('-').map((u) => intIn(text, u, 'units', LIMITS.units));
      if (hidden.length > LIMITS.mlpLayers[1]) bad(text, `at most ${LIMITS.mlpLayers[1]} hidden layers`);
    }
    return base(text, 'mlp', [], hidden, 'relu', false);
  }
  if (family === 'cnn') {
    if (parts.length < 3 || parts.length > 4) bad(text, 'cnn takes conv blocks and a hidden layer');
    const blocks = parts[1].split('-').map((b) => {
      const m = /^c(\d+)(?:k(\d+))?p(\d+)$/.exec(b);
      if (!m) bad(text, `conv block "${b}" is not c<filters>[k<kernel>]p<pool>`);
      return {
        filters: intIn(text, m[1], 'filters', LIMITS.filters),
        kernel: m[2] === undefined ? 3 : intIn(text, m[2], 'kernel', LIMITS.kernel),
        pool: intIn(text, m[3], 'pool', LIMITS.pool),
      };
    });
    if (blocks.length > LIMITS.convBlocks[1]) bad(text, `at most ${LIMITS.convBlocks[1]} conv blocks`);
    const h = /^h(\d+)$/.exec(parts[2]);
    if (!h) bad(text, `hidden layer "${parts[2]}" is not h<units>`);
    const hidden = [intIn(text, h[1], 'units', LIMITS.units)];
    if (parts[3] !== undefined && parts[3] !== 'bn') bad(text, `unknown option "${parts[3]}" (allowed: bn)`);
    return base(text, 'cnn', blocks, hidden, 'relu', parts[3] === 'bn');
  }
  if (family === 'paper2') {
    if (parts.length < 2 || parts.length > 3)
      bad(text, 'paper2 takes a head name and optionally an activation');
    const head = PAPER2_HEADS[parts[1]];
    if (!head) bad(text, `unknown head "${parts[1]}"`);
    const act = (parts[2] ?? 'sigmoid') as Activation;
    if (!['relu', 'sigmoid', 'tanh', 'linear'].includes(act))
      bad(text, `unknown activation "${act}" (allowed: sigmoid, relu, tanh, linear)`);
    const blocks = [
      { filters: 32, kernel: 3, pool: 2 },
      { filters: 64, kernel: 3, pool: 2 },
    ];
    return base(text, 'paper2', blocks, [...head], act, false);
  }
  bad(text, `unknown family "${family}" (allowed: mlp, cnn, paper2)`);
}

function base(
  text: string,
  family: ArchSpec['family'],
  convBlocks: ConvBlockSpec[],
  hidden: number[],
  hiddenActivation: Activation,
  batchNorm: boolean,
): ArchSpec {
  return { text, family, convBlocks, hidden, hiddenActivation, convActivation: 'relu', batchNorm };
}

/** Check that the conv/pool stack fits a 28 x 28 image; returns the flattened feature count. */
export function featureCount(spec: ArchSpec, imageSide = 28): number {
  let side = imageSide;
  let channels = 1;
  for (const b of spec.convBlocks) {
    side = side - b.kernel + 1;
    side = Math.floor(side / b.pool);
    channels = b.filters;
    if (side < 1) bad(spec.text, `the conv/pool stack shrinks a ${imageSide}x${imageSide} image to nothing`);
  }
  return spec.convBlocks.length ? side * side * channels : imageSide * imageSide;
}
