/**
 * addsub-v1: multi-digit addition and subtraction.
 *
 *   prompt  `add 482+39`   or   `sub 48-391`
 *   answer  `521`               `-343`
 *
 * Difficulty d (1..8) is the digit count of the first operand; the second has
 * d digits half the time and 1..d-1 digits otherwise (which operand comes
 * first in a subtraction is random, so the longer one may be subtracted).
 * Subtraction may go negative: the answer then carries a leading '-', and
 * getting the sign right is part of the skill.
 *
 * Answers are strict integers: optional '-', digits, no '+', no leading
 * zeros. Whitespace anywhere inside the answer is ignored ('5 21' is 521).
 *
 * Hard cases need a carry (addition) or a borrow (subtraction, done as the
 * larger magnitude minus the smaller). The systematic blind spot is the
 * schoolbook one: on additions every carry is dropped (58+67 -> 15); on
 * subtractions each column takes the smaller digit from the larger
 * (52-38 -> 26).
 *
 * Verdict reasons: correct | no_answer | malformed | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { formatAnswer, parseInteger, verifyExact } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'addsub-v1';
const MAX_DIGITS = 8;
const ERROR_KINDS = ['digit', 'carry', 'sign', 'systematic'] as const;

/** What the verifier and the demonstrator need: the operands and the operator. */
interface AddSubMeta {
  a: number;
  b: number;
  op: '+' | '-';
}


function metaOf(task: Task): AddSubMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { a, b, op } = task.meta as unknown as AddSubMeta;
  return { a, b, op };
}

/** A uniform integer with exactly `digits` digits (0..9 for one digit). */
function randomDigits(rng: Rng, digits: number): number {
  return digits === 1 ? rng.int(10) : rng.range(10 ** (digits - 1), 10 ** digits - 1);
}

/** Digits of a non-negative integer, least significant first. */
function digitsOf(n: number): number[] {
  return String(n).split('').reverse().map(Number);
}

function fromDigits(ds: readonly number[]): number {
  let n = 0;
  for (let i = ds.length - 1; i >= 0; i--) n = n * 10 + ds[i];
  return n;
}

/** Columns (0 = units) that produce a carry in x+y, for x, y >= 0. */
function carryColumns(x: number, y: number): number[] {
  const dx = digitsOf(x);
  const dy = digitsOf(y);
  const out: number[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(dx.length, dy.length); i++) {
    const s = (dx[i] ?? 0) + (dy[i] ?? 0) + carry;
    carry = s >= 10 ? 1 : 0;
    if (carry) out.push(i);
  }
  return out;
}

/** Columns (0 = units) that need a borrow in big-small, for big >= small >= 0. */
function borrowColumns(big: number, small: number): number[] {
  const db = digitsOf(big);
  const ds = digitsOf(small);
  const out: number[] = [];
  let borrow = 0;
  for (let i = 0; i < db.length; i++) {
    const d = db[i] - borrow - (ds[i] ?? 0);
    borrow = d < 0 ? 1 : 0;
    if (borrow) out.push(i);
  }
  return out;
}

/** The columns where the schoolbook method has to carry or borrow. */
function regroupColumns(m: AddSubMeta): number[] {
  if (m.op === '+') return carryColumns(m.a, m.b);
  return borrowColumns(Math.max(m.a, m.b), Math.min(m.a, m.b));
}

/** The blind spot: no carries at all, or |column difference| in every column. */
function systematicValue(m: AddSubMeta): number {
  if (m.op === '+') {
    const dx = digitsOf(m.a);
    const dy = digitsOf(m.b);
    const out = Array.from({ length: Math.max(dx.length, dy.length) }, (_, i) => ((dx[i] ?? 0) + (dy[i] ?? 0)) % 10);
    return fromDigits(out);
  }
  const big = Math.max(m.a, m.b);
  const small = Math.min(m.a, m.b);
  const db = digitsOf(big);
  const ds = digitsOf(small);
  const magnitude = fromDigits(db.map((d, i) => Math.abs(d - (ds[i] ?? 0))));
  return m.a >= m.b ? magnitude : -magnitude;
}

/** One digit of an integer's decimal form changed to another digit (never a leading zero). */
export function digitSlip(answer: string, rng: Rng): string {
  const neg = answer.startsWith('-');
  const digits = neg ? answer.slice(1) : answer;
  const i = rng.int(digits.length);
  const old = Number(digits[i]);
  const lowest = i === 0 && digits.length > 1 ? 1 : 0;
  let d = rng.range(lowest, 9);
  while (d === old) d = rng.range(lowest, 9);
  const changed = digits.slice(0, i) + String(d) + digits.slice(i + 1);
  return (neg && changed !== '0' ? '-' : '') + changed;
}

function check(task: Task, completion: string): Verdict {
  return verifyExact(task.answer, completion, (text) => {
    const n = parseInteger(text.replace(/\s+/g, ''));
    return n === null ? null : n.toString();
  });
}

/** The wrong integer answer of one kind, before the never-correct guard. */
function wrongValue(task: Task, m: AddSubMeta, kind: string, rng: Rng): string {
  const value = Number(task.answer);
  const cols = regroupColumns(m);
  switch (kind) {
    case 'digit':
      return digitSlip(task.answer, rng);
    case 'carry': {
      // Forget one carry (the sum loses 10^(i+1)) or one borrow (the difference's magnitude gains it).
      if (cols.length === 0) return digitSlip(task.answer, rng);
      const place = 10 ** (rng.pick(cols) + 1);
      if (m.op === '+') return String(value - place);
      return String(value >= 0 ? value + place : value - place);
    }
    case 'sign':
      // Subtracting in the wrong order; additions have no sign to lose, so they slip a digit.
      if (m.op === '+' || value === 0) return digitSlip(task.answer, rng);
      return String(-value);
    case 'systematic':
      return String(systematicValue(m));
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

export const addsub: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Multi-digit addition and subtraction (results may be negative); difficulty = digits per operand.',
  difficulty: { min: 1, max: MAX_DIGITS, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const op = rng.bool() ? '+' : '-';
    const long = randomDigits(rng, difficulty);
    const shortDigits = difficulty > 1 && rng.bool() ? rng.range(1, difficulty - 1) : difficulty;
    const other = randomDigits(rng, shortDigits);
    const [a, b] = op === '-' && rng.bool() ? [other, long] : [long, other];
    const answer = String(op === '+' ? a + b : a - b);
    const meta: AddSubMeta = { a, b, op };
    return { prompt: `${op === '+' ? 'add' : 'sub'} ${a}${op}${b}`, answer, meta: { ...meta } };
  },

  verify: check,

  solve(task: Task): string {
    return formatAnswer(task.answer);
  },

  mistake(task: Task, kind: string, rng: Rng): string {
    const m = metaOf(task);
    // The systematic error ignores the caller's rng so it is the same every time.
    const r = kind === 'systematic' ? new Rng(`${ID}:systematic:${task.seed}:${task.difficulty}`) : rng;
    const wrong = wrongValue(task, m, kind, r);
    // A blind spot on a task without carries (or a wrong-order subtraction of equal numbers) lands on the truth: slip a digit instead.
    return formatAnswer(check(task, formatAnswer(wrong)).ok ? digitSlip(task.answer, r) : wrong);
  },

  isHard(task: Task): boolean {
    return regroupColumns(metaOf(task)).length > 0;
  },

  stat(task: Task): number {
    const m = metaOf(task);
    return String(m.a).length + String(m.b).length;
  },
});
