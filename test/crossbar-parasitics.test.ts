import {
  effectiveConductances,
  NO_PARASITICS,
  ParasiticWorkspace,
  type Parasitics,
  type TileSolver,
} from '../src/crossbar/parasitics';
import { invertSpd } from '../src/crossbar/spd';
import { lcg, randomParasitics, solveNetlistMna, tileNetlist } from './parasitics-netlist';

function randomTile(rows: number, cols: number, rand: () => number, absent = 0): Float64Array {
  // Conductances 5..250 uS (HfO2 1T1R range), some cells absent (never all: no current to compare).
  const g = Float64Array.from({ length: rows * cols }, () => (rand() < absent ? 0 : 5e-6 + 245e-6 * rand()));
  if (g.every((x) => x === 0)) g[0] = 1e-4;
  return g;
}

/** I = M^T V from the solver's M. */
function currentsFromM(m: Float64Array, rows: number, cols: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) out[c] += m[i * cols + c] * v[i];
  return out;
}

function maxRelError(got: Float64Array, want: Float64Array): number {
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]) / scale);
  return worst;
}

describe('parasitic tile solve', () => {
  test('no parasitics: M is G bit for bit', () => {
    const g = randomTile(7, 5, lcg(1), 0.2);
    const m = effectiveConductances(g, 7, 5, NO_PARASITICS);
    expect(Array.from(m)).toEqual(Array.from(g));
  });

  test('one cell by hand: I = V / (driver + 2 segments + access + 1/G + sense)', () => {
    const g = 1e-4;
    const p: Parasitics = {
      rowWireOhms: 2,
      colWireOhms: 3,
      accessOhms: 1000,
      driverOhms: 50,
      senseOhms: 20,
      drive: 'left',
      sense: 'bottom',
    };
    const m = effectiveConductances([g], 1, 1, p);
    expect(m[0]).toBeCloseTo(1 / (50 + 2 + 1000 + 1e4 + 3 + 20), 15);
  });

  test('access resistance alone: G / (1 + G R_access) per cell', () => {
    const g = randomTile(4, 6, lcg(2));
    const p = { ...NO_PARASITICS, accessOhms: 2000 };
    const m = effectiveConductances(g, 4, 6, p);
    for (let k = 0; k < g.length; k++) expect(m[k]).toBeCloseTo(g[k] / (1 + g[k] * 2000), 18);
  });

  test('one row, columns at ground: a resistor ladder solved by hand', () => {
    // Two cells on a row wire: V -> r -> node0 (g0 to ground) -> r -> node1 (g1 to ground).
    const r = 10;
    const [g0, g1] = [1e-3, 2e-3];
    const p = { ...NO_PARASITICS, rowWireOhms: r };
    const m = effectiveConductances([g0, g1], 1, 2, p);
    // node1 = node0 * (1/r) / (1/r + g1); node0 from KCL: (1 - v0)/r = g0 v0 + (v0 - v1)/r.
    const k1 = 1 / r / (1 / r + g1);
    const v0 = 1 / r / (2 / r + g0 - k1 / r);
    expect(m[0]).toBeCloseTo(g0 * v0, 15);
    expect(m[1]).toBeCloseTo(g1 * v0 * k1, 15);
  });

  // Every combination of zero and non-zero resistances, both drive and sense sides, against a dense
  // modified-nodal-analysis solve of the literal netlist.
  const values = { rowWireOhms: 1.5, colWireOhms: 2.5, accessOhms: 1500, driverOhms: 40, senseOhms: 30 };
  const keys = Object.keys(values) as (keyof typeof values)[];
  const cases: Parasitics[] = [];
  for (let mask = 1; mask < 32; mask++)
    for (const drive of ['left', 'both'] as const)
      for (const sense of ['bottom', 'both'] as const) {
        const p: Parasitics = { ...NO_PARASITICS, drive, sense };
        keys.forEach((k, b) => {
          if (mask & (1 << b)) p[k] = values[k];
        });
        cases.push(p);
      }
  test.each(cases.map((p, k) => [k, p] as const))('case %i matches nodal analysis', (k, p) => {
    const rand = lcg(100 + k);
    const rows = 1 + Math.floor(rand() * 5);
    const cols = 1 + Math.floor(rand() * 5);
    const g = randomTile(rows, cols, rand, 0.15);
    const v = Array.from({ length: rows }, () => 0.2 * rand());
    const want = solveNetlistMna(tileNetlist(g, rows, cols, p, v));
    const got = currentsFromM(effectiveConductances(g, rows, cols, p), rows, cols, v);
    expect(maxRelError(got, want)).toBeLessThan(1e-9);
  });

  // The nested dissection (the default for resistive row and column wires) with narrow leaves, so that
  // small tiles are cut both ways many times, against nodal analysis: every drive and sense side.
  const narrow = (['left', 'both'] as const).flatMap((drive) =>
    (['bottom', 'both'] as const).flatMap((sense) =>
      [1, 2, 3].map((leafCols) => ({ drive, sense, leafCols })),
    ),
  );
  test.each(narrow)('dissection, $drive drive, $sense sense, leaves of $leafCols: nodal analysis', (c) => {
    const rand = lcg(300 + c.leafCols + (c.drive === 'both' ? 10 : 0) + (c.sense === 'both' ? 20 : 0));
    for (let t = 0; t < 3; t++) {
      const rows = 1 + Math.floor(rand() * 7);
      const cols = 1 + Math.floor(rand() * 7);
      const p: Parasitics = { ...values, drive: c.drive, sense: c.sense, driverOhms: t === 0 ? 0 : 40 };
      const g = randomTile(rows, cols, rand, 0.2);
      const v = Array.from({ length: rows }, () => 0.2 * rand());
      const want = solveNetlistMna(tileNetlist(g, rows, cols, p, v));
      const solver: TileSolver = { method: 'dissection', leafCols: c.leafCols };
      const m = effectiveConductances(g, rows, cols, p, undefined, undefined, solver);
      expect(maxRelError(currentsFromM(m, rows, cols, v), want)).toBeLessThan(1e-9);
    }
  });

  // Larger tiles than nodal analysis can take: the dissection against the row-by-row sweep it replaced,
  // on random shapes (rows != cols, thin and wide), absent cells, every side combination, zero and
  // non-zero driver, sense and access resistances, and leaf widths from 1 to 9.
  test('dissection matches the row-by-row sweep on random tiles up to 40 x 40', () => {
    const rand = lcg(11);
    const ws = new ParasiticWorkspace();
    const sizes = [
      [40, 40],
      [40, 17],
      [9, 40],
      [1, 33],
      [37, 1],
      [23, 31],
    ];
    let worst = 0;
    for (let t = 0; t < 24; t++) {
      const [rows, cols] =
        t < sizes.length ? sizes[t] : [1 + Math.floor(rand() * 40), 1 + Math.floor(rand() * 40)];
      const p = randomParasitics(rand, t);
      const g = randomTile(rows, cols, rand, 0.2);
      const sweep = effectiveConductances(g, rows, cols, p, undefined, ws, { method: 'sweep', leafCols: 1 });
      const leafCols = 1 + Math.floor(rand() * 9);
      const cut = effectiveConductances(g, rows, cols, p, undefined, ws, { method: 'dissection', leafCols });
      worst = Math.max(worst, maxRelError(cut, sweep));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  // Ideal row wires, resistive column wires: the column ladders (the default) against the sweep.
  test('column ladders match the row-by-row sweep on random tiles up to 40 x 40', () => {
    const rand = lcg(12);
    const ws = new ParasiticWorkspace();
    let worst = 0;
    for (let t = 0; t < 16; t++) {
      const rows = 1 + Math.floor(rand() * 40);
      const cols = 1 + Math.floor(rand() * 40);
      // ideal row wires; the first half with ideal drivers, the second with resistive ones
      const p = randomParasitics(rand, t, { rowWireOhms: 0 });
      if (t < 8) p.driverOhms = 0;
      else p.driverOhms ||= 40;
      const g = randomTile(rows, cols, rand, 0.2);
      const sweep = effectiveConductances(g, rows, cols, p, undefined, ws, { method: 'sweep', leafCols: 1 });
      const ladders = effectiveConductances(g, rows, cols, p, undefined, ws);
      worst = Math.max(worst, maxRelError(ladders, sweep));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  test('continuity: a vanishing resistance tends to the merged-node solution', () => {
    const rand = lcg(7);
    const g = randomTile(6, 5, rand);
    const base: Parasitics = { ...NO_PARASITICS, colWireOhms: 2, accessOhms: 500 };
    const merged = effectiveConductances(g, 6, 5, base);
    const tiny = effectiveConductances(g, 6, 5, { ...base, rowWireOhms: 1e-9, driverOhms: 1e-9 });
    expect(maxRelError(tiny, merged)).toBeLessThan(1e-8);
  });

  test('M is non-negative and below G (wires only take current away)', () => {
    const rand = lcg(9);
    const g = randomTile(16, 12, rand, 0.3);
    const m = effectiveConductances(g, 16, 12, { ...NO_PARASITICS, rowWireOhms: 5, colWireOhms: 5 });
    let sumM = 0;
    let sumG = 0;
    for (let k = 0; k < g.length; k++) {
      expect(m[k]).toBeGreaterThanOrEqual(0);
      sumM += m[k];
      sumG += g[k];
    }
    expect(sumM).toBeLessThan(sumG);
  });

  test('invertSpd inverts a random SPD matrix', () => {
    const n = 9;
    const rand = lcg(3);
    const b = Float64Array.from({ length: n * n }, () => rand() - 0.5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? n : 0;
        for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
        a[i * n + j] = s;
      }
    const inv = new Float64Array(n * n);
    invertSpd(Float64Array.from(a), n, inv);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k] * inv[k * n + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
  });
});
