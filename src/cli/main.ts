/**
 * The flywheel CLI. Each command lives in its own module exporting
 * `register(program)`; a command's action imports its heavy implementation
 * lazily, so `flywheel --help` stays fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UserError } from '../util/errors.ts';
import { register as registerEnvs } from './envs.ts';
import { register as registerTrain } from './train.ts';
import { register as registerDoctor } from './doctor.ts';
import { register as registerRL } from './rl.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerRuns } from './runs.ts';
import { register as registerEnvServer } from './env_server.ts';
import { register as registerSelfPlay } from './selfplay.ts';
import { register as registerPlay } from './play.ts';
import { register as registerServe } from './serve.ts';
import { register as registerExport } from './export.ts';

// `flywheel runs list | head`: the reader left, so there is no one to write
// to; stop quietly, as Unix tools do, instead of an unhandled EPIPE trace.
// (Commands print results to stdout only when their work is done and saved.)
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const program = new Command();
program
  .name('flywheel')
  .description('Pretraining, SFT and RL against verifiers, end to end on a CPU.')
  .version(pkg.version, '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerTrain(program);
registerRL(program);
registerDemo(program);
registerRuns(program);
registerEnvs(program);
registerDoctor(program);
registerEnvServer(program);
registerSelfPlay(program);
registerPlay(program);
registerServe(program);
registerExport(program);

try {
  checkCommand(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}

/**
 * An unknown command is an error in every form (`flywheel serve`, `flywheel
 * serve --help`, `flywheel help serve`): commander would print the top-level
 * help for some of them and exit 0, or exit 1 without a word.
 */
function checkCommand(args: string[]): void {
  const words = args.filter((a) => !a.startsWith('-'));
  if (words.length === 0) return;
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]).concat('help');
  const name = words[0] === 'help' ? words[1] : words[0];
  if (name === undefined || known.includes(name)) return;
  const near = known.filter((k) => k.startsWith(name.slice(0, 2)) || name.startsWith(k));
  throw new UserError(`unknown command '${name}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; \`flywheel --help\` lists the commands`);
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
