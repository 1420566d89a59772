/**
 * The environment interfaces. Pure TypeScript: nothing under src/envs imports
 * the numerical core (tensor/nn/models), so environments can be served to
 * other trainers as they are.
 *
 * Three shapes of environment:
 *   - TaskFamily: single-turn. generate(seed, difficulty) -> Task; the policy
 *     writes one completion; verify(task, completion) -> Verdict.
 *   - MultiTurnFamily: Gym-style text episodes. reset(seed) -> observation,
 *     step(action) -> { observation, reward, done, info }; observations (such
 *     as "wrong, try again" or a tool's output) sit between the policy's turns.
 *   - Game: two-player, perfect-information, zero-sum, for self-play.
 *
 * Expected failures are values: verify() and step() never throw on model
 * output. A missing or malformed final answer is reward 0 with reason
 * 'no_answer' or 'malformed'. Programmer errors (bad difficulty, unknown id)
 * throw at once with the offending value in the message.
 */
import type { Rng } from '../util/rng.ts';

/** Everything JSON can hold; task metadata must round-trip through JSON. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One generated task. Fully determined by (env, seed, difficulty). */
export interface Task {
  env: string; // registry id, e.g. 'addition-v1'
  seed: number; // the seed it was generated from
  difficulty: number; // the difficulty it was generated at
  prompt: string; // what the policy sees
  answer: string; // the canonical correct final answer (hidden from the policy)
  meta: { [k: string]: Json }; // family-specific data the verifier needs (operands, tests, ...)
}

/**
 * The grade of one completion. reward is in [0, 1]; ok means fully correct.
 * reason is a short machine-readable word counted in metrics:
 *   'correct' | 'wrong' | 'no_answer' | 'malformed' | family-specific
 *   (e.g. 'uses_unavailable_number', 'timeout', 'syntax_error', 'blocked').
 */
export interface Verdict {
  reward: number;
  ok: boolean;
  reason: string;
  detail?: string; // human-readable elaboration, optional
}

/**
 * How a demonstrator errs. A demonstrator imitates a human expert: it solves
 * correctly except for
 *   - random slips: with probability errorRate on any task, an error of kind
 *     errorKind (or a family default);
 *   - systematic errors: on tasks the family deems hard (isHard), it is right
 *     only with probability hardAccuracy, and when wrong it makes the same,
 *     deterministic-per-task mistake (the family's 'systematic' error), so a
 *     student that imitates it inherits the blind spot.
 */
export interface DemoOptions {
  errorRate: number; // probability of a random slip on any task, in [0, 1]
  hardAccuracy: number; // probability of being right on a hard task, in [0, 1]
  errorKind?: string; // one of the family's errorKinds; default: the family's first
}

export interface DifficultyRange {
  min: number; // easiest level (integer)
  max: number; // hardest level (integer)
  default: number; // level used when none is given
}

/** A single-turn verifiable task family. */
export interface TaskFamily {
  id: string; // versioned registry id, 'name-vN'
  description: string; // one line
  difficulty: DifficultyRange;
  /** Deterministic: the same (seed, difficulty) gives the same task. Throws RangeError on a bad difficulty. */
  generate(seed: number, difficulty: number): Task;
  /** Grades a completion. Never throws on any completion string. */
  verify(task: Task, completion: string): Verdict | Promise<Verdict>;
  /** The reference solver: a completion that verifies (ok = true). */
  solve(task: Task): string;
  /** Kinds of plausible mistakes mistake() can make; the first is the default, 'systematic' is always present. */
  errorKinds: readonly string[];
  /** A plausible wrong completion of the given kind. 'systematic' must be deterministic per task (ignore rng). */
  mistake(task: Task, kind: string, rng: Rng): string;
  /** Whether a task is a hard case (where systematic errors strike). */
  isHard(task: Task): boolean;
  /** A measurable difficulty statistic (operation count, answer length, ...) whose mean rises with difficulty. */
  stat(task: Task): number;
}

// ---------------------------------------------------------------- multi-turn

export interface StepResult {
  observation: string; // text injected before the policy's next turn ('' when done)
  reward: number; // reward for this step
  done: boolean;
  info: { [k: string]: Json }; // e.g. { reason: 'wrong' }
}

/** One running episode. step() never throws on any action string. */
export interface TextEpisode {
  reset(seed: number, difficulty?: number): string; // returns the first observation
  step(action: string): StepResult;
}

export interface MultiTurnFamily {
  id: string;
  description: string;
  difficulty: DifficultyRange;
  maxTurns: number; // an episode is done after this many actions at most
  create(): TextEpisode;
  /** Reference policy: given the transcript so far (observations and actions alternating, starting with an observation), the next action. */
  solve(transcript: readonly string[]): string;
  /**
   * Optional: a flawed teacher, the multi-turn counterpart of the task
   * families' demonstrator (see DemoOptions): its next action given the
   * transcript so far. Each attempt errs afresh: a random slip with
   * probability errorRate, and on hard episodes the systematic mistake
   * unless right with probability hardAccuracy, so after 'wrong, try again'
   * it repeats its blind spot as often as a person with that blind spot
   * would. Draws only from `rng` (deterministic given its state); with
   * errorRate 0 and hardAccuracy 1 it acts exactly as solve(). Without it,
   * demonstrations come from solve().
   */
  demonstrate?(transcript: readonly string[], rng: Rng, teacher: DemoOptions): string;
  /** Optional: whether the episode that opens with this observation is a hard case (where the systematic mistake strikes). Default: its difficulty is the family's max. */
  isHard?(firstObservation: string): boolean;
}

// ---------------------------------------------------------------- games

/**
 * A two-player, zero-sum, perfect-information game. States are immutable
 * values; play() returns a new state. Players are 0 (moves first) and 1.
 */
export interface Game<S> {
  id: string;
  description: string;
  numActions: number; // size of the action space (moves are integers in [0, numActions))
  encodingShape: readonly number[]; // shape of encode()'s output, e.g. [2, 6, 7]
  initial(): S;
  toMove(s: S): 0 | 1;
  legalMoves(s: S): number[];
  play(s: S, move: number): S; // throws RangeError on an illegal move (a programmer error)
  /** null while the game goes on; otherwise +1 if player 0 won, -1 if player 1 won, 0 for a draw. */
  result(s: S): number | null;
  /** Canonical encoding from the perspective of the player to move (planes: mine, theirs, ...). */
  encode(s: S): Float32Array;
  render(s: S): string;
  key(s: S): string; // a unique key for transposition tables and dedup
}

// ---------------------------------------------------------------- registry

export type EnvEntry =
  | { kind: 'task'; family: TaskFamily }
  | { kind: 'multiturn'; family: MultiTurnFamily }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { kind: 'game'; game: Game<any> };
