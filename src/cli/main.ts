/**
 * The flywheel CLI. Each command lives in its own module exporting
 * `register(program)`; a command's action imports its heavy implementation
 * lazily, so `flywheel --help` stays fast.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../util/errors.ts';
import { register as registerEnvs } from './envs.ts';
import { register as registerTrain } from './train.ts';
import { register as registerDoctor } from './doctor.ts';

const program = new Command();
program
  .name('flywheel')
  .description('Pretraining, SFT and RL against verifiers, end to end on a CPU.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerTrain(program);
registerEnvs(program);
registerDoctor(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}

/** Prints an error the way a user should see it; returns the exit code. */
function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (or help); keep its exit code
    return err.exitCode;
  }
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`internal error (please report): ${err instanceof Error ? err.stack : String(err)}\n`);
  return 2;
}
