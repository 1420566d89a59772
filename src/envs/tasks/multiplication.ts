/**
 * multiplication-v1: multi-digit multiplication.
 *
 *   prompt  `mul 48*7`
 *   answer  `336`
 *
 * Difficulty sets the digits of the two operands: 1x1, 2x1, 2x2, 3x2, 3x3,
 * 4x3, 4x4, 5x4 (levels 1..8); the longer operand comes first or second at
 * random. One-digit operands are 2..9 (no x0 or x1 giveaways). Answers are
 * strict integers; whitespace inside the answer is ignored.
 *
 * Schoolbook method: the longer operand on top, one partial-product row per
 * digit of the shorter, each digit product plus the incoming carry. Hard
 * cases are rows where adding the incoming carry to a digit product's units
 * crosses a ten (58*7: 8*7=56, write 6 carry 5; 5*7=35, +5 crosses into 40).
 * The systematic blind spot loses exactly that overflow: the carry out is
 * taken from the digit product alone (35+5 -> write 0, carry 3), so 58*7
 * comes out as 306 instead of 406. The rows are then added correctly.
 *
 * Verdict reasons: correct | no_answer | malformed | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { formatAnswer, parseInteger, verifyExact } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { digitSlip } from './addsub.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'multiplication-v1';
const ERROR_KINDS = ['digit', 'carry', 'shift', 'systematic'] as const;

/** Digits of [the longer operand, the shorter one], per level (index = level - 1). */
const LEVELS: readonly (readonly [number, number])[] = [
  [1, 1],
  [2, 1],
  [2, 2],
  [3, 2],
  [3, 3],
  [4, 3],
  [4, 4],
  [5, 4],
];

/** What the verifier and the demonstrator need: the two operands, in prompt order. */
interface MulMeta {
  a: number;
  b: number;
}


function metaOf(task: Task): MulMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { a, b } = task.meta as unknown as MulMeta;
  return { a, b };
}

/** A uniform integer with exactly `digits` digits; one-digit operands are 2..9. */
function randomOperand(rng: Rng, digits: number): number {
  return digits === 1 ? rng.range(2, 9) : rng.range(10 ** (digits - 1), 10 ** digits - 1);
}

/** Digits of a non-negative integer, least significant first. */
function digitsOf(n: number): number[] {
  return String(n).split('').reverse().map(Number);
}

/** Every digit product a_i * b_j with its place i + j (0 = units). */
function digitProducts(m: MulMeta): { product: number; place: number }[] {
  const out: { product: number; place: number }[] = [];
  digitsOf(m.a).forEach((x, i) => digitsOf(m.b).forEach((y, j) => out.push({ product: x * y, place: i + j })));
  return out;
}

/**
 * The schoolbook rows: for each digit of the shorter operand (its place j),
 * the row value and the places where the incoming carry pushed a digit
 * product's units over ten. With `slip`, those overflows are lost.
 */
function rows(m: MulMeta, slip: boolean): { value: number; crossings: number }[] {
  const [long, short] = m.a >= m.b ? [m.a, m.b] : [m.b, m.a];
  return digitsOf(short).map((d, j) => {
    let carry = 0;
    let value = 0;
    let crossings = 0;
    digitsOf(long).forEach((x, i) => {
      const p = x * d;
      if ((p % 10) + carry >= 10) crossings++;
      const t = p + carry;
      value += (t % 10) * 10 ** (i + j);
      carry = slip ? Math.floor(p / 10) : Math.floor(t / 10);
    });
    value += carry * 10 ** (String(long).length + j);
    return { value, crossings };
  });
}

/** The blind spot: every row computed with the carry overflow lost, then added correctly. */
function systematicValue(m: MulMeta): number {
  return rows(m, true).reduce((sum, r) => sum + r.value, 0);
}

function check(task: Task, completion: string): Verdict {
  return verifyExact(task.answer, completion, (text) => {
    const n = parseInteger(text.replace(/\s+/g, ''));
    return n === null ? null : n.toString();
  });
}

/** The wrong integer answer of one kind, before the never-correct guard. */
function wrongValue(task: Task, m: MulMeta, kind: string, rng: Rng): string {
  const value = m.a * m.b;
  switch (kind) {
    case 'digit':
      return digitSlip(task.answer, rng);
    case 'carry': {
      // Drop the carry of one digit product: its tens never reach the next column.
      const carrying = digitProducts(m).filter((p) => p.product >= 10);
      if (carrying.length === 0) return digitSlip(task.answer, rng);
      const { product, place } = rng.pick(carrying);
      return String(value - Math.floor(product / 10) * 10 ** (place + 1));
    }
    case 'shift': {
      // One partial-product row written one place too far right (a*b_j*10^j becomes a*b_j*10^(j-1)).
      const [long, short] = m.a >= m.b ? [m.a, m.b] : [m.b, m.a];
      const rows = digitsOf(short).map((d, j) => ({ d, j })).filter(({ d, j }) => j > 0 && d > 0);
      if (rows.length === 0) return digitSlip(task.answer, rng);
      const { d, j } = rng.pick(rows);
      return String(value - long * d * 10 ** j + long * d * 10 ** (j - 1));
    }
    case 'systematic':
      return String(systematicValue(m));
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

export const multiplication: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Multi-digit multiplication; difficulty sets the digits of each operand (1x1, 2x1, 2x2, ... 5x4).',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const [longDigits, shortDigits] = LEVELS[difficulty - 1];
    const long = randomOperand(rng, longDigits);
    const short = randomOperand(rng, shortDigits);
    const [a, b] = rng.bool() ? [long, short] : [short, long];
    const meta: MulMeta = { a, b };
    return { prompt: `mul ${a}*${b}`, answer: String(a * b), meta: { ...meta } };
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
    // A blind spot on a task without carry overflows lands on the truth: slip a digit instead.
    return formatAnswer(check(task, formatAnswer(wrong)).ok ? digitSlip(task.answer, r) : wrong);
  },

  isHard(task: Task): boolean {
    return rows(metaOf(task), false).some((r) => r.crossings > 0);
  },

  stat(task: Task): number {
    const m = metaOf(task);
    return String(m.a).length + String(m.b).length;
  },
});
