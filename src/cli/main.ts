#!/usr/bin/env node
/** xbarsim command line. Each command lives in its own module; errors exit 2 for bad input, else 1. */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from '../util/errors';
import { packageVersion } from './common';
import { registerTrain } from './train';
import { registerEvaluate } from './evaluate';
import { registerSimulate } from './simulate';
import { registerStudy } from './study';
import { registerAdcBits } from './adcBits';
import { registerDevice } from './device';
import { registerCost } from './cost';

function buildProgram(): Command {
  const program = new Command('xbarsim')
    .description('Monte-Carlo simulator of neural-network inference on analog resistive crossbars')
    .version(packageVersion())
    // Commander's own errors (unknown option, missing flag) as one line like ours; subcommands inherit.
    .configureOutput({
      outputError: (text, write) => write(`xbarsim: ${text.trim()} (see --help)\n`),
    })
    .exitOverride();
  registerTrain(program);
  registerEvaluate(program);
  registerSimulate(program);
  registerAdcBits(program);
  registerDevice(program);
  registerCost(program);
  registerStudy(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander already printed its message.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`xbarsim: error: ${(err as Error).message}\n`);
    if (process.env.XBARSIM_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return exitCodeOf(err);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
