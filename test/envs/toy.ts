/**
 * Tiny environments for the envs tests: a correct task family (sums of
 * small numbers), a multi-turn family and a game (Nim), plus helpers that
 * break one contract at a time. Independent of the built-in families.
 */
import { CORRECT, extractAnswer, fail, formatAnswer, parseInteger } from '../../src/envs/answer.ts';
import type { Game, MultiTurnFamily, StepResult, Task, TaskFamily, TextEpisode } from '../../src/envs/types.ts';
import { Rng } from '../../src/util/rng.ts';

/** Sum of `difficulty` numbers in [1, 9]; hard when the sum is at least 10 * difficulty / 2 + 5. */
export const toySum: TaskFamily = {
  id: 'toy-sum-v1',
  description: 'Add a few one-digit numbers.',
  difficulty: { min: 1, max: 4, default: 2 },
  generate(seed, difficulty) {
    if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 4) throw new RangeError(`toy-sum-v1: difficulty ${difficulty}`);
    const rng = new Rng(seed * 10 + difficulty);
    const xs = Array.from({ length: difficulty + 1 }, () => rng.range(1, 9));
    const sum = xs.reduce((a, b) => a + b, 0);
    return { env: 'toy-sum-v1', seed, difficulty, prompt: `${xs.join(' + ')} = ?`, answer: String(sum), meta: { xs } };
  },
  verify(task, completion) {
    const got = extractAnswer(completion);
    if (!got.ok) return fail('no_answer');
    const n = parseInteger(got.text);
    if (n === null) return fail('malformed');
    return String(n) === task.answer ? CORRECT : fail('wrong');
  },
  solve: (task) => formatAnswer(task.answer),
  errorKinds: ['slip', 'systematic'],
  mistake(task, kind, rng) {
    const n = Number(task.answer);
    if (kind === 'systematic') return formatAnswer(String(n - 10 >= 0 ? n - 10 : n + 10)); // forgets a carry
    return formatAnswer(String(n + rng.pick([-2, -1, 1, 2])));
  },
  isHard: (task: Task) => Number(task.answer) >= 5 * task.difficulty + 5,
  stat: (task: Task) => (task.meta.xs as number[]).length,
};

/** A copy of toySum with some members replaced. */
export function broken(over: Partial<TaskFamily>): TaskFamily {
  return { ...toySum, ...over };
}

/** Say the number shown, twice in a row, within three turns. */
export const toyEcho: MultiTurnFamily = {
  id: 'toy-echo-v1',
  description: 'Repeat the number shown, twice.',
  difficulty: { min: 1, max: 2, default: 1 },
  maxTurns: 3,
  create(): TextEpisode {
    let target = 0;
    let turn = 0;
    return {
      reset(seed, difficulty = 1) {
        if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 2) throw new RangeError(`toy-echo-v1: difficulty ${difficulty}`);
        target = new Rng(seed).range(1, 10 ** difficulty * 9);
        turn = 0;
        return `Say ${target}.`;
      },
      step(action): StepResult {
        turn++;
        const got = extractAnswer(action);
        const right = got.ok && got.text === String(target);
        if (right && turn >= 2) return { observation: '', reward: 1, done: true, info: { reason: 'correct' } };
        if (turn >= 3) return { observation: '', reward: 0, done: true, info: { reason: 'out_of_turns' } };
        return { observation: right ? `Again: say ${target}.` : `No. Say ${target}.`, reward: 0, done: false, info: {} };
      },
    };
  },
  solve: (transcript) => formatAnswer(/(\d+)\.$/.exec(transcript[transcript.length - 1])![1]),
};

/** Nim with one heap of 7: take 1-3 stones (moves 0..2 take 1..3); whoever takes the last stone wins. */
export type NimState = { heap: number; toMove: 0 | 1 };
export const toyNim: Game<NimState> = {
  id: 'toy-nim-v1',
  description: 'One heap of seven; take one to three; last stone wins.',
  numActions: 3,
  encodingShape: [8],
  initial: () => ({ heap: 7, toMove: 0 }),
  toMove: (s) => s.toMove,
  legalMoves: (s) => (s.heap === 0 ? [] : [0, 1, 2].filter((m) => m + 1 <= s.heap)),
  play(s, move) {
    if (s.heap === 0 || !Number.isInteger(move) || move < 0 || move > 2 || move + 1 > s.heap) throw new RangeError(`toy-nim-v1: illegal move ${move} at heap ${s.heap}`);
    return { heap: s.heap - move - 1, toMove: s.toMove === 0 ? 1 : 0 };
  },
  result: (s) => (s.heap > 0 ? null : s.toMove === 1 ? 1 : -1),
  encode(s) {
    const x = new Float32Array(8);
    x[s.heap] = 1;
    return x;
  },
  render: (s) => `heap ${s.heap}, player ${s.toMove} to move`,
  key: (s) => `${s.heap}/${s.toMove}`,
};
