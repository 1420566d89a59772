/**
 * countdown-v1: reach a target from given numbers with + - * / and brackets,
 * as in the numbers round of the TV game Countdown.
 *
 *   prompt  `make 24 from 3 5 7 2 with +-*\/`   (the backslash only keeps this comment open)
 *   answer  `(5+7)*2`   (or `3*7+5-2`, or any other expression that makes 24)
 *
 * Rules (what the verifier checks, in this order):
 *   - malformed: the answer must parse as numbers, + - * /, and brackets,
 *     with the usual precedence; no unary minus, no leading zeros, at most
 *     MAX_DEPTH nested brackets and MAX_LENGTH characters. The parser is
 *     our own; nothing is eval'd.
 *   - uses_unavailable_number: each given number is used at most as often as
 *     it is given (not all need be used); any other number is unavailable.
 *   - bad_division: arithmetic is over integers; every division must be
 *     exact (no remainder, no division by zero). Negative intermediate
 *     values are allowed (the TV rules forbid them; we are more liberal).
 *   - wrong: the value is not the target.
 *
 * Generation builds the target from a random expression over a subset of the
 * numbers (positive integer intermediates, exact divisions, no *1 or /1), so
 * every task is solvable. Difficulty is the count of numbers (2..6) and the
 * size of the target; level 5 is the TV round (two large numbers, four small,
 * a three-digit target). The reference solver replays the generating
 * expression; searchCountdown() is the exhaustive fallback, tested on its own.
 *
 * Hard cases are those whose generating expression needs its brackets; the
 * systematic blind spot writes it without them (3*(5+7)/2 -> 3*5+7/2).
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'countdown-v1';
const ERROR_KINDS = ['operator', 'number', 'systematic'] as const;
const LARGE = [25, 50, 75, 100];
const MAX_DEPTH = 32; // deepest bracket nesting the parser accepts
const MAX_LENGTH = 1000; // longest answer the parser reads; six numbers need far less

/** Per level (index = level - 1): small and large number counts, the small range, numbers used, and the target range. */
const LEVELS: readonly { small: number; large: number; smallMax: number; minUse: number; lo: number; hi: number }[] = [
  { small: 2, large: 0, smallMax: 9, minUse: 2, lo: 1, hi: 99 },
  { small: 3, large: 0, smallMax: 9, minUse: 2, lo: 10, hi: 99 },
  { small: 4, large: 0, smallMax: 13, minUse: 3, lo: 10, hi: 200 },
  { small: 4, large: 1, smallMax: 10, minUse: 3, lo: 20, hi: 500 },
  { small: 4, large: 2, smallMax: 10, minUse: 4, lo: 100, hi: 999 },
];

/** What the verifier needs (numbers, target) and what the demonstrator replays (expr). */
interface CountdownMeta {
  numbers: number[];
  target: number;
  expr: string; // the generating expression, minimal brackets
}


function metaOf(task: Task): CountdownMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { numbers, target, expr } = task.meta as unknown as CountdownMeta;
  return { numbers, target, expr };
}

// ------------------------------------------------------------------ expressions

export type Op = '+' | '-' | '*' | '/';

/** An expression tree: a number, or an operator over two subtrees. */
export type Expr = { num: number } | { op: Op; left: Expr; right: Expr };

const PRECEDENCE: Record<Op, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

/** Prints with minimal brackets: a child is bracketed when it binds looser than its parent, or as tightly on the right of - or /. */
export function render(e: Expr): string {
  if (!('op' in e)) return String(e.num);
  const p = PRECEDENCE[e.op];
  const child = (c: Expr, right: boolean): string => {
    if (!('op' in c)) return String(c.num);
    const q = PRECEDENCE[c.op];
    const wrap = q < p || (right && q === p && (e.op === '-' || e.op === '/'));
    return wrap ? `(${render(c)})` : render(c);
  };
  return `${child(e.left, false)}${e.op}${child(e.right, true)}`;
}

/** Integer value of a tree; null when a division is by zero or inexact. Recursive: only call it on small trees. */
export function evaluate(e: Expr): number | null {
  if (!('op' in e)) return e.num;
  const x = evaluate(e.left);
  const y = evaluate(e.right);
  if (x === null || y === null) return null;
  switch (e.op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y !== 0 && x % y === 0 ? x / y : null;
  }
}

type Parsed = { ok: true; expr: Expr; literals: string[] } | { ok: false; error: string };

/** Splits into number and operator tokens, skipping whitespace; a string is an error. */
function tokenize(text: string): string[] | string {
  const token = /\s*(?:(\d+)|([-+*/()]))/y;
  const tokens: string[] = [];
  let pos = 0;
  for (let m = token.exec(text); m !== null; m = token.exec(text)) {
    if (m[1] !== undefined && m[1].length > 1 && m[1][0] === '0') return `number with a leading zero: ${m[1].slice(0, 20)}`;
    tokens.push(m[1] ?? m[2]);
    pos = token.lastIndex;
  }
  const rest = text.slice(pos).trimStart(); // a failed sticky match resets lastIndex, so pos tracks the end
  return rest === '' ? tokens : `unexpected character ${JSON.stringify(rest[0])}`;
}

