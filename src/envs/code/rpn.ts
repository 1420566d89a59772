/**
 * code-rpn-v1: write a program in a tiny stack language (RPN) that computes a
 * given formula; graded by running it on random inputs in an in-process
 * interpreter. A language small models can learn, with no sandbox needed.
 *
 *   prompt      f(x, y) = (x + 3) * y, the token set, the answer format
 *   completion  ... Answer: x 3 + y *
 *   reward      fraction of TESTS input tuples on which the program leaves
 *               exactly f's value on the stack; ok only when all do
 *
 * The language: tokens separated by spaces. An integer pushes itself; an
 * input name (x, y, z: only the task's inputs) pushes its value; + - * pop
 * b then a and push a op b; dup (a -> a a), swap (a b -> b a), drop (a ->),
 * over (a b -> a b a). Programs are straight-line, so at most MAX_TOKENS
 * tokens is also the step limit; values beyond +-MAX_VALUE are an overflow.
 * Any program computing f passes (x x * and x dup * alike).
 *
 * Difficulty 1..5 sets the formula's operator count (1, 2, 3, 4, 6) and its
 * inputs (x; x, y; x, y, z). Hard tasks are formulas where reading the infix
 * left to right, ignoring precedence and parentheses, gives a different
 * function; the demonstrator's systematic mistake is exactly that reading.
 * Other mistakes: 'operand_order' (a - b written b a -), 'wrong_op',
 * 'syntax' (a dropped token). stat() is the reference program's token count.
 *
 * Verdict reasons: correct | wrong (reward = fraction right) | no_answer |
 * malformed (unknown token) | too_long | stack_underflow | stack_error (not
 * exactly one value left; always wrong, reward 0) | overflow (on some inputs,
 * counted as wrong there).
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';

const ID = 'code-rpn-v1';
const MAX_TOKENS = 256;
const MAX_VALUE = 1e15;
const MAX_DEPTH = 64;
const TESTS = 8;
const ERROR_KINDS: readonly string[] = ['operand_order', 'wrong_op', 'syntax', 'systematic'];
/** Per difficulty (index = level - 1): operators in the formula and its inputs. */
const LEVELS = [
  { ops: 1, vars: ['x'] },
  { ops: 2, vars: ['x', 'y'] },
  { ops: 3, vars: ['x', 'y'] },
  { ops: 4, vars: ['x', 'y', 'z'] },
  { ops: 6, vars: ['x', 'y', 'z'] },
] as const;

type Op = '+' | '-' | '*';
type Expr = { kind: 'num'; value: number } | { kind: 'var'; name: string } | { kind: 'bin'; op: Op; left: Expr; right: Expr };

interface RpnMeta {
  vars: string[]; // input names, in order
  formula: string; // infix, as shown
  naive: string; // the left-to-right misreading as a program
  tests: { inputs: number[]; expected: number }[];
}

// ------------------------------------------------------------------ the interpreter

export type RpnRun = { ok: true; value: number } | { ok: false; reason: 'stack_underflow' | 'stack_error' | 'overflow'; detail: string };

/** Splits a program into tokens; null (with the bad token) when one is not in the language for these inputs. */
export function parseRpn(text: string, vars: readonly string[]): { tokens: string[] } | { bad: string } {
  const tokens = text.split(/\s+/).filter((t) => t !== '');
  for (const t of tokens) if (!/^-?\d{1,9}$/.test(t) && !vars.includes(t) && !['+', '-', '*', 'dup', 'swap', 'drop', 'over'].includes(t)) return { bad: t };
  return { tokens };
}

