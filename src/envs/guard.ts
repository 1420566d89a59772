/**
 * guardUserEntry(entry, file): the same environment, but every call into the
 * user's code that throws (or whose promise rejects) becomes a UserError that
 * names the file, the function and, when the stack shows it, the line:
 *
 *   error: ./my_env.ts: generate() threw TypeError: x is undefined (at my_env.ts:12:7)
 *
 * and a generate() or reset() that returns a Promise is an error saying it
 * must be synchronous. Used by the CLI for user files (a throw in a built-in
 * stays an internal error); the conformance suite checks the raw entry,
 * since it expects RangeErrors and reports throws as failed checks.
 */
import { UserError } from '../util/errors.ts';
import type { EnvEntry } from './types.ts';

const SYNC = new Set(['generate', 'reset', 'step', 'create', 'solve', 'demonstrate', 'isHard', 'initial', 'play', 'legalMoves', 'result', 'key', 'render']);

export function guardUserEntry(entry: EnvEntry, file: string): EnvEntry {
  if (entry.kind === 'game') return { kind: 'game', game: wrapAll(entry.game, file, '') };
  if (entry.kind === 'task') return { kind: 'task', family: wrapAll(entry.family, file, '') };
  const family = wrapAll(entry.family, file, '');
  const create = family.create;
  return { kind: 'multiturn', family: { ...family, create: () => wrapAll(create(), file, 'episode.') } };
}

/** A copy of `obj` whose function members are wrapped by `guard`. */
function wrapAll<T extends object>(obj: T, file: string, prefix: string): T {
  const out: Record<string, unknown> = {};
  const src = obj as Record<string, unknown>;
  for (const key of new Set([...Object.keys(src), ...Object.getOwnPropertyNames(Object.getPrototypeOf(obj) ?? {})])) {
    if (key === 'constructor') continue;
    const v = src[key];
    out[key] = typeof v === 'function' ? guard(v as (...a: unknown[]) => unknown, obj, file, `${prefix}${key}`) : v;
  }
  return out as T;
}

function guard(fn: (...a: unknown[]) => unknown, self: object, file: string, name: string): (...a: unknown[]) => unknown {
  return (...args) => {
    let r: unknown;
    try {
      r = fn.apply(self, args);
    } catch (err) {
      throw blame(err, file, name);
    }
    if (r instanceof Promise) {
      if (SYNC.has(name.replace(/^episode\./, ''))) {
        r.catch(() => undefined);
        throw new UserError(`${file}: ${name}() returned a Promise; it must return its result synchronously (no async, no await)`);
      }
      return r.catch((err: unknown) => {
        throw blame(err, file, name);
      });
    }
    return r;
  };
}

function blame(err: unknown, file: string, name: string): UserError {
  if (err instanceof UserError) return err;
  const what = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0].slice(0, 300)}` : String(err).slice(0, 300);
  const base = file.replace(/^.*[\\/]/, '');
  const frame = err instanceof Error ? err.stack?.split('\n').find((l) => l.includes(base)) : undefined;
  const loc = frame?.match(/([^\s(/\\]+\.m?[jt]s)(?:\?[^:)]*)?:(\d+):(\d+)/);
  return new UserError(`${file}: ${name}() threw ${what}${loc ? ` (at ${loc[1]}:${loc[2]}:${loc[3]})` : ''}`);
}
