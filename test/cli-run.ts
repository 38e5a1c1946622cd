/**
 * Run the built CLI in-process (dist/src/cli/main.js: one module load for all cases; its version lookup
 * needs the dist layout, and trial workers run from dist/ anyway), capturing stdout and stderr.
 * `npm run build` first (npm test does).
 */
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const BIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(BIN) as { main: (argv: string[]) => Promise<number> };

export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const o = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => (stdout.push(String(chunk)), true));
  const e = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
