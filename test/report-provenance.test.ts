/**
 * Provenance stamped into output files: CSV comment lines, SVG metadata, a PNG iTXt chunk and the
 * Vega-Lite spec's usermeta. The PNG is checked chunk by chunk with a bitwise CRC-32 written here (the
 * PNG specification's definition), not the zlib one the stamp uses.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  csvWithProvenance,
  pngChunks,
  pngProvenance,
  pngWithProvenance,
  specWithProvenance,
  stampFile,
  svgWithProvenance,
} from '../src/report/provenance';
import { writeChart } from '../src/report/render';
import { showValue } from '../src/util/errors';

const prov = {
  'models/m/network.json': 'ab'.repeat(32),
  xbarsim: '0.1.0',
  'données/ü.json': 'cd'.repeat(32),
};

/** CRC-32 (ISO 3309, as PNG defines it), one bit at a time. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Every chunk's stored CRC against the reference, and the chunk types in order. */
function checkedChunkTypes(png: Uint8Array): string[] {
  const buf = Buffer.from(png);
  const types: string[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    expect(buf.readUInt32BE(at + 8 + length)).toBe(crc32(buf.subarray(at + 4, at + 8 + length)));
    types.push(buf.toString('latin1', at + 4, at + 8));
    at += 12 + length;
  }
  return types;
}

test('CSV: comment lines name every input; the table below is unchanged; stamping twice replaces', () => {
  const csv = 'trial,accuracy\n0,0.9\n1,0.8\n';
  const once = csvWithProvenance(csv, prov);
  const lines = once.split('\n');
  expect(lines[0]).toMatch(/^# xbarsim provenance/);
  expect(lines).toContain(`# models/m/network.json: ${'ab'.repeat(32)}`);
  expect(lines.filter((l) => !l.startsWith('#')).join('\n')).toBe(csv);
  expect(csvWithProvenance(once, prov)).toBe(once);
});

test('SVG: one metadata element right inside <svg>, XML-escaped; restamping replaces it', () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="2"><rect/></svg>';
  const stamped = svgWithProvenance(svg, { 'a<b&c': 'x' });
  expect(stamped).toBe(
    '<svg xmlns="http://www.w3.org/2000/svg" width="2"><metadata id="xbarsim-provenance">' +
      '{"a&lt;b&amp;c":"x"}</metadata><rect/></svg>',
  );
  expect(svgWithProvenance(stamped, { 'a<b&c': 'x' })).toBe(stamped);
});

test('a rendered chart carries the stamp in all three files; the PNG stays valid and its pixels unchanged', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-prov-'));
  const spec = {
    data: { values: [{ x: 1, y: 2 }] },
    mark: 'point' as const,
    encoding: {
      x: { field: 'x', type: 'quantitative' as const },
      y: { field: 'y', type: 'quantitative' as const },
    },
  };
  const [plainSvg, plainPng] = await writeChart(spec, path.join(dir, 'plain'));
  const [svg, png, vl] = await writeChart(spec, path.join(dir, 'stamped'), { provenance: prov });
  const plain = fs.readFileSync(plainPng);
  const bytes = fs.readFileSync(png);
  expect(checkedChunkTypes(bytes)).toEqual([...checkedChunkTypes(plain).slice(0, -1), 'iTXt', 'IEND']);
  const idat = (p: Uint8Array) => pngChunks(p).filter((c) => c.type === 'IDAT');
  expect(Buffer.concat(idat(bytes).map((c) => c.data))).toEqual(
    Buffer.concat(idat(plain).map((c) => c.data)),
  );
  expect(pngProvenance(bytes)).toEqual(prov);
  expect(pngProvenance(plain)).toBeNull();
  expect(pngWithProvenance(bytes, prov)).toEqual(bytes);
  expect(fs.readFileSync(svg, 'utf8')).toBe(svgWithProvenance(fs.readFileSync(plainSvg, 'utf8'), prov));
  expect(JSON.parse(fs.readFileSync(vl, 'utf8')).usermeta).toEqual({ xbarsim: prov });
  // stampFile on an already stamped file changes nothing; on an unknown kind it does nothing.
  for (const f of [svg, png, vl]) {
    const before = fs.readFileSync(f);
    expect(stampFile(f, prov)).toBe(true);
    expect(fs.readFileSync(f)).toEqual(before);
  }
  fs.writeFileSync(path.join(dir, 'summary.md'), '# s\n');
  expect(stampFile(path.join(dir, 'summary.md'), prov)).toBe(false);
  expect(specWithProvenance('{"usermeta":{"other":1}}', prov)).toBe(
    JSON.stringify({ usermeta: { other: 1, xbarsim: prov } }, null, 2) + '\n',
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('error messages show Infinity and NaN as such, not as JSON null', () => {
  expect(showValue(Infinity)).toBe('Infinity');
  expect(showValue({ bits: -Infinity, g: NaN })).toBe('{"bits":"-Infinity","g":"NaN"}');
  expect(showValue('x'.repeat(80))).toHaveLength(60);
});
