/**
 * modular-v1: modular arithmetic over a short expression.
 *
 *   prompt  `(47*38-95) mod 17`
 *   answer  `4`
 *
 * The expression is a chain of + - * over positive integers with the usual
 * precedence (* before + and -, otherwise left to right). `mod m` means the
 * least non-negative residue, in [0, m), also when the expression is negative
 * (so `(12-47) mod 9` is 1, not -8). Difficulty adds operations (0 at level 1,
 * 5 at level 6) and grows the operands (two then three digits) and the
 * modulus (up to 9, ..., up to 999). Values are computed in BigInt.
 *
 * Hard cases are negative expressions not divisible by m. The systematic
 * blind spot is C's `%`: the remainder takes the sign of the dividend
 * ((12-47) mod 9 -> -8).
 *
 * Verdict reasons: correct | no_answer | malformed | not_reduced (congruent
 * to the answer but outside [0, m)) | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer, parseInteger } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'modular-v1';
const ERROR_KINDS = ['off_by_one', 'unreduced', 'precedence', 'systematic'] as const;

type Op = '+' | '-' | '*';

/** Per level (index = level - 1): operation count, operand digits, and the largest modulus. */
const LEVELS: readonly { ops: number; digits: number; maxMod: number }[] = [
  { ops: 0, digits: 2, maxMod: 9 },
  { ops: 1, digits: 2, maxMod: 13 },
  { ops: 2, digits: 2, maxMod: 20 },
  { ops: 3, digits: 3, maxMod: 50 },
  { ops: 4, digits: 3, maxMod: 99 },
  { ops: 5, digits: 3, maxMod: 999 },
];

/** What the verifier and the demonstrator need: operands, operators between them, and the modulus. */
interface ModMeta {
  terms: number[]; // ops.length + 1 positive operands, in prompt order
  ops: Op[];
  m: number; // modulus, >= 3
}


function metaOf(task: Task): ModMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { terms, ops, m } = task.meta as unknown as ModMeta;
  return { terms, ops, m };
}

/** The expression's value with * before + and -. */
function evaluate(terms: readonly number[], ops: readonly Op[]): bigint {
  let sum = 0n;
  let sign = 1n;
  let product = BigInt(terms[0]);
  for (let i = 0; i < ops.length; i++) {
    const t = BigInt(terms[i + 1]);
    if (ops[i] === '*') {
      product *= t;
      continue;
    }
    sum += sign * product;
    sign = ops[i] === '+' ? 1n : -1n;
    product = t;
  }
  return sum + sign * product;
}

/** The expression's value read strictly left to right, ignoring precedence. */
function evaluateLeftToRight(terms: readonly number[], ops: readonly Op[]): bigint {
  let v = BigInt(terms[0]);
  for (let i = 0; i < ops.length; i++) {
    const t = BigInt(terms[i + 1]);
    v = ops[i] === '+' ? v + t : ops[i] === '-' ? v - t : v * t;
  }
  return v;
}

/** Least non-negative residue. */
function residue(v: bigint, m: bigint): bigint {
  return ((v % m) + m) % m;
}

function render(meta: ModMeta): string {
  let expr = String(meta.terms[0]);
  meta.ops.forEach((op, i) => (expr += `${op}${meta.terms[i + 1]}`));
  return meta.ops.length === 0 ? `${expr} mod ${meta.m}` : `(${expr}) mod ${meta.m}`;
}

function check(task: Task, completion: string): Verdict {
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const n = parseInteger(got.text.replace(/\s+/g, ''));
  if (n === null) return fail('malformed', `not an integer: ${JSON.stringify(got.text.slice(0, 80))}`);
  const m = BigInt(metaOf(task).m);
  const want = BigInt(task.answer);
  if (n === want) return CORRECT;
  if (residue(n - want, m) === 0n) return fail('not_reduced', `${n} is congruent to ${want} but not in [0, ${m})`);
  return fail('wrong', `expected ${want}, got ${n}`);
}

/** The wrong integer answer of one kind, before the never-correct guard. */
function wrongValue(task: Task, meta: ModMeta, kind: string, rng: Rng): bigint {
  const m = BigInt(meta.m);
  const value = evaluate(meta.terms, meta.ops);
  const r = BigInt(task.answer);
  switch (kind) {
    case 'off_by_one':
      return residue(r + (rng.bool() ? 1n : -1n), m);
    case 'unreduced':
      // Forgets to reduce: the raw value, or (if that happens to be reduced already) one modulus too many.
      return value === r ? r + m : value;
    case 'precedence':
      return residue(evaluateLeftToRight(meta.terms, meta.ops), m);
    case 'systematic':
      return value % m; // BigInt % truncates toward zero, like C
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

export const modular: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Modular arithmetic: (a*b+c-...) mod m as the least non-negative residue; difficulty adds operations and grows operands.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const { ops: count, digits, maxMod } = LEVELS[difficulty - 1];
    // Level 1 is a lone number that is at least the modulus; later operands may have fewer digits.
    const lo = count === 0 ? 10 ** (digits - 1) : 1;
    const terms = Array.from({ length: count + 1 }, () => rng.range(lo, 10 ** digits - 1));
    const ops = Array.from({ length: count }, () => rng.pick(['+', '-', '*'] as const));
    const meta: ModMeta = { terms, ops, m: rng.range(3, maxMod) };
    const answer = residue(evaluate(terms, ops), BigInt(meta.m)).toString();
    return { prompt: render(meta), answer, meta: { ...meta } };
  },

  verify: check,

  solve(task: Task): string {
    return formatAnswer(task.answer);
  },

  mistake(task: Task, kind: string, rng: Rng): string {
    const meta = metaOf(task);
    const wrong = wrongValue(task, meta, kind, rng);
    // A blind spot that lands on the truth (e.g. C's % on a non-negative value) becomes a deterministic off-by-one.
    if (wrong !== BigInt(task.answer)) return formatAnswer(wrong.toString());
    return formatAnswer(residue(wrong + 1n, BigInt(meta.m)).toString());
  },

  isHard(task: Task): boolean {
    const meta = metaOf(task);
    const value = evaluate(meta.terms, meta.ops);
    return value < 0n && value % BigInt(meta.m) !== 0n;
  },

  stat(task: Task): number {
    return metaOf(task).ops.length + 1;
  },
});
