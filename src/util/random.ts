import seedrandom from 'seedrandom';

/**
 * Seeded random streams. Every random draw in xbarsim comes from a `RandomStream` whose seed is derived
 * from the user's seed plus a path of labels (for example `[seed, 'trial', t, 'layer', 2]`), so a draw
 * depends only on what it is for, never on how many workers or shards share the work.
 */
export class RandomStream {
  private readonly prng: seedrandom.PRNG;
  private spare = NaN;

  constructor(readonly key: string) {
    this.prng = seedrandom.alea(key);
  }

  /** A stream for a sub-task, independent of this one's state. */
  child(...labels: Array<string | number>): RandomStream {
    return new RandomStream(deriveKey(this.key, ...labels));
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.prng();
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.prng();
    const v = this.prng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with standard normals. */
  fillNormal(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
  }
}

function deriveKey(base: string | number, ...labels: Array<string | number>): string {
  return [String(base), ...labels.map(String)].join('/');
}

/** The root stream for a user seed. */
export function streamFor(seed: number, ...labels: Array<string | number>): RandomStream {
  return new RandomStream(deriveKey(`xbarsim:${seed}`, ...labels));
}
