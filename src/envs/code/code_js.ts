/**
 * code-js-v1: write a small JavaScript function from a specification; graded
 * by running it against hidden tests in a sandbox.
 *
 *   prompt      the signature, a one-line spec, two examples, and the format
 *   completion  JavaScript source defining the function (see extractCode)
 *   reward      fraction of the task's tests passed; ok only when all pass
 *
 * A task is one problem of the bank (problems.ts, problems_hard.ts) at the
 * requested difficulty, with 8 + difficulty tests: the problem's fixed edge
 * cases plus random inputs drawn from the seed, expected outputs computed by
 * running the reference solution on the host (trusted code, ours).
 *
 * Demonstrator mistakes are edits of the reference solution: 'off_by_one',
 * 'wrong_op', 'syntax' (a dropped brace, a missing parenthesis, a typo'd
 * keyword) and 'systematic' (the problem's edge-case blind spot: fails on the
 * empty input, on n < 2, on subtractive roman numerals, ...). Hard tasks are
 * difficulty 4 and 5. stat() is the length of the reference solution in
 * non-space characters.
 *
 * Verdict reasons: correct | wrong | runtime_error | syntax_error |
 * missing_function | timeout | memory_limit | blocked | sandbox_error (see
 * harness.ts) and no_answer (no code) | too_long (over MAX_SOURCE_CHARS).
 */
import type { Json, Task, TaskFamily, Verdict } from '../types.ts';
import { fail } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { applyEdits, EASY_PROBLEMS, type MutantKind, type Problem } from './problems.ts';
import { HARD_PROBLEMS } from './problems_hard.ts';
import { buildHarness, gradeRun } from './harness.ts';
import { detectSandbox } from './detect.ts';
import type { Sandbox, SandboxLimits } from './sandbox.ts';

const ID = 'code-js-v1';

/** Every problem, in level order. */
export const PROBLEMS: readonly Problem[] = [...EASY_PROBLEMS, ...HARD_PROBLEMS];

/** Programs longer than this are not run (reason 'too_long'). */
export const MAX_SOURCE_CHARS = 20_000;

/** Tasks at or above this difficulty are hard (the systematic blind spot strikes). */
const HARD_LEVEL = 4;

export interface CodeJsOptions {
  sandbox?: Sandbox; // where programs run; default: detectSandbox() on first verify
  limits?: Partial<SandboxLimits>; // per-run limits; default: DEFAULT_LIMITS (2 s CPU, 4 s wall, 128 MB)
}

interface CodeMeta {
  problem: string; // Problem.name (also the function's name)
  tests: { args: Json[]; expected: Json }[];
}

/**
 * The program in a completion, in order of preference:
 *   1. the last fenced code block (a line starting with ``` opens or closes a
 *      fence; the opening line's info string, e.g. `js`, is dropped; a fence
 *      left open runs to the end);
 *   2. else everything after the last 'Answer:' marker (to the end, not just
 *      its line);
 *   3. else the whole completion.
 * Trimmed; '' means no code. Linear time.
 */
export function extractCode(completion: string): string {
  if (typeof completion !== 'string') return '';
  const lines = completion.split('\n');
  let open = -1; // index of the line after the current opening fence
  let last: [number, number] | null = null; // [first line, end line) of the last block
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trimStart().startsWith('```')) continue;
    if (open < 0) open = i + 1;
    else {
      last = [open, i];
      open = -1;
    }
  }
  if (open >= 0) last = [open, lines.length];
  if (last) return lines.slice(last[0], last[1]).join('\n').trim();
  const at = completion.lastIndexOf('Answer:');
  return (at >= 0 ? completion.slice(at + 'Answer:'.length) : completion).trim();
}

function fenced(source: string): string {
  return '```js\n' + source + '\n```';
}

const referenceCache = new Map<string, (...args: Json[]) => Json>();

/** The reference solution as a host function (our own source; never a completion). */
function reference(p: Problem): (...args: Json[]) => Json {
  let fn = referenceCache.get(p.name);
  if (!fn) {
    fn = new Function(`${p.solution}\nreturn ${p.name};`)() as (...args: Json[]) => Json;
    referenceCache.set(p.name, fn);
  }
  return fn;
}

function problemOf(task: Task): { p: Problem; meta: CodeMeta } {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const meta = task.meta as unknown as CodeMeta;
  const p = PROBLEMS.find((q) => q.name === meta.problem);
  if (!p) throw new Error(`${ID}: unknown problem ${JSON.stringify(meta.problem)}`);
  return { p, meta };
}

