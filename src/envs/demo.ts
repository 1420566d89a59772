/**
 * The demonstrator: a simulated human expert that writes completions for
 * supervised fine-tuning, with the error model documented on DemoOptions.
 *
 *   hard task (family.isHard):  right with probability hardAccuracy, else the
 *                               family's 'systematic' mistake (the same wrong
 *                               answer every time for that task, so a student
 *                               who imitates it inherits the blind spot)
 *   any other task:             a slip of kind errorKind with probability
 *                               errorRate, else the reference solution
 *
 * Multi-turn families may bring their own teacher with the same error model
 * (MultiTurnFamily.demonstrate, called once per turn; see demo_rows.ts).
 *
 * skillToDemoOptions maps one number in [0, 1] to DemoOptions (and
 * skillToPlayerSpec to a game player), so the CLI and experiments can sweep
 * "demonstrator skill" along a single axis.
 */
import type { Rng } from '../util/rng.ts';
import type { DemoOptions, Task, TaskFamily } from './types.ts';

/** A demonstrator's completion for `task`. Deterministic given the rng's state. */
export function demonstrate(family: TaskFamily, task: Task, rng: Rng, opts: DemoOptions): string {
  checkDemoOptions(opts);
  const kind = opts.errorKind ?? family.errorKinds[0];
  if (!family.errorKinds.includes(kind)) {
    throw new RangeError(`demonstrate: errorKind ${JSON.stringify(kind)} is not one of ${family.id}'s ${JSON.stringify(family.errorKinds)}`);
  }
  // One uniform draw decides right or wrong in both branches, so the stream
  // position does not depend on which branch a task falls in.
  const u = rng.float();
  if (family.isHard(task)) return u < opts.hardAccuracy ? family.solve(task) : family.mistake(task, 'systematic', rng);
  return u < opts.errorRate ? family.mistake(task, kind, rng) : family.solve(task);
}

/** Throws RangeError unless errorRate and hardAccuracy are probabilities. */
export function checkDemoOptions(opts: DemoOptions): void {
  checkProbability('errorRate', opts.errorRate);
  checkProbability('hardAccuracy', opts.hardAccuracy);
}

/**
 * One skill number in [0, 1] as DemoOptions:
 *
 *   errorRate    = (1 - skill) / 2   slips on half the easy tasks at skill 0, none at 1
 *   hardAccuracy = skill             right on hard tasks as often as its skill
 *
 * skill 1 is a perfect demonstrator; skill 0.8 slips on 10% of easy tasks and
 * gets 80% of hard ones right. errorKind is left to the family's default.
 */
export function skillToDemoOptions(skill: number): DemoOptions {
  checkProbability('skill', skill);
  return { errorRate: round6((1 - skill) / 2), hardAccuracy: skill };
}

/**
 * One skill number in [0, 1] as a game player spec for makePlayer
 * (src/envs/games/players.ts): skill 1 is 'perfect'; below that a perfect
 * player that plays a random move with probability (1 - skill) / 2, matching
 * the slip rate of skillToDemoOptions; skill 0 is 'random'.
 */
export function skillToPlayerSpec(skill: number): string {
  checkProbability('skill', skill);
  if (skill === 1) return 'perfect';
  if (skill === 0) return 'random';
  return `noisy:${round6((1 - skill) / 2)}`;
}

/** Rounds away float noise (0.09999999999999998 -> 0.1) so specs and logs read cleanly. */
function round6(x: number): number {
  return Number(x.toFixed(6));
}

function checkProbability(name: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a number in [0, 1], got ${p}`);
}
