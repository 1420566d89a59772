/**
 * base-convert-v1: convert a non-negative integer between bases.
 *
 *   prompt  `convert 1011 from base 2 to base 16`
 *   answer  `b`
 *
 * Digits are 0-9 then a-z (base 16 uses 0-9a-f); no prefixes (0x, 0b) and no
 * leading zeros. Upper- and lower-case letter digits are both accepted, and
 * whitespace inside the answer is ignored. Difficulty grows the magnitude and
 * widens the bases:
 *   1  0..15, base 10 -> 2              4  4096..65535, any two of 2, 8, 10, 16
 *   2  16..255, base 10 <-> 2           5  up to 2^24, any two bases in 2..16
 *   3  256..4095, 10 <-> 2, 8 or 16     6  up to 2^32, any two bases in 2..36
 *
 * Hard cases are conversions into a base other than 10 whose answer is not a
 * palindrome. The systematic blind spot is the repeated-division slip: the
 * remainders are written in the order they were found, so the digits come out
 * reversed (13 to base 2 -> 1011 instead of 1101).
 *
 * Verdict reasons: correct | no_answer | malformed (a character that is not a
 * digit of the target base) | leading_zeros | wrong. The comparison is on
 * strings, so a 1 MB answer costs linear time, not a BigInt parse.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'base-convert-v1';
const ERROR_KINDS = ['digit', 'off_by_one', 'letters', 'systematic'] as const;
const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Per level (index = level - 1): the value range [lo, hi] and how the (from, to) bases are chosen. */
const LEVELS: readonly { lo: number; hi: number; bases: (rng: Rng) => [number, number] }[] = [
  { lo: 0, hi: 15, bases: () => [10, 2] },
  { lo: 16, hi: 255, bases: (rng) => (rng.bool() ? [10, 2] : [2, 10]) },
  { lo: 256, hi: 4095, bases: (rng) => withTen(rng, rng.pick([2, 8, 16])) },
  { lo: 4096, hi: 65535, bases: (rng) => twoOf(rng, [2, 8, 10, 16]) },
  { lo: 65536, hi: 2 ** 24 - 1, bases: (rng) => twoOf(rng, range(2, 16)) },
  { lo: 2 ** 24, hi: 2 ** 32 - 1, bases: (rng) => twoOf(rng, range(2, 36)) },
];

/** What the verifier and the demonstrator need: the value and the two bases. */
interface BaseMeta {
  value: number;
  from: number;
  to: number;
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Base 10 on one side (random which), `other` on the other. */
function withTen(rng: Rng, other: number): [number, number] {
  return rng.bool() ? [10, other] : [other, 10];
}

/** Two distinct bases from the list, in random order. */
function twoOf(rng: Rng, bases: readonly number[]): [number, number] {
  const [from, to] = rng.shuffle([...bases]);
  return [from, to];
}


function metaOf(task: Task): BaseMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { value, from, to } = task.meta as unknown as BaseMeta;
  return { value, from, to };
}

function check(task: Task, completion: string): Verdict {
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const text = got.text.replace(/\s+/g, '').toLowerCase();
  const { to } = metaOf(task);
  const allowed = DIGITS.slice(0, to);
  for (const ch of text) {
    if (!allowed.includes(ch)) return fail('malformed', `${JSON.stringify(ch)} is not a base-${to} digit`);
  }
  if (text.length > 1 && text[0] === '0') return fail('leading_zeros', 'write the number without leading zeros');
  return text === task.answer ? CORRECT : fail('wrong', `expected ${task.answer}, got ${text.slice(0, 80)}`);
}

/** Reverses a numeral and drops the leading zeros that reversal may bring. */
function reversed(numeral: string): string {
  return numeral.split('').reverse().join('').replace(/^0+(?=.)/, '');
}

/** One digit changed to another digit of the base (never to a leading zero). */
function digitSlip(numeral: string, base: number, rng: Rng): string {
  // A binary numeral's leading 1 has no alternative, so it is never the digit changed.
  const i = base === 2 && numeral.length > 1 ? 1 + rng.int(numeral.length - 1) : rng.int(numeral.length);
  const lowest = i === 0 && numeral.length > 1 ? 1 : 0;
  let d = rng.range(lowest, base - 1);
  while (DIGITS[d] === numeral[i]) d = rng.range(lowest, base - 1);
  return numeral.slice(0, i) + DIGITS[d] + numeral.slice(i + 1);
}

/** The wrong numeral of one kind, before the never-correct guard. */
function wrongNumeral(task: Task, meta: BaseMeta, kind: string, rng: Rng): string {
  switch (kind) {
    case 'digit':
      return digitSlip(task.answer, meta.to, rng);
    case 'off_by_one': {
      const step = meta.value === 0 || rng.bool() ? 1 : -1;
      return (meta.value + step).toString(meta.to);
    }
    case 'letters':
      // Digits worth 10 or more written in decimal: 'ff' -> '1515'.
      return task.answer
        .split('')
        .map((ch) => String(DIGITS.indexOf(ch)))
        .join('');
    case 'systematic':
      return reversed(task.answer);
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

export const baseConvert: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Convert a non-negative integer between bases 2..36 (digits 0-9a-z, any case); difficulty grows magnitude and bases.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const level = LEVELS[difficulty - 1];
    const value = rng.range(level.lo, level.hi);
    const [from, to] = level.bases(rng);
    const meta: BaseMeta = { value, from, to };
    const prompt = `convert ${value.toString(from)} from base ${from} to base ${to}`;
    return { prompt, answer: value.toString(to), meta: { ...meta } };
  },

  verify: check,

  solve(task: Task): string {
    return formatAnswer(task.answer);
  },

  mistake(task: Task, kind: string, rng: Rng): string {
    const meta = metaOf(task);
    // The systematic error ignores the caller's rng so it is the same every time.
    const r = kind === 'systematic' ? new Rng(`${ID}:systematic:${task.seed}:${task.difficulty}`) : rng;
    const wrong = wrongNumeral(task, meta, kind, r);
    // A palindrome reversed, or an answer without letter digits, lands on the truth: slip a digit instead.
    return formatAnswer(wrong === task.answer ? digitSlip(task.answer, meta.to, r) : wrong);
  },

  isHard(task: Task): boolean {
    return metaOf(task).to !== 10 && reversed(task.answer) !== task.answer;
  },

  /** Bit length of the value: the magnitude ranges of the levels do not overlap. */
  stat(task: Task): number {
    return metaOf(task).value.toString(2).length;
  },
});