/** Runs parsed tokens with the given input values (vars[i] = inputs[i]). */
export function runRpn(tokens: readonly string[], vars: readonly string[], inputs: readonly number[]): RpnRun {
  const stack: number[] = [];
  for (const [i, t] of tokens.entries()) {
    const need = t === '+' || t === '-' || t === '*' || t === 'swap' || t === 'over' ? 2 : t === 'dup' || t === 'drop' ? 1 : 0;
    if (stack.length < need) return { ok: false, reason: 'stack_underflow', detail: `token ${i + 1} '${t}' needs ${need} values, stack has ${stack.length}` };
    if (t === 'dup') stack.push(stack[stack.length - 1]);
    else if (t === 'drop') stack.pop();
    else if (t === 'swap') stack.push(stack.pop()!, stack.pop()!);
    else if (t === 'over') stack.push(stack[stack.length - 2]);
    else if (need === 2) {
      const b = stack.pop()!;
      const a = stack.pop()!;
      stack.push(t === '+' ? a + b : t === '-' ? a - b : a * b);
    } else stack.push(vars.includes(t) ? inputs[vars.indexOf(t)] : Number(t));
    const top = stack[stack.length - 1];
    if (top !== undefined && Math.abs(top) > MAX_VALUE) return { ok: false, reason: 'overflow', detail: `token ${i + 1} '${t}' made ${top}` };
    if (stack.length > MAX_DEPTH) return { ok: false, reason: 'stack_error', detail: `stack deeper than ${MAX_DEPTH}` };
  }
  if (stack.length !== 1) return { ok: false, reason: 'stack_error', detail: `the program left ${stack.length} values` };
  return { ok: true, value: stack[0] === 0 ? 0 : stack[0] };
}

/** Grades a program text against the tests. Never throws. */
function grade(program: string, meta: RpnMeta): Verdict {
  if (program.length > MAX_TOKENS * 12) return fail('too_long', `${program.length} characters`);
  const parsed = parseRpn(program, meta.vars);
  if ('bad' in parsed) return fail('malformed', `unknown token ${JSON.stringify(parsed.bad.slice(0, 20))}`);
  if (parsed.tokens.length === 0) return fail('no_answer');
  if (parsed.tokens.length > MAX_TOKENS) return fail('too_long', `${parsed.tokens.length} tokens (at most ${MAX_TOKENS})`);
  let passed = 0;
  let firstFailure = '';
  for (const t of meta.tests) {
    const r = runRpn(parsed.tokens, meta.vars, t.inputs);
    // Stack shape does not depend on the inputs: these fail every test alike.
    if (!r.ok && r.reason !== 'overflow') return fail(r.reason, r.detail);
    if (r.ok && r.value === t.expected) passed++;
    else firstFailure ||= `at ${meta.vars.map((v, i) => `${v}=${t.inputs[i]}`).join(', ')}: ${r.ok ? `got ${r.value}` : r.detail}, expected ${t.expected}`;
  }
  if (passed === meta.tests.length) return CORRECT;
  return { reward: passed / meta.tests.length, ok: false, reason: 'wrong', detail: `${passed}/${meta.tests.length} right; ${firstFailure}` };
}

// ------------------------------------------------------------------ formulas

function randomExpr(rng: Rng, ops: number, vars: readonly string[]): Expr {
  if (ops === 0) return rng.bool(0.7) ? { kind: 'var', name: rng.pick(vars) } : { kind: 'num', value: rng.range(1, 9) };
  const leftOps = rng.int(ops);
  return { kind: 'bin', op: rng.pick(['+', '-', '*'] as const), left: randomExpr(rng, leftOps, vars), right: randomExpr(rng, ops - 1 - leftOps, vars) };
}

function evaluate(e: Expr, env: Record<string, number>): number {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'var') return env[e.name];
  const a = evaluate(e.left, env);
  const b = evaluate(e.right, env);
  return e.op === '+' ? a + b : e.op === '-' ? a - b : a * b;
}

/** Postorder: the reference program. */
function toRpn(e: Expr): string[] {
  if (e.kind === 'num') return [String(e.value)];
  if (e.kind === 'var') return [e.name];
  return [...toRpn(e.left), ...toRpn(e.right), e.op];
}

const prec = (op: Op) => (op === '*' ? 2 : 1);

/** Infix tokens with only the parentheses precedence and left associativity need. */
function infixTokens(e: Expr): string[] {
  if (e.kind !== 'bin') return toRpn(e);
  const wrap = (side: Expr, right: boolean) => {
    const inner = infixTokens(side);
    if (side.kind !== 'bin') return inner;
    const needs = prec(side.op) < prec(e.op) || (right && prec(side.op) === prec(e.op) && e.op !== '+' && !(e.op === '*' && side.op === '*'));
    return needs ? ['(', ...inner, ')'] : inner;
  };
  return [...wrap(e.left, false), e.op, ...wrap(e.right, true)];
}

/** The misreading: infix without parentheses, evaluated strictly left to right. */
function leftToRight(infix: readonly string[]): string[] {
  const atoms = infix.filter((t) => t !== '(' && t !== ')');
  const out = [atoms[0]];
  for (let i = 1; i + 1 < atoms.length; i += 2) out.push(atoms[i + 1], atoms[i]);
  return out;
}

