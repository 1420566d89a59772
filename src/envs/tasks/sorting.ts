/**
 * sort-v1: sort a list of integers in ascending order.
 *
 *   prompt  `sort 5 2 9 1 3`
 *   answer  `1 2 3 5 9`   (space-separated; any whitespace between numbers is accepted)
 *
 * Difficulty raises the list length (3 to 12) and the value range (one digit,
 * then two digits, then negatives). Values are drawn distinct and then, in
 * about a third of the lists, one value is copied over another, so duplicates
 * appear at every level at a controlled rate. The list is never already sorted.
 *
 * Hard cases: lists with a duplicate, and lists of 10 or more elements. The
 * demonstrator's systematic blind spot collapses duplicates (`1 1 2` -> `1 2`),
 * and on long lists without duplicates sorts by absolute value, so negatives
 * land out of place.
 *
 * Verdict reasons: correct | no_answer | malformed (a token is not a plain
 * integer) | not_sorted (exactly the input's numbers, out of order) | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer, parseInteger } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'sort-v1';

/** Per difficulty level (index = level - 1): list length and the value range [lo, hi]. */
const LEVELS: readonly { n: number; lo: number; hi: number }[] = [
  { n: 3, lo: 0, hi: 9 },
  { n: 5, lo: 0, hi: 9 },
  { n: 6, lo: 0, hi: 99 },
  { n: 8, lo: 0, hi: 99 },
  { n: 10, lo: -99, hi: 99 },
  { n: 12, lo: -99, hi: 99 },
];

/** Probability that a generated list holds a duplicated value. */
const DUPLICATE_RATE = 0.3;

/** Lists at least this long count as hard. */
const HARD_LENGTH = 10;

/** What the verifier needs: the input list, in prompt order. */
interface SortMeta {
  values: number[];
}


function metaOf(task: Task): SortMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return { values: task.meta.values as number[] };
}

const ascending = (a: number, b: number): number => a - b;

function isSortedAscending(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i - 1] > xs[i]) return false;
  return true;
}

function hasDuplicates(xs: readonly number[]): boolean {
  return new Set(xs).size < xs.length;
}

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const { n, lo, hi } = LEVELS[difficulty - 1];
  const seen = new Set<number>();
  const values: number[] = [];
  while (values.length < n) {
    const v = rng.range(lo, hi);
    if (!seen.has(v)) {
      seen.add(v);
      values.push(v);
    }
  }
  if (rng.bool(DUPLICATE_RATE)) {
    const from = rng.int(n);
    const to = (from + 1 + rng.int(n - 1)) % n; // any other position
    values[to] = values[from];
  }
  while (isSortedAscending(values)) rng.shuffle(values);
  const sorted = [...values].sort(ascending);
  return {
    prompt: `sort ${values.join(' ')}`,
    answer: sorted.join(' '),
    meta: { values },
  };
}

function verify(task: Task, completion: string): Verdict {
  const { values } = metaOf(task);
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const tokens = got.text.split(/\s+/);
  const answer: bigint[] = [];
  for (const token of tokens) {
    const v = parseInteger(token);
    if (v === null) return fail('malformed', `not an integer: ${JSON.stringify(token.slice(0, 40))}`);
    answer.push(v);
  }
  const expected = [...values].sort(ascending).map(BigInt);
  if (answer.length === expected.length && answer.every((v, i) => v === expected[i])) return CORRECT;
  const sameNumbers =
    answer.length === expected.length &&
    [...answer].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).every((v, i) => v === expected[i]);
  if (sameNumbers) return fail('not_sorted', 'the right numbers in the wrong order');
  return fail('wrong', `expected ${expected.join(' ')}, got ${got.text.slice(0, 80)}`);
}

function solve(task: Task): string {
  return formatAnswer([...metaOf(task).values].sort(ascending).join(' '));
}

/** The teacher's blind spot: collapses duplicates; on long lists, sorts by absolute value. */
function blindSpot(values: readonly number[]): number[] {
  const sorted = [...values].sort(ascending);
  if (hasDuplicates(values)) return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
  if (values.length >= HARD_LENGTH) return [...values].sort((a, b) => Math.abs(a) - Math.abs(b) || a - b);
  return sorted;
}

/** Swaps the adjacent pair at i (or the first unequal pair from i on) in a copy. */
function swapAdjacent(xs: readonly number[], i: number): number[] {
  const out = [...xs];
  for (let k = 0; k < out.length - 1; k++) {
    const j = (i + k) % (out.length - 1);
    if (out[j] !== out[j + 1]) {
      [out[j], out[j + 1]] = [out[j + 1], out[j]];
      return out;
    }
  }
  return out.slice(1); // all equal: lose one instead
}

const ERROR_KINDS = ['swap', 'drop', 'systematic'] as const;

function mistake(task: Task, kind: string, rng: Rng): string {
  const { values } = metaOf(task);
  const sorted = [...values].sort(ascending);
  let wrong: number[];
  if (kind === 'swap') wrong = swapAdjacent(sorted, rng.int(sorted.length - 1));
  else if (kind === 'drop') {
    const lost = rng.int(sorted.length);
    wrong = sorted.filter((_, i) => i !== lost);
  }
  else if (kind === 'systematic') wrong = blindSpot(values);
  else throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  const completion = formatAnswer(wrong.join(' '));
  if (!verify(task, completion).ok) return completion;
  // The chosen slip happened to be harmless (e.g. the blind spot on an easy list): swap instead, then drop.
  const swapped = formatAnswer(swapAdjacent(sorted, sorted.length - 2).join(' '));
  return verify(task, swapped).ok ? formatAnswer(sorted.slice(1).join(' ')) : swapped;
}

export const sorting: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Sort a list of integers in ascending order; answer space-separated.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const { values } = metaOf(task);
    return hasDuplicates(values) || values.length >= HARD_LENGTH;
  },
  /** The number of elements. */
  stat(task: Task): number {
    return metaOf(task).values.length;
  },
});
