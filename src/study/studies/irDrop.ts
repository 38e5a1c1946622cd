/**
 * IR drop: Monte-Carlo accuracy against wire resistance per cell segment, one line per (square) tile
 * size, with and without the access transistor's on-resistance; and the figure a designer needs, the
 * largest tile that stays within 1 point of ideal wires at each wire resistance. Defaults: the shipped
 * reference MLP with its float weights mapped onto hfo2-1t1r-igvva-8 (15 differential values), on
 * tile128-ideal-1t1r (ideal converters, so the loss is the wires' and the transistor's alone).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCircuitCard } from '../../crossbar/loadCircuit';
import { projectRoot } from '../../device/cardFiles';
import { loadDeviceCard } from '../../device/loadDevice';
import { parseWeightQuantizer } from '../../nn/quantize';
import { loadNetwork } from '../../nn/load';
import { errorBarChart } from '../../report/errorBarChart';
import { lineChart } from '../../report/lineChart';
import { writeChart } from '../../report/render';
import { markdownTable, tidyCsv } from '../../report/tables';
import { InputError } from '../../util/errors';
import { writeFileAtomic } from '../../util/files';
import type { ResultRecord } from '../results';
import { simulateConfig } from '../simulateConfig';
import type { Study, StudyContext } from '../types';
import { REFERENCE_MODEL } from './default';

const GRID = {
  quick: { tiles: [64, 128], wiresOhm: [0, 1, 2] },
  full: { tiles: [64, 128, 256, 512], wiresOhm: [0, 0.5, 1, 2, 5] },
};
/** A tile "keeps" the network when its Monte-Carlo mean is within this of the same tile with ideal wires. */
const WITHIN_POINTS = 1;

function settings(ctx: StudyContext) {
  return {
    model: ctx.params.model ?? path.join(projectRoot(), REFERENCE_MODEL),
    device: ctx.params.device ?? 'hfo2-1t1r-igvva-8',
    circuit: ctx.params.circuit ?? 'tile128-ideal-1t1r',
    quantize: ctx.params.quantize ?? 'none',
  };
}

/** The access resistances swept: 0 and the card's (or --access-resistance), as unit strings. */
function accessValues(ctx: StudyContext): string[] {
  if (ctx.params.accessResistance !== undefined) return ['0 Ohm', ctx.params.accessResistance];
  const card = loadCircuitCard(settings(ctx).circuit);
  const ohms = card.parasitics?.accessOhms ?? 0;
  return ohms > 0 ? ['0 Ohm', `${ohms} Ohm`] : ['0 Ohm'];
}