/**
 * Recursive descent over sum := product (('+'|'-') product)*, product := atom
 * (('*'|'/') atom)*, atom := number | '(' sum ')'. Long chains are built in
 * loops and recursion only follows brackets (at most MAX_DEPTH deep), so no
 * input can exhaust the stack. literals are the number tokens, as written.
 */
export function parseExpression(text: string): Parsed {
  if (text.length > MAX_LENGTH) return { ok: false, error: `longer than ${MAX_LENGTH} characters` };
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, error: tokens };
  const literals: string[] = [];
  let pos = 0;
  let error = '';
  const sum = (depth: number): Expr | null => {
    let left = product(depth);
    while (left !== null && (tokens[pos] === '+' || tokens[pos] === '-')) {
      const op = tokens[pos++] as Op;
      const right = product(depth);
      left = right === null ? null : { op, left, right };
    }
    return left;
  };
  const product = (depth: number): Expr | null => {
    let left = atom(depth);
    while (left !== null && (tokens[pos] === '*' || tokens[pos] === '/')) {
      const op = tokens[pos++] as Op;
      const right = atom(depth);
      left = right === null ? null : { op, left, right };
    }
    return left;
  };
  const atom = (depth: number): Expr | null => {
    const t = tokens[pos];
    if (t === undefined) error = 'the expression ends too early';
    else if (t === '(') {
      if (depth >= MAX_DEPTH) error = `brackets nested more than ${MAX_DEPTH} deep`;
      else {
        pos++;
        const inner = sum(depth + 1);
        if (inner === null) return null;
        if (tokens[pos] === ')') {
          pos++;
          return inner;
        }
        error = 'a bracket is not closed';
      }
    } else if (t[0] >= '0' && t[0] <= '9') {
      pos++;
      literals.push(t);
      return { num: Number(t) };
    } else error = `unexpected ${JSON.stringify(t)}`;
    return null;
  };
  const expr = sum(0);
  if (expr === null) return { ok: false, error };
  if (pos < tokens.length) return { ok: false, error: `unexpected ${JSON.stringify(tokens[pos])}` };
  return { ok: true, expr, literals };
}

// ------------------------------------------------------------------ verifying

/** Grades an expression string against the rules above. */
export function checkExpression(text: string, numbers: readonly number[], target: number): Verdict {
  const parsed = parseExpression(text);
  if (!parsed.ok) return fail('malformed', parsed.error);
  const available = new Map<string, number>();
  for (const n of numbers) available.set(String(n), (available.get(String(n)) ?? 0) + 1);
  for (const lit of parsed.literals) {
    const left = available.get(lit) ?? 0;
    if (left === 0) return fail('uses_unavailable_number', `${lit.slice(0, 20)} is not available (or used too often)`);
    available.set(lit, left - 1);
  }
  // At most numbers.length literals remain, so the tree is small and evaluate() cannot recurse deeply.
  const value = evaluate(parsed.expr);
  if (value === null) return fail('bad_division', 'a division is by zero or leaves a remainder');
  return value === target ? CORRECT : fail('wrong', `the expression makes ${value}, not ${target}`);
}

function check(task: Task, completion: string): Verdict {
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const { numbers, target } = metaOf(task);
  return checkExpression(got.text, numbers, target);
}

// ------------------------------------------------------------------ generating and solving

/** One step of combining two values under the generation rules; null when not allowed. */
function combine(op: Op, x: number, y: number): number | null {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x > y ? x - y : null;
    case '*':
      return x === 1 || y === 1 ? null : x * y;
    case '/':
      return y > 1 && x % y === 0 ? x / y : null;
  }
}

const OPS: readonly Op[] = ['+', '-', '*', '/'];

/** A random expression over `pool` that combines them all, or null when a drawn step is not allowed. */
function randomExpression(rng: Rng, pool: number[]): { expr: Expr; value: number } | null {
  const items = pool.map((n) => ({ expr: { num: n } as Expr, value: n }));
  while (items.length > 1) {
    rng.shuffle(items);
    const a = items.pop()!;
    const b = items.pop()!;
    const op = rng.pick(OPS);
    // Subtract and divide the smaller from the larger, so fewer draws are thrown away.
    const [x, y] = (op === '-' || op === '/') && a.value < b.value ? [b, a] : [a, b];
    const value = combine(op, x.value, y.value);
    if (value === null) return null;
    items.push({ expr: { op, left: x.expr, right: y.expr }, value });
  }
  return items[0];
}

/**
 * Exhaustive search for an expression over (a subset of) `numbers` that makes
 * `target`, with positive integer intermediates. Memoizes the multisets of
 * values already explored. Returns null when there is none.
 */
