/** Plain-text tables for reports: Markdown for people, CSV for R, pandas and spreadsheets. */
import { InputError } from '../util/errors';

/**
 * A number as a reader wants it in a table: integers whole, others to 4 significant digits without
 * trailing zeros, very large or small magnitudes in exponent form (1.23e-5).
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Object.is(v, -0)) return '0';
  const abs = Math.abs(v);
  if (Number.isInteger(v) && abs < 1e15) return String(v);
  if (abs >= 1e6 || abs < 1e-3) {
    const [mantissa, exp] = v.toExponential(3).split('e');
    return `${trimZeros(mantissa)}e${exp.replace('+', '')}`;
  }
  const decimals = Math.max(0, 3 - Math.floor(Math.log10(abs)));
  return trimZeros(v.toFixed(decimals));
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function markdownCell(v: string | number): string {
  const s = typeof v === 'number' ? formatNumber(v) : v;
  // A pipe would end the cell and a newline the row; <br> is the GitHub-flavoured line break.
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/**
 * A GitHub-flavoured Markdown table, columns padded to equal width so the raw text reads as a table
 * too; columns holding only numbers are right-aligned.
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  if (headers.length === 0) throw new InputError('markdownTable: no columns');
  rows.forEach((r, i) => {
    if (r.length !== headers.length) {
      throw new InputError(`markdownTable: row ${i} has ${r.length} cells, expected ${headers.length}`);
    }
  });
  const cells = [headers.map(markdownCell), ...rows.map((r) => r.map(markdownCell))];
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = headers.map((_, c) => Math.max(3, ...cells.map((r) => r[c].length)));
  const line = (r: string[]) =>
    `| ${r.map((s, c) => (numeric[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (numeric[c] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n') + '\n';
}

function csvField(v: unknown): string {
  let s: string;
  if (v === undefined || v === null) s = '';
  else if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else s = JSON.stringify(v);
  // RFC 4180: a field holding a comma, quote or line break is quoted, with quotes doubled.
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV with a header row. Columns are the union of the rows' keys in first-seen order, so the layout is
 * stable across runs; a missing value is an empty field. Numbers keep full precision. Lines end in
 * \n (what R, pandas and spreadsheets all read); an empty row list gives an empty string.
 */
export function toCsv(rows: readonly object[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  if (columns.length === 0) return '';
  const lines = [columns.map(csvField).join(',')];
  for (const r of rows) {
    const rec = r as Record<string, unknown>;
    lines.push(columns.map((c) => csvField(rec[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * Result records as tidy long-form CSV, one value per cell: a record with per-trial values (the array
 * field `perTrial`) gives one row per trial (columns `trial`, `trialAccuracy`) with the record's other
 * values repeated; a per-layer array (clipRate, rmsWeightError, ci95, ...) becomes one column per entry
 * (`clipRate_0`, `clipRate_1`, ...); nested objects (provenance, tables) stay in results.jsonl.
 */
export function tidyCsv(records: readonly object[], perTrialField = 'perTrial'): string {
  const rows: Record<string, unknown>[] = [];
  for (const rec of records) {
    const base: Record<string, unknown> = {};
    let trials: unknown[] | null = null;
    for (const [k, v] of Object.entries(rec)) {
      if (k === perTrialField && Array.isArray(v)) trials = v;
      else if (Array.isArray(v)) {
        if (v.every((x) => x === null || typeof x !== 'object')) v.forEach((x, i) => (base[`${k}_${i}`] = x));
      } else if (v === null || typeof v !== 'object') base[k] = v;
    }
    if (trials) trials.forEach((x, t) => rows.push({ ...base, trial: t, trialAccuracy: x }));
    else rows.push(base);
  }
  return toCsv(rows);
}
