import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { irDropStudy, largestTiles } from '../src/study/studies/irDrop';
import { findStudy } from '../src/study/registry';

test('largest tile within 1 point of the same tile at 0 Ohm, per access value and wire resistance', () => {
  const rows = [
    { access: '0 Ohm', tile: 64, wireOhms: 0, mean: 96 },
    { access: '0 Ohm', tile: 128, wireOhms: 0, mean: 96.2 },
    { access: '0 Ohm', tile: 64, wireOhms: 1, mean: 95.5 },
    { access: '0 Ohm', tile: 128, wireOhms: 1, mean: 95.2 }, // exactly 1 point: kept
    { access: '0 Ohm', tile: 64, wireOhms: 2, mean: 94.9 }, // 1.1 points: not kept
    { access: '0 Ohm', tile: 128, wireOhms: 2, mean: 80 },
    { access: '2 kOhm', tile: 64, wireOhms: 0, mean: 95 },
    { access: '2 kOhm', tile: 64, wireOhms: 1, mean: 94.5 },
  ];
  expect(largestTiles(rows)).toEqual([
    { access: '0 Ohm', wireOhms: 0, largestTile: 128 },
    { access: '0 Ohm', wireOhms: 1, largestTile: 128 },
    { access: '0 Ohm', wireOhms: 2, largestTile: 0 },
    { access: '2 kOhm', wireOhms: 0, largestTile: 64 },
    { access: '2 kOhm', wireOhms: 1, largestTile: 64 },
  ]);
});

test('the study is registered and its report writes figures, summary and CSV from records', async () => {
  expect(findStudy('ir-drop')).toBe(irDropStudy);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-drop-report-'));
  const records = [0, 1].flatMap((wire) =>
    [64, 128].map((tile) => ({
      key: `access 0 Ohm/tile ${tile}/wire ${wire} Ohm`,
      model: 'models/reference-mlp',
      device: 'hfo2-1t1r-igvva-8',
      circuit: 'tile128-ideal-1t1r',
      quantize: 'none',
      access: '0 Ohm',
      tile,
      wireOhms: wire,
      mean: 0.96 - wire * (tile / 128) ** 2 * 0.03, // 64: 0.75 point at 1 Ohm, 128: 3 points
      ci95: [0.95 - wire * 0.03, 0.97],
      nominalAccuracy: 0.96,
      perTrial: [0.95, 0.97],
      clipRate: [0, 0],
      rmsWeightError: [0.05, 0.07],
      irDropError: wire ? [0.2, 0.1] : [null, null],
    })),
  );
  const files = await irDropStudy.report(records, out);
  for (const f of files) expect(fs.statSync(f).size).toBeGreaterThan(0);
  // The list names every file the report wrote, no more (the CLI's "wrote N files").
  expect(files.map((f) => path.basename(f)).sort()).toEqual(fs.readdirSync(out).sort());
  const summary = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
  expect(summary).toMatch(/\| 0 Ohm +\| 128 x 128 \| +1 \| 93\.00 /);
  expect(summary).toMatch(/\| 0 Ohm +\| +1 \| 64 x 64 /); // 128 x 128 loses 3 points at 1 Ohm
  expect(fs.readFileSync(path.join(out, 'results.csv'), 'utf8')).toMatch(/irDropError/);
});
