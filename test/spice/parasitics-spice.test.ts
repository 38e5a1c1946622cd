/**
 * xbarsim's parasitic tile solve against ngspice (Debian's ngspice, batch mode) on random tiles with
 * every resistance non-zero, and two with ideal row wires. Run by `npm run test:spice` (.ci/run installs ngspice first); not part of
 * `npm test`, which must pass on a machine without ngspice.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { effectiveConductances, type Parasitics } from '../../src/crossbar/parasitics';
import { type Netlist, lcg, tileNetlist } from '../parasitics-netlist';

/** The netlist as SPICE text, an operating point, and every sense source's current printed in full. */
function spiceDeck(net: Netlist): string {
  const lines = ['* xbarsim parasitic tile'];
  // A zero-ohm resistor is a 0 V source (ngspice would replace R = 0 by a small resistance).
  for (const e of net.elements)
    lines.push(
      e.kind === 'R' && e.ohms > 0
        ? `R${e.name} ${e.a} ${e.b} ${e.ohms.toPrecision(17)}`
        : `V${e.name} ${e.a} ${e.b} DC ${(e.kind === 'V' ? e.volts : 0).toPrecision(17)}`,
    );
  lines.push('.control', 'op', 'set numdgt=16');
  for (const names of net.senseSources) for (const n of names) lines.push(`print i(V${n})`);
  lines.push('.endc', '.end');
  return lines.join('\n') + '\n';
}

function runNgspice(deck: string): Map<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-spice-'));
  try {
    const file = path.join(dir, 'tile.cir');
    fs.writeFileSync(file, deck);
    // ngspice -b exits 1 after a .control run without .print lines ("no simulations run"), so success is
    // judged by the output: every sense current must be printed (checked by the caller).
    const run = spawnSync('ngspice', ['-b', file], { encoding: 'utf8' });
    if (run.error) throw run.error;
    const text = run.stdout;
    if (!/^i\(/im.test(text)) throw new Error(`ngspice printed no currents:\n${run.stdout}\n${run.stderr}`);
    const currents = new Map<string, number>();
    for (const m of text.matchAll(/^i\((v[^)]+)\)\s*=\s*(\S+)/gim))
      currents.set(m[1].toLowerCase(), Number(m[2]));
    return currents;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const log = (lo: number, hi: number, u: number) => lo * (hi / lo) ** u;

describe('parasitic tile solve against ngspice', () => {
  // Tiles 10 and 11: ideal row wires (the column-ladder solve), with ideal and resistive drivers.
  const cases = Array.from({ length: 12 }, (_, k) => k);
  test.each(cases)('random tile %i: column currents within 1e-6 relative', (k) => {
    const rand = lcg(1000 + k);
    // Sizes up to 32 x 32 (the last cases are the largest).
    const rows = k >= 8 ? 32 : 1 + Math.floor(rand() * 32);
    const cols = k >= 8 ? 32 : 1 + Math.floor(rand() * 32);
    const ladders = k >= 10;
    const p: Parasitics = {
      rowWireOhms: ladders ? 0 : log(0.1, 10, rand()),
      colWireOhms: log(0.1, 10, rand()),
      accessOhms: log(100, 10000, rand()),
      driverOhms: k === 10 ? 0 : log(1, 1000, rand()),
      senseOhms: log(1, 1000, rand()),
      // (tile 10 drives from the left only: both ends of an ideal row at an ideal driver close a loop of
      // voltage sources, which SPICE refuses)
      drive: rand() < 0.5 || k === 10 ? 'left' : 'both',
      sense: rand() < 0.5 ? 'bottom' : 'both',
    };
    const g = Float64Array.from({ length: rows * cols }, () => (rand() < 0.1 ? 0 : log(1e-6, 5e-4, rand())));
    const v = Array.from({ length: rows }, () => 0.05 + 0.25 * rand());
    const net = tileNetlist(g, rows, cols, p, v);
    const spice = runNgspice(spiceDeck(net));
    const m = effectiveConductances(g, rows, cols, p);
    let worst = 0;
    net.senseSources.forEach((names, c) => {
      const want = names.reduce((sum, n) => {
        const i = spice.get(`v${n}`.toLowerCase());
        if (i === undefined) throw new Error(`ngspice printed no current for V${n}`);
        return sum + i;
      }, 0);
      let got = 0;
      for (let i = 0; i < rows; i++) got += m[i * cols + c] * v[i];
      worst = Math.max(worst, Math.abs(got - want) / Math.abs(want));
    });
    if (process.env.XBARSIM_SPICE_LOG)
      process.stderr.write(`tile ${k} (${rows} x ${cols}): worst ${worst.toExponential(2)}\n`);
    expect(worst).toBeLessThan(1e-6);
  });
});
