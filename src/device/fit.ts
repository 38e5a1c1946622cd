/**
 * Build a multilevel device card from measurements: a CSV with a header naming a `level` column and either
 * a `current` column (read currents, amperes or unit strings, converted with vRead) or a `conductance`
 * column (siemens or unit strings). Per level: a Gaussian (mean, sample standard deviation with n - 1) or,
 * with `empirical`, the measured samples themselves.
 */
import { InputError } from '../util/errors';
import { parseDeviceCard, type CardSource, type LevelSpec, type MultilevelCard } from './card';
import { parseQuantity } from './quantity';

export interface FitOptions {
  name: string;
  /** Read voltage: volts or a unit string. */
  vRead: number | string;
  /** Keep the samples (empirical levels) instead of fitting Gaussians. */
  empirical?: boolean;
  /** A citation string becomes { citation, status: 'fitted' } ('measured' for empirical cards). */
  source: CardSource | string;
  /** Optional physical conductance floor: siemens or a unit string. */
  floor?: number | string;
  description?: string;
  /** Names the CSV in error messages. */
  csvLabel?: string;
  /** Plausibility warnings (unit-less values, level means outside PLAUSIBLE_SIEMENS); none if absent. */
  warn?: (message: string) => void;
}

/**
 * Level conductances a resistive memory plausibly has (1 nS .. 10 mS: 1 GOhm .. 100 Ohm). A fitted mean
 * outside is most likely a unit mistake (uA read as A, kOhm as Ohm), so it is warned about, not refused.
 */
export const PLAUSIBLE_SIEMENS: readonly [number, number] = [1e-9, 1e-2];

export function fitDeviceCard(csvText: string, opts: FitOptions): MultilevelCard {
  const label = opts.csvLabel ?? 'CSV';
  const vRead = parseQuantity(opts.vRead, ['voltage'], 'fit options', 'vRead').si;
  if (!(vRead > 0)) throw new InputError(`fit options: field vRead must be positive (got ${opts.vRead})`);

  const lines = csvText.split(/\r?\n/);
  const isBlank = (line: string) => line.trim() === '' || line.trim().startsWith('#');
  const headerIndex = lines.findIndex((line) => !isBlank(line));
  if (headerIndex < 0)
    throw new InputError(`${label}: empty file (expected a header "level,current" or "level,conductance")`);
  const header = lines[headerIndex];
  const delimiter = header.includes(',')
    ? ','
    : header.includes('\t')
      ? '\t'
      : header.includes(';')
        ? ';'
        : ',';
  const split = (line: string) =>
    line.split(delimiter).map((cell) =>
      cell
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
  const columns = split(header).map((c) => c.toLowerCase());
  const at = (line: number) => `${label} line ${line}`;

  const levelCol = columns.indexOf('level');
  const currentCol = columns.indexOf('current');
  const conductanceCol = columns.indexOf('conductance');
  if (levelCol < 0)
    throw new InputError(`${at(headerIndex + 1)}: header needs a "level" column (got ${columns.join(', ')})`);
  if (currentCol < 0 === conductanceCol < 0)
    throw new InputError(
      `${at(headerIndex + 1)}: header needs exactly one of the columns "current" or "conductance" (got ${columns.join(', ')})`,
    );
  const valueCol = currentCol >= 0 ? currentCol : conductanceCol;
  const dimension = currentCol >= 0 ? 'current' : 'conductance';

  const groups = new Map<string, number[]>();
  let unitless = 0;
  let firstUnitless = '';
  for (let i = headerIndex + 1; i < lines.length; i++) {
    if (isBlank(lines[i])) continue;
    const cells = split(lines[i]);
    const where = at(i + 1);
    if (cells.length <= Math.max(levelCol, valueCol))
      throw new InputError(`${where}: has ${cells.length} cells, the header has ${columns.length}`);
    const level = cells[levelCol];
    if (level === '') throw new InputError(`${where}: the level cell is empty`);
    const text = cells[valueCol];
    const asNumber = text === '' ? NaN : Number(text);
    const si = Number.isFinite(asNumber) ? asNumber : parseQuantity(text, [dimension], where, dimension).si;
    if (Number.isFinite(asNumber) && unitless++ === 0) firstUnitless = `${where}: ${text}`;
    const g = dimension === 'current' ? si / vRead : si;
    if (!(g >= 0)) throw new InputError(`${where}: field ${dimension} must be >= 0 (got ${text})`);
    const values = groups.get(level) ?? [];
    values.push(g);
    groups.set(level, values);
  }
  if (groups.size < 2)
    throw new InputError(`${label}: needs measurements of at least 2 levels (got ${groups.size})`);

  const fitted = [...groups.entries()].map(([name, values]) => {
    if (values.length < 2)
      throw new InputError(
        `${label}: level "${name}" has ${values.length} measurement; a fit needs at least 2`,
      );
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sigma = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
    const spec: LevelSpec = opts.empirical ? { samples: [...values].sort((a, b) => a - b) } : { mean, sigma };
    return { name, mean, spec };
  });
  fitted.sort((a, b) => a.mean - b.mean);
  const si = dimension === 'current' ? 'A' : 'S';
  if (unitless)
    opts.warn?.(
      `${label}: ${unitless} ${dimension} values have no unit and were read in ${si} (first at ${firstUnitless}); write e.g. "12.5 uA" to be explicit`,
    );
  for (const f of fitted)
    if (f.mean < PLAUSIBLE_SIEMENS[0] || f.mean > PLAUSIBLE_SIEMENS[1])
      opts.warn?.(
        `${label}: level "${f.name}" has a mean conductance of ${f.mean.toExponential(3)} S, outside the plausible 1 nS .. 10 mS (a unit mistake?)`,
      );

  const source: CardSource =
    typeof opts.source === 'string'
      ? { citation: opts.source, status: opts.empirical ? 'measured' : 'fitted' }
      : { ...opts.source };
  const card: Record<string, unknown> = {
    name: opts.name,
    kind: 'multilevel',
    description:
      opts.description ??
      `${opts.empirical ? 'empirical levels' : 'Gaussian fit'} from ${label}; levels in order: ${fitted.map((f) => f.name).join(', ')}`,
    source,
    vRead,
    levels: fitted.map((f) => f.spec),
  };
  if (opts.floor !== undefined)
    card.floor = parseQuantity(opts.floor, ['conductance'], 'fit options', 'floor').si;
  return parseDeviceCard(card, `fitted card ${opts.name}`) as MultilevelCard;
}
