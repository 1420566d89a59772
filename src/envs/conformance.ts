/**
 * The shared conformance suite, in the spirit of Gymnasium's check_env: every
 * environment (built-in or a user's own file) is held to the same contract.
 *
 *   checkTaskFamily(family)      single-turn families (determinism, solver,
 *                                mistakes, junk completions, difficulty)
 *   checkMultiTurnFamily(family) text episodes (determinism, reference policy,
 *                                junk actions, episode length)
 *   checkGame(game)              two-player games (playouts, legality,
 *                                encoding, keys, determinism)
 *
 * Each returns a ConformanceReport listing every check with pass/fail and a
 * message; nothing throws, even when the environment under test does (a throw
 * is a failed check whose message names it). assertConformance(report) turns
 * a report into an AssertionError for tests. This module imports no registry,
 * so families can be checked before they are registered.
 */
import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import { Rng } from '../util/rng.ts';
import type { Task, TaskFamily, Verdict } from './types.ts';
import {
  CheckList,
  describeError,
  expectRangeError,
  JUNK_COMPLETIONS,
  levels,
  metadataProblems,
  short,
  verdictProblem,
  type ConformanceOptions,
  type ConformanceReport,
} from './conformance_base.ts';

export { checkGame, checkMultiTurnFamily } from './conformance_episodes.ts';
export { JUNK_COMPLETIONS, type Check, type ConformanceOptions, type ConformanceReport } from './conformance_base.ts';

// ------------------------------------------------------------------ task families

type Graded = { verdict: Verdict } | { problem: string };
type Grader = (task: Task, completion: string) => Promise<Graded>;

/**
 * Wraps verify() with a time limit: a throw, a timeout or a malformed verdict
 * is a problem, never an exception. After one timeout the verifier counts as
 * hung and later calls fail at once, so a hung verifier costs one time limit.
 */
