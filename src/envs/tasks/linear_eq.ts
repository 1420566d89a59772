/**
 * linear-eq-v1: solve a linear equation in x with an integer solution.
 *
 *   prompt  `solve 3x-7=-19`          `solve -4(x+3)+5=2x-37`
 *   answer  `-4`                      `3`
 *
 * Levels: 1 `x+b=d`; 2 `ax+b=d`; 3 the same with negative coefficients and
 * the sides sometimes swapped (`d=ax+b`); 4 x on both sides (`ax+b=cx+e`);
 * 5 the same with two-digit coefficients and constants; 6 a bracket on the
 * left (`p(x+q)+b=cx+e`). The solution is drawn first and the constants built
 * from it, so it is always an integer, and the x-coefficients of the two sides
 * always differ, so it is unique.
 *
 * The answer is accepted as `5` or `x=5` (whitespace ignored); it is checked
 * by substituting it into the equation, not by comparing strings.
 *
 * Hard cases are negative solutions; the systematic blind spot drops their
 * minus sign.
 *
 * Verdict reasons: correct | no_answer | malformed | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer, parseInteger } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'linear-eq-v1';
const MAX_LEVEL = 6;
const ERROR_KINDS = ['arith', 'sign', 'move', 'systematic'] as const;

/** The equation collected into ax+b = cx+d (what the verifier substitutes into), plus the solution. */
interface LinearMeta {
  a: number;
  b: number;
  c: number;
  d: number;
  x: number;
}


function metaOf(task: Task): LinearMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  const { a, b, c, d, x } = task.meta as unknown as LinearMeta;
  return { a, b, c, d, x };
}

/** A non-zero integer with magnitude in [lo, hi] and a random sign. */
function signed(rng: Rng, lo: number, hi: number): number {
  return rng.range(lo, hi) * (rng.bool() ? 1 : -1);
}

/** `kx+c` written the usual way: `x`, `-x`, `3x-7`, `12`, ... */
function linear(k: number, c: number): string {
  const xs = k === 0 ? '' : k === 1 ? 'x' : k === -1 ? '-x' : `${k}x`;
  if (xs === '') return String(c);
  return c === 0 ? xs : c > 0 ? `${xs}+${c}` : `${xs}${c}`;
}

/** A signed constant appended to a term: `+5`, `-5`, or nothing for 0. */
function plus(c: number): string {
  return c === 0 ? '' : c > 0 ? `+${c}` : String(c);
}

/** Draws one equation of the given level: its printed form and collected coefficients. */
function draw(rng: Rng, level: number): { equation: string; meta: LinearMeta } {
  switch (level) {
    case 1: {
      const x = rng.range(0, 9);
      const b = signed(rng, 1, 9);
      return { equation: `${linear(1, b)}=${x + b}`, meta: { a: 1, b, c: 0, d: x + b, x } };
    }
    case 2:
    case 3: {
      const x = level === 2 ? rng.range(-9, 9) : rng.range(-12, 12);
      const a = level === 2 ? rng.range(2, 9) : signed(rng, 2, 9);
      const b = level === 2 ? signed(rng, 1, 20) : signed(rng, 1, 30);
      const d = a * x + b;
      const swap = level === 3 && rng.bool();
      const equation = swap ? `${d}=${linear(a, b)}` : `${linear(a, b)}=${d}`;
      return { equation, meta: { a, b, c: 0, d, x } };
    }
    case 4:
    case 5: {
      const [kMax, cMax, xMax] = level === 4 ? [9, 20, 12] : [19, 99, 20];
      const x = rng.range(-xMax, xMax);
      const a = signed(rng, 1, kMax);
      let c = signed(rng, 1, kMax);
      while (c === a) c = signed(rng, 1, kMax);
      const b = signed(rng, 1, cMax);
      const d = (a - c) * x + b;
      return { equation: `${linear(a, b)}=${linear(c, d)}`, meta: { a, b, c, d, x } };
    }
    default: {
      // p(x+q)+r = cx+d, collected to px + (pq+r) = cx + d.
      const x = rng.range(-20, 20);
      const p = signed(rng, 2, 12);
      const q = signed(rng, 1, 9);
      const r = signed(rng, 1, 50);
      let c = signed(rng, 2, 19);
      while (c === p) c = signed(rng, 2, 19);
      const b = p * q + r;
      const d = (p - c) * x + b;
      return { equation: `${p}(${linear(1, q)})${plus(r)}=${linear(c, d)}`, meta: { a: p, b, c, d, x } };
    }
  }
}

/** The solution a completion states, or null: `5`, `-5`, `x=5` (whitespace ignored). */
function parseSolution(text: string): bigint | null {
  const compact = text.replace(/\s+/g, '');
  return parseInteger(compact.startsWith('x=') ? compact.slice(2) : compact);
}

function check(task: Task, completion: string): Verdict {
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const n = parseSolution(got.text);
  if (n === null) return fail('malformed', `not an integer or x=integer: ${JSON.stringify(got.text.slice(0, 80))}`);
  const { a, b, c, d } = metaOf(task);
  const satisfies = BigInt(a) * n + BigInt(b) === BigInt(c) * n + BigInt(d);
  return satisfies ? CORRECT : fail('wrong', `x=${n} does not satisfy ${task.prompt.slice('solve '.length)}`);
}

/** The wrong solution of one kind, before the never-correct guard. */
function wrongValue(meta: LinearMeta, kind: string, rng: Rng): number {
  const { a, b, c, d, x } = meta;
  switch (kind) {
    case 'arith':
      return x + rng.pick([-2, -1, 1, 2]);
    case 'sign':
      return -x;
    case 'move': {
      // Moves the constant across '=' without flipping its sign: (a-c)x = d+b instead of d-b.
      const num = d + b;
      return num % (a - c) === 0 ? num / (a - c) : x + rng.pick([-1, 1]);
    }
    case 'systematic':
      return Math.abs(x);
    default:
      throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  }
}

export const linearEq: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Solve a linear equation for an integer x (negatives, x on both sides, brackets as difficulty rises).',
  difficulty: { min: 1, max: MAX_LEVEL, default: 2 },
  errorKinds: ERROR_KINDS,

  generate(rng: Rng, difficulty: number): DrawnTask {
    const { equation, meta } = draw(rng, difficulty);
    return { prompt: `solve ${equation}`, answer: String(meta.x), meta: { ...meta } };
  },

  verify: check,

  solve(task: Task): string {
    return formatAnswer(task.answer);
  },

  mistake(task: Task, kind: string, rng: Rng): string {
    const meta = metaOf(task);
    const wrong = wrongValue(meta, kind, rng);
    // A mistake that lands on the truth (a sign flip of 0, |x| of a positive x) becomes a deterministic x+1.
    return formatAnswer(String(wrong === meta.x ? meta.x + 1 : wrong));
  },

  isHard(task: Task): boolean {
    return metaOf(task).x < 0;
  },

  /** Length of the equation: more terms, signs and digits as the level rises. */
  stat(task: Task): number {
    return task.prompt.length - 'solve '.length;
  },
});
