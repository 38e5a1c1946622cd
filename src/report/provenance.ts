/**
 * Provenance inside the output files themselves, so that a CSV or a figure copied out of its study
 * directory still names what made it: every input by path and SHA-256, the xbarsim version and commit
 * (the same map a record's `provenance` holds). Each format in its own way, readable by common tools:
 * - CSV: leading `#` comment lines (pandas `read_csv(f, comment='#')`, R `read.csv(f, comment.char='#')`);
 * - SVG: a `<metadata>` element holding the JSON;
 * - PNG: an iTXt chunk with keyword `xbarsim:provenance` (exiftool, PIL's `Image.info`);
 * - Vega-Lite spec: its `usermeta.xbarsim` field (ignored by the renderers).
 * Stamping is idempotent: a stamp already present is replaced, never stacked.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { writeFileAtomic } from '../util/files';

/** Input name (a path, or 'xbarsim' / 'xbarsim commit') -> SHA-256, version or commit. */
export type OutputProvenance = Record<string, string>;

export const PNG_KEYWORD = 'xbarsim:provenance';
const CSV_MARK = '# xbarsim provenance';

export function csvWithProvenance(csv: string, prov: OutputProvenance): string {
  const rows = csv.split('\n');
  let start = 0;
  while (start < rows.length && rows[start].startsWith('#')) start++;
  const lines = [`${CSV_MARK} (what made this file; read with comment='#'):`];
  for (const [name, value] of Object.entries(prov)) lines.push(`# ${name}: ${value}`);
  return [...lines, ...rows.slice(start)].join('\n');
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function svgWithProvenance(svg: string, prov: OutputProvenance): string {
  const bare = svg.replace(/<metadata id="xbarsim-provenance">[\s\S]*?<\/metadata>/, '');
  const open = bare.indexOf('>', bare.indexOf('<svg')) + 1;
  if (open <= 0) throw new Error('not an SVG document');
  const meta = `<metadata id="xbarsim-provenance">${escapeXml(JSON.stringify(prov))}</metadata>`;
  return bare.slice(0, open) + meta + bare.slice(open);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface PngChunk {
  type: string;
  data: Buffer;
}

/** The chunks of a PNG file (CRCs not checked: the file is our own rasteriser's). */
export function pngChunks(png: Uint8Array): PngChunk[] {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG file');
  const chunks: PngChunk[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    chunks.push({
      type: buf.toString('latin1', at + 4, at + 8),
      data: buf.subarray(at + 8, at + 8 + length),
    });
    at += 12 + length;
  }
  return chunks;
}

function encodeChunk({ type, data }: PngChunk): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** iTXt data: keyword, NUL, uncompressed, no language or translated keyword, UTF-8 text. */
function itxt(keyword: string, text: string): Buffer {
  return Buffer.concat([
    Buffer.from(keyword, 'latin1'),
    Buffer.from([0, 0, 0, 0, 0]),
    Buffer.from(text, 'utf8'),
  ]);
}

export function pngWithProvenance(png: Uint8Array, prov: OutputProvenance): Uint8Array {
  const chunks = pngChunks(png).filter(
    (c) =>
      !(
        c.type === 'iTXt' &&
        c.data.subarray(0, PNG_KEYWORD.length + 1).equals(Buffer.from(`${PNG_KEYWORD}\0`))
      ),
  );
  const end = chunks.findIndex((c) => c.type === 'IEND');
  chunks.splice(end, 0, { type: 'iTXt', data: itxt(PNG_KEYWORD, JSON.stringify(prov)) });
  return Buffer.concat([PNG_SIGNATURE, ...chunks.map(encodeChunk)]);
}

/** The provenance a PNG carries, or null. */
export function pngProvenance(png: Uint8Array): OutputProvenance | null {
  const prefix = Buffer.from(`${PNG_KEYWORD}\0`, 'latin1');
  const chunk = pngChunks(png).find(
    (c) => c.type === 'iTXt' && c.data.subarray(0, prefix.length).equals(prefix),
  );
  return chunk
    ? (JSON.parse(chunk.data.subarray(prefix.length + 4).toString('utf8')) as OutputProvenance)
    : null;
}

export function specWithProvenance(specJson: string, prov: OutputProvenance): string {
  const spec = JSON.parse(specJson) as Record<string, unknown>;
  const usermeta = { ...(spec.usermeta as object | undefined), xbarsim: prov };
  return JSON.stringify({ ...spec, usermeta }, null, 2) + '\n';
}

/**
 * Stamp a written output file in place by its extension (.csv, .svg, .png, .vl.json); other files
 * (Markdown summaries carry a provenance section of their own) are left as they are. Returns whether it
 * stamped.
 */
export function stampFile(file: string, prov: OutputProvenance): boolean {
  if (file.endsWith('.csv')) writeFileAtomic(file, csvWithProvenance(fs.readFileSync(file, 'utf8'), prov));
  else if (file.endsWith('.svg'))
    writeFileAtomic(file, svgWithProvenance(fs.readFileSync(file, 'utf8'), prov));
  else if (file.endsWith('.png')) writeFileAtomic(file, pngWithProvenance(fs.readFileSync(file), prov));
  else if (file.endsWith('.vl.json'))
    writeFileAtomic(file, specWithProvenance(fs.readFileSync(file, 'utf8'), prov));
  else return false;
  return true;
}