function checkDifficulty(d: number): void {
  if (!Number.isInteger(d) || d < 1 || d > LEVELS.length) throw new RangeError(`${ID}: difficulty must be an integer in [1, ${LEVELS.length}], got ${d}`);
}

function metaOf(task: Task): RpnMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return task.meta as unknown as RpnMeta;
}

const PROMPT_HELP =
  'Tokens: integers, the inputs, + - * (pop b, pop a, push a op b), dup, swap, drop, over. ' +
  'The stack starts empty and must end holding exactly the value of f. Example: f(x, y) = x - 2 * y is x 2 y * -';

/** Edits of the reference program for each mistake kind, first that fails the tests wins. */
function mistakeCandidates(task: Task, kind: string, rng: Rng): string[][] {
  const ref = task.answer.split(' ');
  const opsAt = ref.flatMap((t, i) => (t === '+' || t === '-' || t === '*' ? [i] : []));
  const swapped = (i: number, op: string) => ref.map((t, j) => (j === i ? op : t));
  const wrongOps = rng.shuffle([...opsAt]).flatMap((i) => ['+', '-', '*'].filter((op) => op !== ref[i]).map((op) => swapped(i, op)));
  // a - b written b a -: swap the two operand blocks of a '-' by inserting 'swap' before it
  const operandOrder = opsAt.filter((i) => ref[i] === '-').map((i) => [...ref.slice(0, i), 'swap', ...ref.slice(i)]);
  if (kind === 'operand_order') return [...operandOrder, ...wrongOps];
  if (kind === 'wrong_op') return [...wrongOps, ...operandOrder];
  if (kind === 'syntax') {
    const dropped = rng.int(ref.length);
    return [ref.filter((_, i) => i !== dropped)];
  }
  // systematic: deterministic, so no rng: the left-to-right misreading, then fixed fallbacks
  const fixedWrong = opsAt.flatMap((i) => ['+', '-', '*'].filter((op) => op !== ref[i]).map((op) => swapped(i, op)));
  return [metaOf(task).naive.split(' '), ...operandOrder, ...fixedWrong];
}

export const codeRpn: TaskFamily = {
  id: ID,
  description: 'Write a stack-language (RPN) program computing a formula; run on random inputs in-process.',
  difficulty: { min: 1, max: LEVELS.length, default: 3 },

  generate(seed: number, difficulty: number): Task {
    checkDifficulty(difficulty);
    const rng = new Rng(`${ID}:${seed}:${difficulty}`);
    const { ops, vars } = LEVELS[difficulty - 1];
    const expr = randomExpr(rng, ops, vars);
    const tests = Array.from({ length: TESTS }, () => {
      const inputs = vars.map(() => rng.range(-9, 9));
      const value = evaluate(expr, Object.fromEntries(vars.map((v, i) => [v, inputs[i]])));
      return { inputs, expected: value === 0 ? 0 : value };
    });
    const infix = infixTokens(expr);
    const formula = infix.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')');
    const meta: RpnMeta = { vars: [...vars], formula, naive: leftToRight(infix).join(' '), tests };
    const prompt = `Write a stack program that computes f(${vars.join(', ')}) = ${formula}\n${PROMPT_HELP}\nGive the program after "Answer:".`;
    return { env: ID, seed, difficulty, prompt, answer: toRpn(expr).join(' '), meta: meta as unknown as Task['meta'] };
  },

  verify(task: Task, completion: string): Verdict {
    const meta = metaOf(task);
    const got = extractAnswer(completion);
    return got.ok ? grade(got.text, meta) : fail('no_answer');
  },

  solve(task: Task): string {
    return formatAnswer(task.answer);
  },

  errorKinds: ERROR_KINDS,

  mistake(task: Task, kind: string, rng: Rng): string {
    if (!ERROR_KINDS.includes(kind)) throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}`);
    const meta = metaOf(task);
    for (const program of mistakeCandidates(task, kind, rng)) if (!grade(program.join(' '), meta).ok) return formatAnswer(program.join(' '));
    return formatAnswer(`${task.answer} drop`); // leaves nothing: always a stack_error
  },

  isHard(task: Task): boolean {
    const meta = metaOf(task);
    return !grade(meta.naive, meta).ok;
  },

  stat(task: Task): number {
    return task.answer.split(' ').length;
  },
};
