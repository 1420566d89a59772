/**
 * Shared machinery of the conformance suite (see conformance.ts): the report
 * types, the check list that turns throws into failed checks, the junk
 * completions, and shape checks for metadata, verdicts and step results.
 */
import type { StepResult, Verdict } from './types.ts';

/** One check's outcome. message says what failed (or, on a pass, what was covered). */
export interface Check {
  name: string;
  ok: boolean;
  message: string;
}

export interface ConformanceReport {
  env: string; // the id under test
  kind: 'task' | 'multiturn' | 'game';
  ok: boolean; // every check passed
  checks: Check[];
}

/** How hard to look. Lower the counts for slow verifiers (e.g. a sandboxed code runner). */
export interface ConformanceOptions {
  seeds?: number; // N: seeds per difficulty (determinism, reference solver) and tasks per error kind (default 6)
  statSeeds?: number; // seeds per difficulty for the stat() and isHard() checks; generate only (default 24)
  playouts?: number; // random playouts per game (default 16)
  verifyTimeoutMs?: number; // a verify() promise slower than this fails its check (default 10000)
}

/** Completions that must all get reward 0 with a reason, and never a throw. */
export const JUNK_COMPLETIONS: readonly (readonly [label: string, text: string])[] = [
  ['empty', ''],
  ['whitespace', ' \n\t  \r\n '],
  ['junk text', 'asdf qwerty ;;; }{ <|endoftext|> lorem ipsum'],
  ['"Answer:" with nothing after', 'Let me think. Answer:'],
  ['"Answer:" then a newline', 'Answer:   \nthat is all'],
  ['lone surrogates', 'Answer: \uD800 x\uDFFF \uD83D'],
  ['RTL marks', 'Answer: \u202Eabc\u202C\u200F'],
  ['emoji', 'Answer: 🤖🔥👍🏽'],
  ['NUL bytes', 'Answer: \u0000\u0000 \u0000'],
  ['NaN', 'Answer: NaN'],
  ['10,000-digit number', `Answer: ${'9'.repeat(10_000)}`],
  ['1 MB of text', 'all work and no play '.repeat(50_000)],
  ['1 MB answer line', `Answer: ${'ab'.repeat(524_288)}`],
];

export const ID_PATTERN = /^[a-z0-9]+(?:[-_][a-z0-9]+)*-v[0-9]+$/;

// ------------------------------------------------------------------ shared machinery

/** Collects checks; a check function reports problems through `bad` and may return a pass message. */
export class CheckList {
  readonly checks: Check[] = [];

  async run(name: string, fn: (bad: (problem: string) => void) => unknown): Promise<void> {
    const problems: string[] = [];
    let passMessage = '';
    try {
      const r = await fn((p) => problems.push(p));
      if (typeof r === 'string') passMessage = r;
    } catch (err) {
      problems.push(`threw ${describeError(err)}`);
    }
    const shown = problems.slice(0, 3).join('; ');
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    this.checks.push({ name, ok: problems.length === 0, message: problems.length ? shown + more : passMessage });
  }

  report(env: string, kind: ConformanceReport['kind']): ConformanceReport {
    return { env, kind, ok: this.checks.every((c) => c.ok), checks: this.checks };
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 300)}`;
  return String(err).slice(0, 300);
}

/** Calls fn, expecting it to throw RangeError; returns a problem or null. */
export function expectRangeError(what: string, fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    return err instanceof RangeError ? null : `${what} threw ${describeError(err)}, expected a RangeError`;
  }
  return `${what} did not throw a RangeError`;
}

/** Problems with the shared metadata (id, description, difficulty range); empty when fine. */
export function metadataProblems(x: { id: unknown; description: unknown; difficulty?: unknown }, hasDifficulty: boolean): string[] {
  const out: string[] = [];
  if (typeof x.id !== 'string' || !ID_PATTERN.test(x.id)) out.push(`id ${JSON.stringify(x.id)} is not a versioned id like 'name-v1'`);
  if (typeof x.description !== 'string' || x.description.trim() === '') out.push('description is empty');
  else if (x.description.includes('\n')) out.push('description should be one line');
  if (hasDifficulty) {
    const d = x.difficulty as { min?: unknown; max?: unknown; default?: unknown } | undefined;
    const ints = d && [d.min, d.max, d.default].every((v) => Number.isInteger(v));
    if (!ints) out.push(`difficulty ${JSON.stringify(d)} needs integer min, max and default`);
    else if (!((d.min as number) <= (d.default as number) && (d.default as number) <= (d.max as number)))
      out.push(`difficulty needs min <= default <= max, got ${JSON.stringify(d)}`);
  }
  return out;
}

/** The integer levels min..max of a range. */
export function levels(d: { min: number; max: number }): number[] {
  const out: number[] = [];
  for (let l = d.min; l <= d.max; l++) out.push(l);
  return out;
}

/** Problems with a verdict's shape; null when it is a well-formed Verdict. */
export function verdictProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return `verdict is ${v === null ? 'null' : typeof v}, not an object`;
  const { reward, ok, reason } = v as Verdict;
  if (typeof reward !== 'number' || !Number.isFinite(reward) || reward < 0 || reward > 1) return `reward ${reward} is not a number in [0, 1]`;
  if (typeof ok !== 'boolean') return `ok is ${typeof ok}, not a boolean`;
  if (ok && reward !== 1) return `ok is true but reward is ${reward}`;
  if (typeof reason !== 'string' || reason === '') return 'reason is empty';
  return null;
}

/** Problems with a step result's shape; null when fine. */
export function stepProblem(r: unknown): string | null {
  if (r instanceof Promise) return 'step() returned a Promise; it must return its StepResult synchronously';
  if (typeof r !== 'object' || r === null) return `step result is ${typeof r}, not an object`;
  const { observation, reward, done, info } = r as StepResult;
  if (typeof observation !== 'string') return `observation is ${typeof observation}, not a string`;
  if (typeof reward !== 'number' || !Number.isFinite(reward)) return `reward ${reward} is not a finite number`;
  if (typeof done !== 'boolean') return `done is ${typeof done}, not a boolean`;
  if (typeof info !== 'object' || info === null) return 'info is not an object';
  return null;
}

export function short(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}
