/**
 * defineTaskFamily: write a task family in a few lines. You give an id, a
 * description, a difficulty range and a generator that draws one task from a
 * seeded Rng; everything else of TaskFamily gets a sensible default:
 *
 *   verify     exact match of the extracted final answer with task.answer
 *              (after an optional normalize), via verifyExact
 *   solve      'Answer: <task.answer>'
 *   errorKinds ['slip', 'systematic'];  mistake: perturbAnswer below
 *   isHard     task.difficulty >= difficulty.max
 *   stat       the answer's length in characters
 *
 * generate() is wrapped so the contract holds by construction: a bad
 * difficulty throws RangeError, and the Rng is seeded from (id, seed,
 * difficulty) so the same inputs always give the same task.
 *
 * The built-in families (tasks/*) are written with it too, giving every
 * member, so seeding and the difficulty check live here once.
 */
import { Rng } from '../util/rng.ts';
import { formatAnswer, verifyExact } from './answer.ts';
import type { DifficultyRange, Json, Task, TaskFamily, Verdict } from './types.ts';

/** What a generator draws for one task: the prompt, the correct final answer, and any data verify needs. */
export interface DrawnTask {
  prompt: string;
  answer: string | number;
  meta?: { [k: string]: Json };
}

/** What you write; every optional member has the default listed above. */
export interface TaskSpec {
  id: string; // versioned id, 'name-vN'
  description: string; // one line
  difficulty: { min: number; max: number; default?: number }; // integers; default defaults to min
  /** One task drawn from `rng`: the prompt, the correct final answer, and any data verify needs. */
  generate(rng: Rng, difficulty: number): DrawnTask;
  /** Maps an extracted answer to canonical form before comparing with task.answer; null means malformed. */
  normalize?(text: string): string | null;
  verify?(task: Task, completion: string): Verdict | Promise<Verdict>;
  solve?(task: Task): string;
  errorKinds?: readonly string[];
  mistake?(task: Task, kind: string, rng: Rng): string;
  isHard?(task: Task): boolean;
  stat?(task: Task): number;
}

export function defineTaskFamily(spec: TaskSpec): TaskFamily {
  for (const key of ['id', 'description'] as const) {
    if (typeof spec?.[key] !== 'string') throw new TypeError(`defineTaskFamily: ${key} must be a string, got ${JSON.stringify(spec?.[key])}`);
  }
  if (typeof spec.generate !== 'function') throw new TypeError(`defineTaskFamily(${spec.id}): generate must be a function (rng, difficulty) => { prompt, answer }`);
  const { min, max } = spec.difficulty ?? {};
  const difficulty: DifficultyRange = { min, max, default: spec.difficulty?.default ?? min };
  if (![difficulty.min, difficulty.max, difficulty.default].every(Number.isInteger) || !(min <= difficulty.default && difficulty.default <= max)) {
    throw new TypeError(`defineTaskFamily(${spec.id}): difficulty needs integers min <= default <= max, got ${JSON.stringify(spec.difficulty)}`);
  }
  const { id, normalize } = spec;
  return {
    id,
    description: spec.description,
    difficulty,
    generate(seed: number, level: number): Task {
      assertDifficulty(id, difficulty, level);
      const made = spec.generate(new Rng(`${id}:${seed}:${level}`), level);
      return { env: id, seed, difficulty: level, prompt: made.prompt, answer: String(made.answer), meta: made.meta ?? {} };
    },
    verify: spec.verify ?? ((task, completion) => verifyExact(task.answer, completion, normalize)),
    solve: spec.solve ?? ((task) => formatAnswer(task.answer)),
    errorKinds: spec.errorKinds ?? ['slip', 'systematic'],
    mistake: spec.mistake ?? ((task, kind, rng) => formatAnswer(perturbAnswer(task.answer, kind, rng))),
    isHard: spec.isHard ?? ((task) => task.difficulty >= difficulty.max),
    stat: spec.stat ?? ((task) => task.answer.length),
  };
}

/** Throws RangeError unless `d` is an integer level within `range`. */
export function assertDifficulty(id: string, range: { min: number; max: number }, d: number): void {
  if (!Number.isInteger(d) || d < range.min || d > range.max) {
    throw new RangeError(`${id}: difficulty must be an integer in [${range.min}, ${range.max}], got ${d}`);
  }
}

/**
 * A plausible wrong answer, always different from `answer` as a string.
 *   integers:  'systematic' is off by one (n + 1); a slip changes one digit
 *   other text: 'systematic' reverses it (or doubles its last character when
 *              reversing changes nothing); a slip changes one character to
 *              another of the same class (digit, lower, upper)
 */
export function perturbAnswer(answer: string, kind: string, rng: Rng): string {
  if (answer === '') return 'x';
  const integer = /^-?\d+$/.test(answer);
  if (kind === 'systematic') {
    if (integer) return String(BigInt(answer) + 1n);
    const reversed = [...answer].reverse().join('');
    return reversed !== answer ? reversed : answer + answer[answer.length - 1];
  }
  const chars = [...answer];
  const spots = chars.map((_, i) => i).filter((i) => /[0-9a-zA-Z]/.test(chars[i]));
  if (spots.length === 0) return answer + 'x';
  const i = rng.pick(spots);
  const c = chars[i];
  const pool = /[0-9]/.test(c) ? '0123456789' : /[a-z]/.test(c) ? 'abcdefghijklmnopqrstuvwxyz' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const leading = integer && i === (answer[0] === '-' ? 1 : 0) && answer !== '0'; // no '07', no '-0'
  const choices = [...pool].filter((x) => x !== c && !(leading && x === '0'));
  chars[i] = rng.pick(choices);
  return chars.join('');
}
