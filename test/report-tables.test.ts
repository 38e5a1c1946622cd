import { formatNumber, markdownTable, toCsv, tidyCsv } from '../src/report/tables';
import { InputError } from '../src/util/errors';

describe('formatNumber', () => {
  test.each([
    [42, '42'],
    [-3, '-3'],
    [1234567, '1234567'],
    [0.97342, '0.9734'],
    [0.5, '0.5'],
    [12.3456, '12.35'],
    [1234.5678, '1235'],
    [0.0012346, '0.001235'],
    [0.00001234, '1.234e-5'],
    [2.5e7 + 0.5, '2.5e7'],
    [-0, '0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ])('%p -> %p', (v, s) => expect(formatNumber(v)).toBe(s));
});

describe('markdownTable', () => {
  test('padded columns, numbers right-aligned and formatted', () => {
    expect(
      markdownTable(
        ['network', 'accuracy', 'n'],
        [
          ['MLP', 0.97342, 20],
          ['CNN + batch norm', 0.5, 3],
        ],
      ),
    ).toBe(
      '| network          | accuracy |   n |\n' +
        '| ---------------- | -------: | --: |\n' +
        '| MLP              |   0.9734 |  20 |\n' +
        '| CNN + batch norm |      0.5 |   3 |\n',
    );
  });

  test('pipes are escaped and newlines become <br>; mixed columns stay left-aligned', () => {
    expect(
      markdownTable(
        ['a|b', 'c'],
        [
          ['x\ny', 1],
          [2, 'z'],
        ],
      ),
    ).toBe('| a\\|b   | c   |\n' + '| ------ | --- |\n' + '| x<br>y | 1   |\n' + '| 2      | z   |\n');
  });

  test('a row of the wrong length is an InputError', () => {
    expect(() => markdownTable(['a', 'b'], [[1]])).toThrow(InputError);
    expect(() => markdownTable([], [])).toThrow(InputError);
  });
});

describe('toCsv', () => {
  test('columns are the union of keys in first-seen order; missing values are empty', () => {
    expect(toCsv([{ a: 1, b: 2 }, { c: 3, a: 4 }, { b: 5 }])).toBe('a,b,c\n1,2,\n4,,3\n,5,\n');
  });

  test('RFC 4180 quoting of commas, quotes and line breaks', () => {
    expect(toCsv([{ name: 'MLP, 2 layers', note: 'said "hi"', text: 'line1\nline2', plain: 'ok' }])).toBe(
      'name,note,text,plain\n"MLP, 2 layers","said ""hi""","line1\nline2",ok\n',
    );
  });

  test('header names are quoted too; numbers keep full precision; null and booleans', () => {
    expect(toCsv([{ 'a,b': 0.1 + 0.2, flag: true, none: null, arr: [1, 2] }])).toBe(
      '"a,b",flag,none,arr\n0.30000000000000004,true,,"[1,2]"\n',
    );
  });

  test('no rows gives an empty string', () => {
    expect(toCsv([])).toBe('');
  });
});

test('tidyCsv: one row per trial, per-layer arrays as columns, nested objects left out', () => {
  const csv = tidyCsv([
    { key: 'a', mean: 0.5, perTrial: [0.4, 0.6], clipRate: [0.1, 0.2], provenance: { x: 'h' } },
    { key: 'b', mean: 0.7, clipRate: [0, null] },
  ]);
  expect(csv).toBe(
    'key,mean,clipRate_0,clipRate_1,trial,trialAccuracy\na,0.5,0.1,0.2,0,0.4\na,0.5,0.1,0.2,1,0.6\nb,0.7,0,,,\n',
  );
});
