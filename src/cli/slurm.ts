/**
 * `xbarsim study NAME --slurm N [--submit]`: write the study's Slurm array script and its report job
 * into the study directory and, with --submit, hand both to sbatch (the report after every task).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { writeFilesAtomic } from '../util/files';
import {
  REPORT_SCRIPT,
  SLURM_DIR,
  STUDY_SCRIPT,
  type SlurmPlan,
  slurmReportScript,
  slurmStudyScript,
} from '../study/cluster';

/** Write the two scripts (refusing to replace different ones unless `force`); returns their paths. */
export function writeSlurmScripts(plan: SlurmPlan, force: boolean): { study: string; report: string } {
  const dir = path.join(plan.out, SLURM_DIR);
  const files: Array<[string, string]> = [
    [path.join(dir, STUDY_SCRIPT), slurmStudyScript(plan)],
    [path.join(dir, REPORT_SCRIPT), slurmReportScript(plan)],
  ];
  for (const [file, text] of files)
    if (!force && fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== text)
      throw new InputError(
        `${file} exists and runs something else (other flags, task count or xbarsim); give --force to replace it, or another --out`,
      );
  // Both or neither; sbatch needs the log directory to exist.
  writeFilesAtomic(files);
  return { study: files[0][0], report: files[1][0] };
}

function sbatch(args: string[], cwd: string): string {
  let out: string;
  try {
    out = execFileSync('sbatch', ['--parsable', ...args], {
      cwd,
      encoding: 'utf8',
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new InputError('flag --submit: sbatch not found on PATH (run on a Slurm login node)');
    throw new InputError(
      `flag --submit: sbatch ${args.join(' ')} failed: ${String(e.stderr ?? e.message).trim()}`,
    );
  }
  // --parsable prints "jobid" or "jobid;cluster".
  const id = out.trim().split(';')[0];
  if (!/^[0-9]+$/.test(id)) throw new Error(`sbatch printed no job id: ${JSON.stringify(out)}`);
  return id;
}

/** Submit the array, then the report job after it; returns both job ids. */
export function submitSlurm(scripts: { study: string; report: string }, cwd: string): [string, string] {
  const array = sbatch([scripts.study], cwd);
  const report = sbatch([`--dependency=afterok:${array}`, scripts.report], cwd);
  return [array, report];
}
