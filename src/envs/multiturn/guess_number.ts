/**
 * guess-number-v1: find a hidden integer by guessing; after each wrong guess
 * the environment says 'higher' or 'lower'. Finding it earns reward
 *
 *     1 - 0.5 * (guesses - 1) / (maxTurns - 1)
 *
 * (1 for a first-guess hit, 0.5 on the last allowed turn), so fewer guesses is
 * better and binary search is the reference policy. Not finding it within
 * maxTurns guesses earns 0. A guess without a parseable 'Answer: <integer>'
 * still uses a turn and gets an 'invalid' observation.
 *
 * Difficulty 1..5 sets the range: 1..10, 1..30, 1..100, 1..300, 1..1000
 * (binary search needs at most 4, 5, 7, 9, 10 guesses; maxTurns is 12).
 *
 * The flawed teacher (demonstrate) bisects too, but on the hard range
 * (1..1000) it misreads the latest hint with probability 1 - hardAccuracy at
 * every guess: it takes 'higher' for 'lower' (and back) and bisects the side
 * the hint has just ruled out, wasting the guess, often enough to run out of
 * guesses. Elsewhere it slips with probability errorRate: a random guess
 * that is still consistent with the hints.
 */
import { Rng } from '../../util/rng.ts';
import { extractAnswer, formatAnswer, parseInteger } from '../answer.ts';
import { assertDifficulty } from '../define.ts';
import type { DemoOptions, MultiTurnFamily, StepResult, TextEpisode } from '../types.ts';

const ID = 'guess-number-v1';
const RANGES = [10, 30, 100, 300, 1000]; // upper bound by difficulty 1..5
const MAX_TURNS = 12;
const DIFFICULTY = { min: 1, max: 5, default: 3 };
const INVALID = 'invalid: reply with "Answer: <integer>"';

class GuessNumberEpisode implements TextEpisode {
  private target = 0;
  private guesses = 0;
  private done = true;

  reset(seed: number, difficulty = DIFFICULTY.default): string {
    assertDifficulty(ID, DIFFICULTY, difficulty);
    const hi = RANGES[difficulty - 1];
    this.target = new Rng(`${ID}:${seed}:${difficulty}`).range(1, hi);
    this.guesses = 0;
    this.done = false;
    return `I am thinking of an integer from 1 to ${hi}. Guess it: reply with "Answer: <integer>" and I will say higher or lower. You have ${MAX_TURNS} guesses; fewer is better.`;
  }

  step(action: string): StepResult {
    if (this.done) return { observation: '', reward: 0, done: true, info: { reason: 'episode_over' } };
    this.guesses++;
    const got = extractAnswer(action);
    const n = got.ok ? parseInteger(got.text) : null;
    const last = this.guesses >= MAX_TURNS;
    if (n === BigInt(this.target)) {
      this.done = true;
      const reward = 1 - (0.5 * (this.guesses - 1)) / (MAX_TURNS - 1);
      return { observation: '', reward, done: true, info: { reason: 'correct', guesses: this.guesses } };
    }
    if (last) {
      this.done = true;
      return { observation: '', reward: 0, done: true, info: { reason: 'out_of_turns', guesses: this.guesses } };
    }
    if (n === null) return { observation: INVALID, reward: 0, done: false, info: { reason: got.ok ? 'malformed' : 'no_answer' } };
    return { observation: n < BigInt(this.target) ? 'higher' : 'lower', reward: 0, done: false, info: { reason: 'wrong' } };
  }
}

/** What the transcript leaves possible; `misread` takes the latest hint the wrong way round (the teacher's blind spot). */
function bounds(transcript: readonly string[], misread = false): { lo: number; hi: number } {
  const range = /from 1 to (\d+)/.exec(transcript[0] ?? '');
  let lo = 1;
  let hi = range ? Number(range[1]) : RANGES[RANGES.length - 1];
  for (let i = 1; i + 1 < transcript.length; i += 2) {
    const got = extractAnswer(transcript[i]);
    const g = got.ok ? Number(got.text) : Number.NaN;
    if (!Number.isFinite(g)) continue;
    const latest = i + 2 === transcript.length, said = transcript[i + 1];
    const hint = misread && latest ? (said === 'higher' ? 'lower' : said === 'lower' ? 'higher' : said) : said;
    if (hint === 'higher') lo = Math.max(lo, g + 1);
    else if (hint === 'lower') hi = Math.min(hi, g - 1);
  }
  return { lo, hi: Math.max(lo, hi) };
}

/** Binary search over what the transcript has ruled out. */
function solve(transcript: readonly string[]): string {
  const { lo, hi } = bounds(transcript);
  return formatAnswer(String(Math.floor((lo + hi) / 2)));
}

/** The teacher's next guess (see the header); one uniform draw decides, as in demonstrate (src/envs/demo.ts). */
function demonstrate(transcript: readonly string[], rng: Rng, teacher: DemoOptions): string {
  const u = rng.float();
  if (/from 1 to (\d+)/.exec(transcript[0] ?? '')?.[1] === String(RANGES[RANGES.length - 1])) {
    const { lo, hi } = bounds(transcript, u >= teacher.hardAccuracy);
    return formatAnswer(String(Math.floor((lo + hi) / 2)));
  }
  if (u >= teacher.errorRate) return solve(transcript);
  const { lo, hi } = bounds(transcript);
  return formatAnswer(String(rng.range(lo, hi)));
}

/** The hardest range, 1..1000. */
function isHard(firstObservation: string): boolean {
  return /from 1 to (\d+)/.exec(firstObservation)?.[1] === String(RANGES[RANGES.length - 1]);
}

export const guessNumber: MultiTurnFamily = {
  id: ID,
  description: 'Find a hidden integer from higher/lower hints; fewer guesses earn more.',
  difficulty: DIFFICULTY,
  maxTurns: MAX_TURNS,
  create: () => new GuessNumberEpisode(),
  solve,
  demonstrate,
  isHard,
};
