/**
 * bool-expr-v1: evaluate a boolean expression over T and F.
 *
 *   prompt  `(T xor F) and not T`    answer  `F`
 *
 * Operators: not, and, xor, or, and parentheses. Generated expressions wrap
 * every nested binary operation in parentheses, so precedence never matters;
 * the parser below still knows the usual order (not > and > xor > or).
 * Difficulty is the number of binary operators (1 to 7); about one node in
 * five is negated. True and false answers are equally likely.
 *
 * Accepted spellings of the answer (any letter case): T, true, 1 for true and
 * F, false, 0 for false.
 *
 * Hard cases: tasks where the demonstrator's systematic blind spot changes the
 * value: it reads xor as or.
 *
 * Verdict reasons: correct | no_answer | malformed (not a truth value) | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'bool-expr-v1';

/** Levels 1..MAX_LEVEL; level d has d binary operators. */
const MAX_LEVEL = 7;

/** Probability that a generated node is wrapped in `not`. */
const NOT_RATE = 0.2;

const BINARY_OPS = ['and', 'or', 'xor'] as const;
type BinaryOp = (typeof BINARY_OPS)[number];

/** A parsed expression tree. */
export type Expr =
  | { op: 'lit'; value: boolean }
  | { op: 'not'; arg: Expr }
  | { op: BinaryOp; left: Expr; right: Expr };

const TRUE_SPELLINGS: ReadonlySet<string> = new Set(['t', 'true', '1']);
const FALSE_SPELLINGS: ReadonlySet<string> = new Set(['f', 'false', '0']);


function exprOf(task: Task): string {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return task.meta.expr as string;
}

// ---------------------------------------------------------------- parsing

/**
 * Parses an expression by recursive descent. Grammar, loosest first:
 *   or := xor ('or' xor)*    xor := and ('xor' and)*    and := unary ('and' unary)*
 *   unary := 'not' unary | 'T' | 'F' | '(' or ')'
 * Throws SyntaxError with the position on bad input (only generated text is parsed).
 */
export function parseBoolExpr(text: string): Expr {
  const tokens = text.match(/\(|\)|[A-Za-z]+|\S/g) ?? [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const expect = (t: string): void => {
    if (tokens[pos] !== t) throw new SyntaxError(`${ID}: expected ${t} at token ${pos} in ${JSON.stringify(text)}`);
    pos++;
  };
  const binary = (op: BinaryOp, next: () => Expr) => (): Expr => {
    let left = next();
    while (peek() === op) {
      pos++;
      left = { op, left, right: next() };
    }
    return left;
  };
  const unary = (): Expr => {
    const t = peek();
    if (t === 'not') {
      pos++;
      return { op: 'not', arg: unary() };
    }
    if (t === 'T' || t === 'F') {
      pos++;
      return { op: 'lit', value: t === 'T' };
    }
    expect('(');
    const inner = orExpr();
    expect(')');
    return inner;
  };
  const andExpr = binary('and', unary);
  const xorExpr = binary('xor', andExpr);
  const orExpr = binary('or', xorExpr);
  const tree = orExpr();
  if (pos !== tokens.length) throw new SyntaxError(`${ID}: unexpected ${tokens[pos]} at token ${pos} in ${JSON.stringify(text)}`);
  return tree;
}

/** Evaluates a tree; `xorAsOr` is the demonstrator's blind spot. */
export function evalExpr(e: Expr, xorAsOr = false): boolean {
  switch (e.op) {
    case 'lit':
      return e.value;
    case 'not':
      return !evalExpr(e.arg, xorAsOr);
    case 'and':
      return evalExpr(e.left, xorAsOr) && evalExpr(e.right, xorAsOr);
    case 'or':
      return evalExpr(e.left, xorAsOr) || evalExpr(e.right, xorAsOr);
    case 'xor': {
      const [a, b] = [evalExpr(e.left, xorAsOr), evalExpr(e.right, xorAsOr)];
      return xorAsOr ? a || b : a !== b;
    }
  }
}

/** Prints a tree; nested binary operations get parentheses, the top one does not. */
export function printExpr(e: Expr, nested = false): string {
  if (e.op === 'lit') return e.value ? 'T' : 'F';
  if (e.op === 'not') return `not ${printExpr(e.arg, true)}`;
  const s = `${printExpr(e.left, true)} ${e.op} ${printExpr(e.right, true)}`;
  return nested ? `(${s})` : s;
}

/** Counts operators: binary ones and nots. */
function countOps(e: Expr): number {
  if (e.op === 'lit') return 0;
  if (e.op === 'not') return 1 + countOps(e.arg);
  return 1 + countOps(e.left) + countOps(e.right);
}

// ---------------------------------------------------------------- the family

/** A random tree with exactly `binaryOps` binary operators. */
function randomExpr(rng: Rng, binaryOps: number): Expr {
  let e: Expr;
  if (binaryOps === 0) e = { op: 'lit', value: rng.bool() };
  else {
    const leftOps = rng.int(binaryOps);
    const op = rng.pick(BINARY_OPS);
    e = { op, left: randomExpr(rng, leftOps), right: randomExpr(rng, binaryOps - 1 - leftOps) };
  }
  return rng.bool(NOT_RATE) ? { op: 'not', arg: e } : e;
}

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const target = rng.bool();
  let e = randomExpr(rng, difficulty);
  for (let attempt = 0; attempt < 100 && evalExpr(e) !== target; attempt++) e = randomExpr(rng, difficulty);
  const expr = printExpr(e);
  return {
    prompt: expr,
    answer: evalExpr(e) ? 'T' : 'F',
    meta: { expr },
  };
}

function verify(task: Task, completion: string): Verdict {
  const expected = evalExpr(parseBoolExpr(exprOf(task)));
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const word = got.text.toLowerCase();
  const value = TRUE_SPELLINGS.has(word) ? true : FALSE_SPELLINGS.has(word) ? false : null;
  if (value === null) return fail('malformed', `not a truth value: ${JSON.stringify(got.text.slice(0, 40))}`);
  return value === expected ? CORRECT : fail('wrong', `expected ${expected ? 'T' : 'F'}, got ${got.text}`);
}

function solve(task: Task): string {
  return formatAnswer(evalExpr(parseBoolExpr(exprOf(task))) ? 'T' : 'F');
}

/** 'flip' is a random slip; 'systematic' reads xor as or. A truth value has one wrong answer, so both give it. */
const ERROR_KINDS = ['flip', 'systematic'] as const;

function mistake(task: Task, kind: string, _rng: Rng): string {
  if (!(ERROR_KINDS as readonly string[]).includes(kind)) {
    throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
  return formatAnswer(evalExpr(parseBoolExpr(exprOf(task))) ? 'F' : 'T');
}

export const boolExpr: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Evaluate a boolean expression over T/F with not, and, xor, or and parentheses; answer T or F.',
  difficulty: { min: 1, max: MAX_LEVEL, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const e = parseBoolExpr(exprOf(task));
    return evalExpr(e, true) !== evalExpr(e);
  },
  /** The number of operators (binary ones and nots). */
  stat(task: Task): number {
    return countOps(parseBoolExpr(exprOf(task)));
  },
});
