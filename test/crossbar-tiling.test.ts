import { planTiles, weightColsPerTile } from '../src/crossbar/tiling';

describe('tiling', () => {
  test.each([1, 2, 64, 127, 128, 129, 255, 256, 257, 784, 1000])(
    '%i rows: row tiles cover every row exactly once',
    (rows) => {
      for (const mapping of ['differential', 'offset'] as const) {
        const plan = planTiles(rows, 10, { rows: 128, cols: 128 }, mapping);
        expect(plan.rowTiles).toBe(Math.ceil(rows / 128));
        const covered = new Uint8Array(rows);
        for (const t of plan.tiles.filter((t) => t.colTile === 0)) {
          expect(t.rowsUsed).toBe(t.rowEnd - t.rowStart);
          expect(t.rowsUsed).toBeGreaterThan(0);
          expect(t.rowsUsed).toBeLessThanOrEqual(128);
          for (let r = t.rowStart; r < t.rowEnd; r++) covered[r]++;
        }
        expect(covered.every((c) => c === 1)).toBe(true);
      }
    },
  );

  test.each([1, 63, 64, 65, 127, 128, 500])(
    '%i columns: column tiles cover every column once; physical columns fit',
    (cols) => {
      for (const mapping of ['differential', 'offset'] as const) {
        const plan = planTiles(300, cols, { rows: 128, cols: 128 }, mapping);
        const per = mapping === 'differential' ? 64 : 127;
        expect(plan.weightColsPerTile).toBe(per);
        expect(plan.colTiles).toBe(Math.ceil(cols / per));
        expect(plan.tiles).toHaveLength(plan.rowTiles * plan.colTiles);
        const covered = new Uint8Array(cols);
        for (const t of plan.tiles.filter((t) => t.rowTile === 0)) {
          const n = t.colEnd - t.colStart;
          for (let c = t.colStart; c < t.colEnd; c++) covered[c]++;
          expect(t.physicalColsUsed).toBe(mapping === 'differential' ? 2 * n : n + 1);
          expect(t.physicalColsUsed).toBeLessThanOrEqual(128);
          expect(t.referenceCol).toBe(mapping === 'differential' ? null : n);
        }
        expect(covered.every((c) => c === 1)).toBe(true);
        // Row-tile-major ordering.
        plan.tiles.forEach((t, i) => expect(i).toBe(t.rowTile * plan.colTiles + t.colTile));
      }
    },
  );

  test('784 x 100 on 128 x 128, differential: 7 row tiles x 2 column tiles', () => {
    const plan = planTiles(784, 100, { rows: 128, cols: 128 }, 'differential');
    expect([plan.rowTiles, plan.colTiles]).toEqual([7, 2]);
    const last = plan.tiles[plan.tiles.length - 1];
    expect(last).toEqual({
      rowTile: 6,
      colTile: 1,
      rowStart: 768,
      rowEnd: 784,
      colStart: 64,
      colEnd: 100,
      rowsUsed: 16,
      physicalColsUsed: 72,
      referenceCol: null,
    });
  });

  test('odd tile widths and bad input', () => {
    expect(weightColsPerTile(5, 'differential')).toBe(2);
    expect(weightColsPerTile(5, 'offset')).toBe(4);
    expect(() => planTiles(10, 10, { rows: 8, cols: 1 }, 'differential')).toThrow(RangeError);
    expect(() => planTiles(0, 10, { rows: 8, cols: 8 }, 'offset')).toThrow(RangeError);
  });
});
