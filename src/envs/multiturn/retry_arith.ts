/**
 * retry-arith-v1: an arithmetic question with second chances. A wrong answer
 * gets the observation 'wrong, try again' and another attempt, for less
 * reward: 1 on the first attempt, 0.5 on the second, 0.25 on the third, 0
 * after three misses. A policy that corrects its own errors earns more than
 * one that repeats them, so error correction can be learned and measured
 * (info.attempt says which attempt succeeded).
 *
 * Difficulty 1..5 is the operand size: a and b have `difficulty` digits, the
 * operation is +, - or * (for * the second operand has ceil(difficulty / 2)
 * digits).
 *
 * The flawed teacher (demonstrate): a hard case is a negative result
 * (a - b with b > a, about one task in six), where the teacher's systematic
 * mistake is to drop the minus sign; elsewhere it slips (one digit changed)
 * with probability errorRate. Every attempt is made afresh, so after 'wrong,
 * try again' on a hard case it drops the sign again with probability
 * 1 - hardAccuracy: its greedy imitator repeats the mistake, and learning to
 * correct it is left to RL.
 */
import { Rng } from '../../util/rng.ts';
import { extractAnswer, formatAnswer, parseInteger } from '../answer.ts';
import { assertDifficulty, perturbAnswer } from '../define.ts';
import type { DemoOptions, MultiTurnFamily, StepResult, TextEpisode } from '../types.ts';

const ID = 'retry-arith-v1';
const DIFFICULTY = { min: 1, max: 5, default: 2 };
const REWARDS = [1, 0.5, 0.25]; // by attempt; its length is maxTurns
const WRONG = 'wrong, try again';
const NO_ANSWER = 'no answer found, try again: reply with "Answer: <integer>"';

type Op = '+' | '-' | '*';

function digits(rng: Rng, n: number): bigint {
  return BigInt(rng.range(10 ** (n - 1), 10 ** n - 1));
}

function apply(a: bigint, op: Op, b: bigint): bigint {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

class RetryArithEpisode implements TextEpisode {
  private answer = 0n;
  private attempts = 0;
  private done = true;

  reset(seed: number, difficulty = DIFFICULTY.default): string {
    assertDifficulty(ID, DIFFICULTY, difficulty);
    const rng = new Rng(`${ID}:${seed}:${difficulty}`);
    const op = rng.pick<Op>(['+', '-', '*']);
    const a = digits(rng, difficulty);
    const b = digits(rng, op === '*' ? Math.ceil(difficulty / 2) : difficulty);
    this.answer = apply(a, op, b);
    this.attempts = 0;
    this.done = false;
    return `Compute ${a} ${op} ${b}. Reply with "Answer: <integer>". If you are wrong you may try again, for less reward.`;
  }

  step(action: string): StepResult {
    if (this.done) return { observation: '', reward: 0, done: true, info: { reason: 'episode_over' } };
    const attempt = ++this.attempts;
    const got = extractAnswer(action);
    const n = got.ok ? parseInteger(got.text) : null;
    const reason = n === this.answer ? 'correct' : n !== null ? 'wrong' : got.ok ? 'malformed' : 'no_answer';
    if (reason === 'correct') {
      this.done = true;
      return { observation: '', reward: REWARDS[attempt - 1], done: true, info: { reason, attempt } };
    }
    if (attempt >= REWARDS.length) {
      this.done = true;
      return { observation: '', reward: 0, done: true, info: { reason, attempt } };
    }
    return { observation: reason === 'wrong' ? WRONG : NO_ANSWER, reward: 0, done: false, info: { reason, attempt } };
  }
}

/** The answer to the question in the first observation (null if it holds none). */
function answerOf(firstObservation: string | undefined): bigint | null {
  const m = /Compute (\d+) ([+*-]) (\d+)\./.exec(firstObservation ?? '');
  return m ? apply(BigInt(m[1]), m[2] as Op, BigInt(m[3])) : null;
}

/** Computes the question in the first observation. */
function solve(transcript: readonly string[]): string {
  return formatAnswer(String(answerOf(transcript[0]) ?? 0n));
}

/** A hard case: the result is negative. */
function isHard(firstObservation: string): boolean {
  const n = answerOf(firstObservation);
  return n !== null && n < 0n;
}

/**
 * The teacher's next attempt (see the header). One uniform draw decides right
 * or wrong on either kind of task, as in demonstrate (src/envs/demo.ts).
 */
function demonstrate(transcript: readonly string[], rng: Rng, teacher: DemoOptions): string {
  const n = answerOf(transcript[0]);
  if (n === null) return solve(transcript);
  const u = rng.float();
  if (n < 0n) return formatAnswer(String(u < teacher.hardAccuracy ? n : -n));
  return formatAnswer(u < teacher.errorRate ? perturbAnswer(String(n), 'slip', rng) : String(n));
}

export const retryArith: MultiTurnFamily = {
  id: ID,
  description: 'Arithmetic with second chances: "wrong, try again" after a miss, for less reward.',
  difficulty: DIFFICULTY,
  maxTurns: REWARDS.length,
  create: () => new RetryArithEpisode(),
  solve,
  demonstrate,
  isHard,
};
