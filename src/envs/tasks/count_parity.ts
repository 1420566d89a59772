/**
 * count-parity-v1: count a symbol in a sequence, or tell the parity of its 1s.
 *
 *   prompt  `count b in abbcab`          answer  `3`
 *   prompt  `parity of 1s in 1101001`    answer  `even`   (four 1s)
 *
 * Half the tasks are counts (over the letters a, b, c), half are parity (over
 * bits). Count answers are plain integers; parity answers are `even` or `odd`
 * (any letter case). Difficulty raises the sequence length (4 to 48).
 *
 * Hard cases: tasks where the demonstrator's systematic blind spot changes the
 * answer: it counts a run of repeated symbols (`bb`) as one.
 *
 * Verdict reasons: correct | no_answer | malformed (not an integer / not
 * even-or-odd) | wrong.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer, parseInteger } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'count-parity-v1';

/** Per difficulty level (index = level - 1): the sequence length range. */
const LEVELS: readonly { minLen: number; maxLen: number }[] = [
  { minLen: 4, maxLen: 6 },
  { minLen: 8, maxLen: 10 },
  { minLen: 12, maxLen: 16 },
  { minLen: 18, maxLen: 24 },
  { minLen: 26, maxLen: 34 },
  { minLen: 36, maxLen: 48 },
];

/** Symbols of a counting task's sequence. */
const COUNT_ALPHABET = 'abc';

type Kind = 'count' | 'parity';

/** What the verifier needs: the task kind, the symbol counted ('1' for parity) and the sequence. */
interface CountMeta {
  kind: Kind;
  symbol: string;
  seq: string;
}


function metaOf(task: Task): CountMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return { kind: task.meta.kind as Kind, symbol: task.meta.symbol as string, seq: task.meta.seq as string };
}

function countOf(seq: string, symbol: string): number {
  let n = 0;
  for (const c of seq) if (c === symbol) n++;
  return n;
}

/** The blind spot: a run of repeated symbols counts once. */
function runsOf(seq: string, symbol: string): number {
  let n = 0;
  for (let i = 0; i < seq.length; i++) if (seq[i] === symbol && seq[i - 1] !== symbol) n++;
  return n;
}

/** The final answer for a count (as an integer) under the task's kind. */
function answerFor(kind: Kind, count: number): string {
  if (kind === 'count') return String(count);
  return count % 2 === 0 ? 'even' : 'odd';
}

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const { minLen, maxLen } = LEVELS[difficulty - 1];
  const kind: Kind = rng.bool() ? 'count' : 'parity';
  const alphabet = kind === 'count' ? COUNT_ALPHABET : '01';
  const len = rng.range(minLen, maxLen);
  let seq = '';
  for (let i = 0; i < len; i++) seq += alphabet[rng.int(alphabet.length)];
  const symbol = kind === 'count' ? rng.pick([...COUNT_ALPHABET]) : '1';
  return {
    prompt: kind === 'count' ? `count ${symbol} in ${seq}` : `parity of 1s in ${seq}`,
    answer: answerFor(kind, countOf(seq, symbol)),
    meta: { kind, symbol, seq },
  };
}

function verify(task: Task, completion: string): Verdict {
  const { kind, symbol, seq } = metaOf(task);
  const expected = answerFor(kind, countOf(seq, symbol));
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  if (kind === 'count') {
    const n = parseInteger(got.text);
    if (n === null) return fail('malformed', `not an integer: ${JSON.stringify(got.text.slice(0, 40))}`);
    return String(n) === expected ? CORRECT : fail('wrong', `expected ${expected}, got ${n}`);
  }
  const word = got.text.toLowerCase();
  if (word !== 'even' && word !== 'odd') return fail('malformed', `not even/odd: ${JSON.stringify(got.text.slice(0, 40))}`);
  return word === expected ? CORRECT : fail('wrong', `expected ${expected}, got ${word}`);
}

function solve(task: Task): string {
  const { kind, symbol, seq } = metaOf(task);
  return formatAnswer(answerFor(kind, countOf(seq, symbol)));
}

const ERROR_KINDS = ['off_by_one', 'systematic'] as const;

function mistake(task: Task, kind: string, rng: Rng): string {
  const meta = metaOf(task);
  const right = countOf(meta.seq, meta.symbol);
  const offByOne = right === 0 ? 1 : right - 1;
  let wrong: number;
  if (kind === 'off_by_one') wrong = right === 0 || rng.bool() ? right + 1 : right - 1;
  else if (kind === 'systematic') wrong = runsOf(meta.seq, meta.symbol);
  else throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  // A harmless blind spot (no runs, or runs of even parity): undercount by one instead.
  if (answerFor(meta.kind, wrong) === answerFor(meta.kind, right)) wrong = offByOne;
  return formatAnswer(answerFor(meta.kind, wrong));
}

export const countParity: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Count a symbol in a sequence, or say whether the number of 1s is even or odd.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const { kind, symbol, seq } = metaOf(task);
    return answerFor(kind, runsOf(seq, symbol)) !== answerFor(kind, countOf(seq, symbol));
  },
  /** The sequence length. */
  stat(task: Task): number {
    return metaOf(task).seq.length;
  },
});