export function searchCountdown(numbers: readonly number[], target: number): string | null {
  const failed = new Set<string>();
  const go = (items: { expr: Expr; value: number }[]): string | null => {
    for (const it of items) if (it.value === target) return render(it.expr);
    if (items.length < 2) return null;
    const key = items.map((it) => it.value).sort((p, q) => p - q).join(',');
    if (failed.has(key)) return null;
    for (let i = 0; i < items.length; i++)
      for (let j = 0; j < items.length; j++) {
        if (i === j) continue;
        const rest = items.filter((_, k) => k !== i && k !== j);
        for (const op of OPS) {
          if ((op === '+' || op === '*') && i > j) continue; // commutative: one order is enough
          const value = combine(op, items[i].value, items[j].value);
          if (value === null) continue;
          const found = go([...rest, { expr: { op, left: items[i].expr, right: items[j].expr }, value }]);
          if (found !== null) return found;
        }
      }
    failed.add(key);
    return null;
  };
  return go(numbers.map((n) => ({ expr: { num: n }, value: n })));
}

// ------------------------------------------------------------------ mistakes

/** The same tree with one operator (chosen by rng) replaced by a different one. */
function swapOperator(expr: Expr, rng: Rng): Expr {
  const ops: Expr[] = [];
  const walk = (e: Expr): void => {
    if ('op' in e) {
      ops.push(e);
      walk(e.left);
      walk(e.right);
    }
  };
  walk(expr);
  const target = rng.pick(ops);
  const copy = (e: Expr): Expr => {
    if (!('op' in e)) return e;
    const op = e === target ? rng.pick(OPS.filter((o) => o !== e.op)) : e.op;
    return { op, left: copy(e.left), right: copy(e.right) };
  };
  return copy(expr);
}

/** The same tree with one number replaced by a neighbour (often unavailable, or already used). */
function swapNumber(expr: Expr, rng: Rng): Expr {
  const leaves: Expr[] = [];
  const walk = (e: Expr): void => ('op' in e ? (walk(e.left), walk(e.right)) : void leaves.push(e));
  walk(expr);
  const target = rng.pick(leaves);
  const copy = (e: Expr): Expr => {
    if ('op' in e) return { op: e.op, left: copy(e.left), right: copy(e.right) };
    if (e !== target) return e;
    return { num: e.num === 1 ? 2 : e.num + (rng.bool() ? 1 : -1) };
  };
  return copy(expr);
}

function wrongExpression(meta: CountdownMeta, kind: string, rng: Rng): string {
  const parsed = parseExpression(meta.expr);
  if (!parsed.ok) throw new Error(`${ID}: stored expression ${JSON.stringify(meta.expr)} does not parse: ${parsed.error}`);
  switch (kind) {
    case 'operator':
      return render(swapOperator(parsed.expr, rng));
    case 'number':
      return render(swapNumber(parsed.expr, rng));
    case 'systematic':
      return meta.expr.replace(/[()]/g, '');
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

// ------------------------------------------------------------------ the family

export const countdown: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Reach a target with + - * / and brackets using each given number at most once (exact integer division).',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const level = LEVELS[difficulty - 1];
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const large = rng.shuffle([...LARGE]).slice(0, level.large);
      const small = Array.from({ length: level.small }, () => rng.range(1, level.smallMax));
      const numbers = rng.shuffle([...large, ...small]);
      const pool = rng.shuffle([...numbers]).slice(0, rng.range(level.minUse, numbers.length));
      const built = randomExpression(rng, pool);
      if (built === null || built.value < level.lo || built.value > level.hi || numbers.includes(built.value)) continue;
      const meta: CountdownMeta = { numbers, target: built.value, expr: render(built.expr) };
      const prompt = `make ${meta.target} from ${numbers.join(' ')} with +-*/`;
      return { prompt, answer: meta.expr, meta: { ...meta } };
    }
    throw new Error(`${ID}: no task found at difficulty ${difficulty} after 100000 attempts`);
  },

  verify: check,

  solve(task: Task): string {
    const { numbers, target, expr } = metaOf(task);
    if (checkExpression(expr, numbers, target).ok) return formatAnswer(expr);
    const found = searchCountdown(numbers, target);
    if (found === null) throw new Error(`${ID}: no solution for ${JSON.stringify(task.prompt)}`);
    return formatAnswer(found);
  },

  mistake(task: Task, kind: string, rng: Rng): string {
    const meta = metaOf(task);
    // The systematic error ignores the caller's rng so it is the same every time.
    const r = kind === 'systematic' ? new Rng(`${ID}:systematic:${task.seed}:${task.difficulty}`) : rng;
    let wrong = wrongExpression(meta, kind, r);
    // Dropping brackets that were not needed, or a swap that happens to work, lands on a solution: swap an operator instead.
    for (let tries = 0; tries < 20 && checkExpression(wrong, meta.numbers, meta.target).ok; tries++) wrong = wrongExpression(meta, 'operator', r);
    if (checkExpression(wrong, meta.numbers, meta.target).ok) wrong = `(${meta.expr})+1`;
    return formatAnswer(wrong);
  },

  isHard(task: Task): boolean {
    const meta = metaOf(task);
    return meta.expr.includes('(') && !checkExpression(meta.expr.replace(/[()]/g, ''), meta.numbers, meta.target).ok;
  },

  stat(task: Task): number {
    return metaOf(task).numbers.length;
  },
});