export const irDropStudy: Study = {
  name: 'ir-drop',
  description: 'accuracy against wire resistance and tile size, access transistor on and off',
  params: ['model', 'device', 'circuit', 'quantize', 'accessResistance'],
  defaultTrials: { quick: 2, full: 20 },
  data: { quick: { trainLimit: 2000, testLimit: 1000 }, full: {} },
  configurations(ctx) {
    const s = settings(ctx);
    if (!fs.existsSync(s.model) || !fs.statSync(s.model).isDirectory())
      throw new InputError(`--model ${s.model}: model directory not found`);
    loadDeviceCard(s.device);
    if (s.quantize !== 'none') parseWeightQuantizer(s.quantize);
    const grid = GRID[ctx.mode];
    return accessValues(ctx).flatMap((access) =>
      grid.tiles.flatMap((tile) =>
        grid.wiresOhm.map((wire) => ({
          key: `access ${access}/tile ${tile}/wire ${wire} Ohm`,
          async run(c: StudyContext) {
            const st = settings(c);
            const desc = await loadNetwork(st.model);
            const sim = await simulateConfig(
              c,
              String(desc.meta.dataset ?? 'mnist'),
              {
                ...st,
                quantize: st.quantize === 'none' ? undefined : st.quantize,
                tileRows: tile,
                tileCols: tile,
                wireResistance: `${wire} Ohm`,
                accessResistance: access,
              },
              desc,
            );
            return { ...st, access, tile, wireOhms: wire, ...sim };
          },
        })),
      ),
    );
  },
  async report(records: ResultRecord[], out: string) {
    const rows = records.map((r) => ({
      access: String(r.access),
      tile: Number(r.tile),
      tileName: `${String(r.tile)} x ${String(r.tile)}`,
      wireOhms: Number(r.wireOhms),
      mean: 100 * Number(r.mean),
      lo: 100 * (r.ci95 as number[])[0],
      hi: 100 * (r.ci95 as number[])[1],
      nominal: 100 * Number(r.nominalAccuracy),
      irDrop: ((r.irDropError ?? []) as Array<number | null>).map((e) =>
        e === null ? '-' : (100 * e).toFixed(1),
      ),
    }));
    rows.sort((a, b) => a.access.localeCompare(b.access) || a.tile - b.tile || a.wireOhms - b.wireOhms);
    const first = records[0] ?? {};
    const weights = first.quantize === 'none' ? 'float weights' : `${String(first.quantize)} weights`;
    const setting = `${first.model ? path.basename(String(first.model)) : ''}, ${weights}, ${String(first.device)}, ${String(first.circuit)}`;
    const files: string[] = [];
    for (const access of [...new Set(rows.map((r) => r.access))]) {
      const name = `ir-drop-access-${access.replace(/\s+/g, '')}`;
      const chartFiles = await writeChart(
        errorBarChart({
          rows: rows.filter((r) => r.access === access),
          x: 'wireOhms',
          group: 'tileName',
          title: `Accuracy against wire resistance, access resistance ${access}`,
          subtitle: `${setting}; band: 95 % CI over chips`,
          xTitle: 'wire resistance per cell segment (Ohm)',
          yTitle: 'test accuracy (%)',
          groupTitle: 'tile',
        }),
        path.join(out, name),
      );
      files.push(...chartFiles);
    }
    const largest = largestTiles(rows);
    if (largest.length) {
      files.push(
        ...(await writeChart(
          lineChart({
            rows: largest,
            x: 'wireOhms',
            y: 'largestTile',
            color: 'access',
            title: `Largest tile within ${WITHIN_POINTS} point of ideal wires`,
            subtitle: `${setting}; Monte-Carlo mean against the same tile with 0 Ohm wires; 0: none of the sizes tried`,
            xTitle: 'wire resistance per cell segment (Ohm)',
            yTitle: 'largest tile rows (= columns)',
            colorTitle: 'access resistance',
          }),
          path.join(out, 'ir-drop-largest-tile'),
        )),
      );
    }
    const table = markdownTable(
      [
        'access',
        'tile',
        'wire (Ohm)',
        'mean accuracy (%)',
        '95 % CI (%)',
        'nominal chip (%)',
        'IR drop per layer (%)',
      ],
      rows.map((r) => [
        r.access,
        r.tileName,
        r.wireOhms,
        r.mean.toFixed(2),
        `${r.lo.toFixed(2)} .. ${r.hi.toFixed(2)}`,
        r.nominal.toFixed(2),
        r.irDrop.join(' / '),
      ]),
    );
    const largestTable = markdownTable(
      ['access', 'wire (Ohm)', `largest tile within ${WITHIN_POINTS} point`],
      largest.map((l) => [
        l.access,
        l.wireOhms,
        l.largestTile ? `${l.largestTile} x ${l.largestTile}` : 'none',
      ]),
    );
    writeFileAtomic(
      path.join(out, 'summary.md'),
      `# IR drop\n\n${setting}. IR drop: the nominal chip's mean relative column-current error against ideal wires.\n\n${table}\n\n${largestTable}\n`,
    );
    writeFileAtomic(path.join(out, 'results.csv'), tidyCsv(records));
    files.push(...['summary.md', 'results.csv'].map((f) => path.join(out, f)));
    return files;
  },
};

/**
 * Per access value and wire resistance, the largest tile whose mean is within WITHIN_POINTS of the same
 * tile at 0 Ohm (0 when none is; rows without a 0 Ohm reference are skipped).
 */
export function largestTiles(
  rows: ReadonlyArray<{ access: string; tile: number; wireOhms: number; mean: number }>,
): Array<{ access: string; wireOhms: number; largestTile: number }> {
  const out: Array<{ access: string; wireOhms: number; largestTile: number }> = [];
  for (const access of [...new Set(rows.map((r) => r.access))]) {
    const mine = rows.filter((r) => r.access === access);
    const ideal = new Map(mine.filter((r) => r.wireOhms === 0).map((r) => [r.tile, r.mean]));
    for (const wire of [...new Set(mine.map((r) => r.wireOhms))].sort((a, b) => a - b)) {
      let largestTile = 0;
      for (const r of mine)
        if (r.wireOhms === wire && ideal.has(r.tile) && ideal.get(r.tile)! - r.mean <= WITHIN_POINTS)
          largestTile = Math.max(largestTile, r.tile);
      out.push({ access, wireOhms: wire, largestTile });
    }
  }
  return out;
}
