/**
 * Ctrl-C and SIGTERM for long-running commands. The first signal asks the
 * running loop to stop at its next step boundary (it checkpoints and the
 * command prints how to resume); a second one exits at once with 130, which
 * is safe because checkpoints are written atomically: the last one stays
 * valid.
 *
 * Loops must be cooperative for this to work: they await `yieldNow()`
 * (src/util/async.ts) between steps so the signal handler gets to run. The
 * second signal does not depend on that when the native addon is loaded: it
 * exits from a native handler in front of Node's (armSignalExit), so a run
 * stuck in a user's own code still quits.
 */
import { UserError } from '../util/errors.ts';
import { armSignalExit, disarmSignalExit } from '../tensor/kernels/native.ts';

export interface Interrupt {
  /** True once SIGINT or SIGTERM arrived. */
  readonly requested: boolean;
  /** The signal that arrived, for the exit code (130 SIGINT, 143 SIGTERM). */
  readonly signal: NodeJS.Signals | null;
  /** Removes the handlers (Node's default behaviour returns). */
  dispose(): void;
}

/**
 * Installs the handlers. `onFirst` is told when the first signal arrives
 * (e.g. to print "stopping after this step"), on stderr by default.
 */
export function onInterrupt(onFirst: (signal: NodeJS.Signals) => void = (s) => process.stderr.write(`\n${s}: stopping after this step and saving a checkpoint (press Ctrl-C again to quit at once)\n`)): Interrupt {
  let signal: NodeJS.Signals | null = null;
  const handler = (s: NodeJS.Signals): void => {
    if (signal !== null) process.exit(exitCode(s)); // second signal: leave now; the last checkpoint is intact
    signal = s;
    onFirst(s);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  armSignalExit(); // after Node's handlers exist: the second signal then exits even if JS never gets to run
  return {
    get requested() {
      return signal !== null;
    },
    get signal() {
      return signal;
    },
    dispose() {
      disarmSignalExit();
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * onInterrupt for servers: `stopped` settles at the first signal, when the
 * server should finish the requests in flight, close and exit 0; a second
 * signal quits at once. Install it before anything slow (loading a model or
 * environments), so a signal during start-up still stops cleanly.
 */
export function untilInterrupt(): Interrupt & { readonly stopped: Promise<void> } {
  let done!: () => void;
  const stopped = new Promise<void>((resolve) => (done = resolve));
  const interrupt = onInterrupt((signal) => {
    process.stderr.write(`\n${signal}: stopping (finishing requests in flight; press Ctrl-C again to quit at once)\n`);
    done();
  });
  return Object.assign(interrupt, { stopped });
}

/** The conventional exit code for a signal: 128 + its number. */
export function exitCode(signal: NodeJS.Signals | null): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

/**
 * A run that stops on an error (a full disk, a write error) after it saved a
 * checkpoint can be resumed once the cause is fixed: the checkpoint is
 * written atomically, and resuming drops whatever was logged after it. Says
 * so under the error's message.
 */
export function resumable(err: unknown, run: { hasCheckpoint(): boolean }, resumeCommand: string): unknown {
  if (!(err instanceof UserError) || !run.hasCheckpoint()) return err;
  return new UserError(`${err.message}\nthe last checkpoint and what was stored up to it are intact; once that is fixed, continue with: ${resumeCommand}`);
}
