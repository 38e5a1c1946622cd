/** Engineering notation for messages and tables: 1.25e-4, 'S' -> "125 uS". */
const PREFIXES: Array<[number, string]> = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'u'],
  [1e-9, 'n'],
  [1e-12, 'p'],
];

export function formatSi(value: number, unitSymbol: string, digits = 4): string {
  if (value === 0 || !Number.isFinite(value)) return `${value} ${unitSymbol}`;
  const abs = Math.abs(value);
  const [scale, prefix] = PREFIXES.find(([s]) => abs >= s * 0.9995) ?? PREFIXES[PREFIXES.length - 1];
  return `${Number((value / scale).toPrecision(digits))} ${prefix}${unitSymbol}`;
}
