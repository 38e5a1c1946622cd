/**
 * The literal circuit of a parasitic tile as a netlist (every resistor and source as drawn in
 * src/crossbar/parasitics.ts's header), for the independent checks: a dense modified-nodal-analysis solve
 * here (mathjs LU; zero-ohm parts become 0 V sources, as in SPICE) and ngspice (test/spice/).
 */
import { lusolve } from 'mathjs';
import type { Parasitics } from '../src/crossbar/parasitics';

export type Element =
  | { kind: 'R'; name: string; a: string; b: string; ohms: number }
  | { kind: 'V'; name: string; a: string; b: string; volts: number };

export interface Netlist {
  elements: Element[];
  /** Per column, the 0 V sources whose currents (from node a to b through the source) are I_c. */
  senseSources: string[][];
}

/** Ground is node '0'. Absent cells (g = 0) are left out. */
export function tileNetlist(
  g: ArrayLike<number>,
  rows: number,
  cols: number,
  p: Parasitics,
  volts: ArrayLike<number>,
): Netlist {
  const el: Element[] = [];
  const R = (name: string, a: string, b: string, ohms: number) => el.push({ kind: 'R', name, a, b, ohms });
  for (let i = 0; i < rows; i++) {
    el.push({ kind: 'V', name: `vin${i}`, a: `d${i}`, b: '0', volts: volts[i] });
    R(`rdl${i}`, `d${i}`, `el${i}`, p.driverOhms);
    R(`rwl${i}`, `el${i}`, `r${i}_0`, p.rowWireOhms);
    if (p.drive === 'both') {
      R(`rdr${i}`, `d${i}`, `er${i}`, p.driverOhms);
      R(`rwr${i}`, `r${i}_${cols - 1}`, `er${i}`, p.rowWireOhms);
    }
    for (let c = 0; c + 1 < cols; c++) R(`rw${i}_${c}`, `r${i}_${c}`, `r${i}_${c + 1}`, p.rowWireOhms);
    for (let c = 0; c < cols; c++) {
      const gc = g[i * cols + c];
      if (gc === 0) continue;
      R(`ra${i}_${c}`, `r${i}_${c}`, `a${i}_${c}`, p.accessOhms);
      R(`rc${i}_${c}`, `a${i}_${c}`, `k${i}_${c}`, 1 / gc);
    }
  }
  const senseSources: string[][] = [];
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i + 1 < rows; i++) R(`rk${i}_${c}`, `k${i}_${c}`, `k${i + 1}_${c}`, p.colWireOhms);
    R(`rkb${c}`, `k${rows - 1}_${c}`, `b${c}`, p.colWireOhms);
    R(`rsb${c}`, `b${c}`, `sb${c}`, p.senseOhms);
    el.push({ kind: 'V', name: `vsb${c}`, a: `sb${c}`, b: '0', volts: 0 });
    const names = [`vsb${c}`];
    if (p.sense === 'both') {
      R(`rkt${c}`, `k0_${c}`, `t${c}`, p.colWireOhms);
      R(`rst${c}`, `t${c}`, `st${c}`, p.senseOhms);
      el.push({ kind: 'V', name: `vst${c}`, a: `st${c}`, b: '0', volts: 0 });
      names.push(`vst${c}`);
    }
    senseSources.push(names);
  }
  return { elements: el, senseSources };
}

/**
 * Modified nodal analysis: unknowns are the node voltages and the current of every voltage source
 * (zero-ohm resistors included, as 0 V sources). Returns I_c = the current flowing from the sense node
 * into ground through column c's sense sources.
 */
export function solveNetlistMna(net: Netlist): Float64Array {
  const nodes = new Map<string, number>();
  const node = (name: string) => {
    if (name === '0') return -1;
    let k = nodes.get(name);
    if (k === undefined) nodes.set(name, (k = nodes.size));
    return k;
  };
  const els = net.elements.map((e) =>
    e.kind === 'R' && e.ohms === 0 ? { ...e, kind: 'V' as const, volts: 0 } : e,
  );
  for (const e of els) {
    node(e.a);
    node(e.b);
  }
  const sources = els.filter((e) => e.kind === 'V');
  const n = nodes.size + sources.length;
  const a: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const rhs: number[] = new Array<number>(n).fill(0);
  const sourceIndex = new Map<string, number>();
  for (const e of els) {
    const p = node(e.a);
    const q = node(e.b);
    if (e.kind === 'R') {
      const gg = 1 / e.ohms;
      if (p >= 0) a[p][p] += gg;
      if (q >= 0) a[q][q] += gg;
      if (p >= 0 && q >= 0) {
        a[p][q] -= gg;
        a[q][p] -= gg;
      }
    } else {
      const k = nodes.size + sourceIndex.size;
      sourceIndex.set(e.name, k);
      // V(a) - V(b) = volts; the source current j flows from a through the source to b.
      if (p >= 0) {
        a[k][p] += 1;
        a[p][k] += 1;
      }
      if (q >= 0) {
        a[k][q] -= 1;
        a[q][k] -= 1;
      }
      rhs[k] = e.volts;
    }
  }
  const x = (lusolve(a, rhs) as number[][]).map((r) => r[0]);
  return Float64Array.from(net.senseSources, (names) =>
    names.reduce((sum, name) => sum + x[sourceIndex.get(name)!], 0),
  );
}

/** Small deterministic generator for test tiles (tests must not depend on Math.random). */
export function lcg(seed: number): () => number {
  let s = Math.imul(seed >>> 0 || 1, 2654435761) >>> 0; // spread nearby seeds apart
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let k = 0; k < 4; k++) next();
  return next;
}

/**
 * Random resistances of a tile: both wires 0.1-4.1 Ohm, access, driver and sense resistances zero one
 * time in four; drive and sense sides from t's two lowest bits. `over` replaces fields after the draws
 * (so the stream stays the same).
 */
export function randomParasitics(rand: () => number, t: number, over: Partial<Parasitics> = {}): Parasitics {
  const pick = (x: number) => (rand() < 0.25 ? 0 : x * (0.2 + rand()));
  return {
    rowWireOhms: 0.1 + 4 * rand(),
    colWireOhms: 0.1 + 4 * rand(),
    accessOhms: pick(3000),
    driverOhms: pick(100),
    senseOhms: pick(100),
    drive: t % 2 ? 'both' : 'left',
    sense: (t >> 1) % 2 ? 'both' : 'bottom',
    ...over,
  };
}
