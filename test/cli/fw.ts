// Running the flywheel CLI as a real child process, for the CLI tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flywheel.js');

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** `flywheel ...args` with extra environment variables, to completion (2 min at most). */
export function fwEnv(env: Record<string, string>, ...args: string[]): Ran {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `flywheel ...args`, to completion (2 min at most). */
export function fw(...args: string[]): Ran {
  return fwEnv({}, ...args);
}

/** A user mistake: exit 1, a message matching `re`, and no stack trace. */
export function userError(r: Ran, re: RegExp): void {
  assert.equal(r.code, 1, `exit code (stderr: ${r.err})`);
  assert.match(r.err, re);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
}