function makeGrader(family: TaskFamily, timeoutMs: number): Grader {
  let hung = false;
  return async (task, completion) => {
    if (hung) return { problem: 'skipped: verify hung earlier' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          hung = true;
          reject(new Error(`verify did not settle within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      const v = await Promise.race([Promise.resolve().then(() => family.verify(task, completion)), timeout]);
      const problem = verdictProblem(v);
      return problem ? { problem } : { verdict: v };
    } catch (err) {
      return { problem: `verify threw ${describeError(err)}` };
    } finally {
      clearTimeout(timer);
    }
  };
}

export async function checkTaskFamily(family: TaskFamily, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const N = opts.seeds ?? 6;
  const statSeeds = opts.statSeeds ?? 24;
  const grade = makeGrader(family, opts.verifyTimeoutMs ?? 10_000);
  const list = new CheckList();
  const id = typeof family?.id === 'string' ? family.id : '(no id)';

  await list.run('metadata (id, description, difficulty, errorKinds)', (bad) => {
    for (const p of metadataProblems(family, true)) bad(p);
    const kinds = family.errorKinds;
    if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => typeof k === 'string' && k !== ''))
      bad(`errorKinds must be a non-empty list of names, got ${JSON.stringify(kinds)}`);
    else {
      if (!kinds.includes('systematic')) bad(`errorKinds ${JSON.stringify(kinds)} lacks 'systematic'`);
      if (new Set(kinds).size !== kinds.length) bad(`errorKinds ${JSON.stringify(kinds)} has duplicates`);
    }
  });
  if (!list.checks[0].ok) return list.report(id, 'task'); // nothing else is meaningful
  const L = levels(family.difficulty);

  await list.run('generate returns a Task synchronously', (bad) => {
    const t: unknown = family.generate(0, family.difficulty.default);
    if (t instanceof Promise || typeof (t as { then?: unknown })?.then === 'function') {
      (t as Promise<unknown>).then?.(undefined, () => undefined);
      bad('generate returned a Promise (an async function?); it must return the Task itself: generate(seed, difficulty) => ({ env, seed, difficulty, prompt, answer, meta })');
    } else if (typeof t !== 'object' || t === null) bad(`generate returned ${t === null ? 'null' : typeof t}, not a Task object`);
  });
  if (!list.checks[1].ok) return list.report(id, 'task'); // every other check would fail for the same reason

  await list.run('generate is deterministic and tasks round-trip through JSON', (bad) => {
    for (const d of L)
      for (let seed = 0; seed < N; seed++) {
        const a = family.generate(seed, d);
        const b = family.generate(seed, d);
        const where = `seed ${seed}, difficulty ${d}`;
        if (!isDeepStrictEqual(a, b)) bad(`${where}: two calls gave different tasks`);
        if (!isDeepStrictEqual(JSON.parse(JSON.stringify(a)), a)) bad(`${where}: task changes through JSON (undefined, NaN, class instance?)`);
        if (a.env !== family.id || a.seed !== seed || a.difficulty !== d)
          bad(`${where}: task says env ${JSON.stringify(a.env)}, seed ${a.seed}, difficulty ${a.difficulty}`);
        if (typeof a.prompt !== 'string' || a.prompt.trim() === '') bad(`${where}: empty prompt`);
        if (typeof a.answer !== 'string') bad(`${where}: answer is not a string`);
        if (typeof a.meta !== 'object' || a.meta === null || Array.isArray(a.meta)) bad(`${where}: meta is not an object`);
      }
    return `${L.length} difficulties x ${N} seeds`;
  });

  await list.run('different seeds give different tasks', (bad) => {
    let distinct = 0;
    for (const d of L) {
      const prompts = new Set<string>();
      for (let seed = 0; seed < N; seed++) prompts.add(family.generate(seed, d).prompt);
      if (N >= 2 && prompts.size < 2) bad(`difficulty ${d}: all ${N} seeds gave the same prompt`);
      distinct += prompts.size;
    }
    if (distinct < (L.length * N) / 2) bad(`only ${distinct} distinct prompts from ${L.length * N} (seed, difficulty) pairs`);
  });

  await list.run('the reference solver verifies', async (bad) => {
    for (const d of L)
      for (let seed = 0; seed < N; seed++) {
        const task = family.generate(seed, d);
        const g = await grade(task, family.solve(task));
        if ('problem' in g) bad(`seed ${seed}, difficulty ${d}: ${g.problem}`);
        else if (!g.verdict.ok) bad(`seed ${seed}, difficulty ${d}: solve() got ${g.verdict.reason} ${g.verdict.detail ?? ''}`.trim());
      }
    return `${L.length} difficulties x ${N} seeds`;
  });

  await list.run('mistakes never verify; systematic ones are deterministic', async (bad) => {
    const tasks = Array.from({ length: N }, (_, i) => family.generate(1000 + i, L[i % L.length]));
    for (const kind of family.errorKinds)
      for (const [i, task] of tasks.entries()) {
        const where = `kind '${kind}', seed ${task.seed}, difficulty ${task.difficulty}`;
        const wrong = family.mistake(task, kind, new Rng(i));
        if (typeof wrong !== 'string') {
          bad(`${where}: mistake() returned ${typeof wrong}`);
          continue;
        }
        const g = await grade(task, wrong);
        if ('problem' in g) bad(`${where}: ${g.problem}`);
        else if (g.verdict.ok || g.verdict.reward >= 1) bad(`${where}: mistake ${short(wrong)} verifies`);
        if (kind === 'systematic' && family.mistake(task, kind, new Rng(i + 7919)) !== wrong)
          bad(`${where}: two calls with different rngs gave different systematic mistakes`);
      }
    return `${family.errorKinds.length} kinds x ${tasks.length} tasks`;
  });

  await list.run('junk completions get reward 0 with a reason and never throw', async (bad) => {
    // each junk completion on one task, rotating over the easiest, default and hardest levels
    const tasks = [...new Set([L[0], family.difficulty.default, L[L.length - 1]])].map((d) => family.generate(7, d));
    for (const [i, [label, text]] of JUNK_COMPLETIONS.entries()) {
      const task = tasks[i % tasks.length];
      const g = await grade(task, text);
      if ('problem' in g) bad(`${label} (difficulty ${task.difficulty}): ${g.problem}`);
      else if (g.verdict.ok || g.verdict.reward !== 0) bad(`${label} (difficulty ${task.difficulty}): reward ${g.verdict.reward}`);
    }
    return `${JUNK_COMPLETIONS.length} junk completions`;
  });

  await list.run('a bad difficulty throws RangeError', (bad) => {
    const { min, max } = family.difficulty;
    for (const d of [min - 1, max + 1, min + 0.5, Number.NaN]) {
      const p = expectRangeError(`generate(0, ${d})`, () => family.generate(0, d));
      if (p) bad(p);
    }
  });

  await list.run('mean stat() rises with difficulty', (bad) => {
    const means = L.map((d) => {
      let sum = 0;
      for (let seed = 0; seed < statSeeds; seed++) {
        const s = family.stat(family.generate(seed, d));
        if (typeof s !== 'number' || !Number.isFinite(s)) throw new Error(`stat() returned ${s} at seed ${seed}, difficulty ${d}`);
        sum += s;
      }
      return sum / statSeeds;
    });
    const shown = means.map((m, i) => `${L[i]}: ${m.toFixed(2)}`).join(', ');
    for (let i = 1; i < means.length; i++) if (!(means[i] > means[i - 1])) bad(`mean stat does not rise from difficulty ${L[i - 1]} to ${L[i]} (${shown})`);
    return shown;
  });

  await list.run('isHard() is true for some and false for some tasks at default difficulty and above', (bad) => {
    let hard = 0;
    let total = 0;
    for (const d of L.filter((l) => l >= family.difficulty.default))
      for (let seed = 0; seed < statSeeds; seed++, total++) if (family.isHard(family.generate(seed, d)) === true) hard++;
    if (hard === 0 || hard === total) bad(`isHard was ${hard === 0 ? 'false' : 'true'} for all ${total} tasks`);
    return `${hard} of ${total} hard`;
  });

  return list.report(id, 'task');
}

// ------------------------------------------------------------------ reporting

/** One line per check: 'ok    name (message)' or 'FAIL  name: message'. */
export function formatReport(report: ConformanceReport): string {
  const lines = report.checks.map((c) => (c.ok ? `ok    ${c.name}${c.message ? ` (${c.message})` : ''}` : `FAIL  ${c.name}: ${c.message}`));
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? `${report.env}: all ${report.checks.length} checks passed` : `${report.env}: ${failed} of ${report.checks.length} checks failed`);
  return lines.join('\n');
}

/** For tests: throws an AssertionError listing every failed check. */
export function assertConformance(report: ConformanceReport): void {
  if (report.ok) return;
  const failures = report.checks.filter((c) => !c.ok).map((c) => `  - ${c.name}: ${c.message}`);
  throw new AssertionError({ message: `${report.env} fails conformance:\n${failures.join('\n')}` });
}
