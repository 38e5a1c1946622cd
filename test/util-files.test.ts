/** Result files are written whole or not at all. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic, writeFilesAtomic } from '../src/util/files';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xbarsim-files-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a set of files appears together, replacing older ones, with no temporary left', () => {
  const a = path.join(tmp, 'r.json');
  const b = path.join(tmp, 'sub', 'r.csv');
  writeFileAtomic(a, 'old');
  writeFilesAtomic([
    [a, '{"x":1}'],
    [b, 'x\n1\n'],
  ]);
  expect(fs.readFileSync(a, 'utf8')).toBe('{"x":1}');
  expect(fs.readFileSync(b, 'utf8')).toBe('x\n1\n');
  expect(fs.readdirSync(tmp).sort()).toEqual(['r.json', 'sub']);
});

test('when one file cannot be written, none is, and an older file stays as it was', () => {
  const a = path.join(tmp, 'r.json');
  writeFileAtomic(a, 'old');
  fs.writeFileSync(path.join(tmp, 'blocker'), 'a file where a directory should be');
  expect(() =>
    writeFilesAtomic([
      [a, 'new'],
      [path.join(tmp, 'blocker', 'r.csv'), 'x'],
    ]),
  ).toThrow(/blocker/);
  expect(fs.readFileSync(a, 'utf8')).toBe('old');
  expect(fs.readdirSync(tmp).sort()).toEqual(['blocker', 'r.json']);
});