function prompt(p: Problem, tests: CodeMeta['tests']): string {
  const show = (t: CodeMeta['tests'][number]) => `  ${p.name}(${t.args.map((a) => JSON.stringify(a)).join(', ')}) returns ${JSON.stringify(t.expected)}`;
  return [
    `Write a JavaScript function ${p.signature}.`,
    p.spec,
    'Examples:',
    ...tests.slice(0, 2).map(show),
    'Reply with the function in a ```js code block.',
  ].join('\n');
}

/** Plausible syntax slips; each turns any solution of the bank into a SyntaxError (checked by tests). */
const SYNTAX_SLIPS: readonly ((src: string) => string)[] = [
  (src) => src.slice(0, src.lastIndexOf('}')) + src.slice(src.lastIndexOf('}') + 1), // drop the final brace
  (src) => src.replace(')', ''), // drop the first closing parenthesis
  (src) => src.replace('return ', 'retrun '), // misspell the first return
];

/** The mutant edits for a mistake kind, falling back to the problem's other mutants. */
function mutantFor(p: Problem, kind: MutantKind | 'systematic'): readonly [MutantKind, string] {
  const order: Record<string, MutantKind[]> = {
    off_by_one: ['off_by_one', 'wrong_op', 'edge_case'],
    wrong_op: ['wrong_op', 'off_by_one', 'edge_case'],
    systematic: ['edge_case', 'off_by_one', 'wrong_op'],
  };
  for (const k of order[kind]) {
    const edits = p.mutants[k];
    if (edits) return [k, applyEdits(p.solution, edits, `${p.name} ${k}`)];
  }
  throw new Error(`${ID}: problem ${p.name} has no mutants`);
}

export function createCodeJsFamily(opts: CodeJsOptions = {}): TaskFamily {
  let sandbox = opts.sandbox ?? null;

  async function runTests(p: Problem, meta: CodeMeta, completion: string): Promise<Verdict> {
    const code = extractCode(completion);
    if (code === '') return fail('no_answer', 'no code found');
    if (code.length > MAX_SOURCE_CHARS) return fail('too_long', `${code.length} characters (at most ${MAX_SOURCE_CHARS})`);
    sandbox ??= detectSandbox().sandbox;
    const program = buildHarness(code, p.name, meta.tests.map((t) => t.args));
    try {
      const run = await sandbox.run(program, opts.limits);
      return gradeRun(run, meta.tests.map((t) => t.expected), sandbox.name);
    } catch (e) {
      return fail('sandbox_error', `[${sandbox.name}] ${String(e)}`);
    }
  }

  return {
    id: ID,
    description: 'Write a small JavaScript function from a spec; run against hidden tests in a sandbox.',
    difficulty: { min: 1, max: 5, default: 3 },

    generate(seed: number, difficulty: number): Task {
      if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 5) throw new RangeError(`${ID}: difficulty must be an integer in [1, 5], got ${difficulty}`);
      const rng = new Rng(`${ID}:${seed}:${difficulty}`);
      const p = rng.pick(PROBLEMS.filter((q) => q.level === difficulty));
      const inputs: Json[][] = [];
      const seen = new Set<string>();
      const add = (args: Json[]) => {
        const key = JSON.stringify(args);
        if (!seen.has(key)) inputs.push(args), seen.add(key);
      };
      for (let tries = 0; inputs.length < 8 + difficulty - p.fixed.length && tries < 100; tries++) add(p.args(rng));
      for (const args of p.fixed) add(args);
      const ref = reference(p);
      const tests = inputs.map((args) => ({ args, expected: ref(...(JSON.parse(JSON.stringify(args)) as Json[])) }));
      const meta: CodeMeta = { problem: p.name, tests };
      return { env: ID, seed, difficulty, prompt: prompt(p, tests), answer: fenced(p.solution), meta: meta as unknown as Task['meta'] };
    },

    verify(task: Task, completion: string): Promise<Verdict> {
      const { p, meta } = problemOf(task); // a task of another family is a programmer error: throws
      return runTests(p, meta, completion).catch((e: unknown) => fail('sandbox_error', String(e)));
    },

    solve(task: Task): string {
      return fenced(problemOf(task).p.solution);
    },

    errorKinds: ['off_by_one', 'wrong_op', 'syntax', 'systematic'],

    mistake(task: Task, kind: string, rng: Rng): string {
      const { p } = problemOf(task);
      if (kind === 'syntax') return fenced(rng.pick(SYNTAX_SLIPS)(p.solution));
      if (kind === 'off_by_one' || kind === 'wrong_op' || kind === 'systematic') return fenced(mutantFor(p, kind)[1]);
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}`);
    },

    isHard(task: Task): boolean {
      return task.difficulty >= HARD_LEVEL;
    },

    stat(task: Task): number {
      return problemOf(task).p.solution.replace(/\s+/g, '').length;
    },
  };
}

/** The default code-js-v1 family: the sandbox detectSandbox() picks. */
export const codeJs: TaskFamily = createCodeJsFamily();
