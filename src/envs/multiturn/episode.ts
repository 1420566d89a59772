/**
 * The episode runner: one episode of a multi-turn text environment played by
 * a policy `act`, from reset(seed, difficulty) until done or maxTurns actions.
 *
 *   const run = runEpisode(family, (transcript) => family.solve(transcript), { seed: 3, difficulty: 2 });
 *   run.turns   // [{ role: 'env', text }, { role: 'policy', text, reward }, ...]
 *   run.total   // the episode's total reward; run.reason why it ended
 *
 * The environment's own mistakes are values too: a reset() or step() that
 * throws, or returns something that is not a StepResult, ends the episode
 * with `problem` set (the conformance suite fails a check on it; the CLI
 * turns it into an error naming the environment's file). The policy's throws
 * propagate: they are the caller's.
 */
import { describeError, short, stepProblem } from '../conformance_base.ts';
import type { MultiTurnFamily } from '../types.ts';

/** How the policy acts: the transcript so far (observation first, then action, observation, ...) and the turn index. */
export type Act = (transcript: readonly string[], turn: number) => string;

export interface Turn {
  role: 'env' | 'policy';
  text: string;
  reward?: number; // on policy turns: the reward that action earned
}

export interface EpisodeRun {
  transcript: string[]; // observation, action, observation, ... (the final '' observation is left out)
  turns: Turn[]; // the same, with roles and per-action rewards
  rewards: number[]; // one per action
  reasons: string[]; // one per action: its step's info.reason ('correct', 'wrong', ...; 'done' or 'continue' when it gives none)
  total: number; // sum of rewards
  done: boolean; // the environment said done (false: out of turns, or a problem)
  reason: string; // info.reason of the last step, 'done', 'out_of_turns', or 'problem'
  problem: string | null; // what the environment did wrong, if anything
}

export function runEpisode(family: MultiTurnFamily, act: Act, at: { seed: number; difficulty: number }): EpisodeRun {
  const run: EpisodeRun = { transcript: [], turns: [], rewards: [], reasons: [], total: 0, done: false, reason: 'out_of_turns', problem: null };
  const fail = (problem: string): EpisodeRun => ({ ...run, reason: 'problem', problem });
  let ep;
  let first: unknown;
  try {
    ep = family.create();
    first = ep.reset(at.seed, at.difficulty);
  } catch (err) {
    return fail(`reset(${at.seed}, ${at.difficulty}) threw ${describeError(err)}`);
  }
  if (typeof first !== 'string') return fail(`reset() returned ${first instanceof Promise ? 'a Promise' : typeof first}, not a string`);
  observe(run, first);
  for (let turn = 0; turn < family.maxTurns; turn++) {
    const action = act(run.transcript, turn);
    run.transcript.push(action);
    let r;
    try {
      r = ep.step(action);
    } catch (err) {
      return fail(`step(${short(action)}) threw ${describeError(err)}`);
    }
    const p = stepProblem(r);
    if (p) return fail(`step(${short(action)}): ${p}`);
    run.turns.push({ role: 'policy', text: action, reward: r.reward });
    run.rewards.push(r.reward);
    run.reasons.push(typeof r.info.reason === 'string' ? r.info.reason : r.done ? 'done' : 'continue');
    run.total += r.reward;
    if (r.done) {
      run.done = true;
      run.reason = run.reasons[run.reasons.length - 1];
      return run;
    }
    observe(run, r.observation);
  }
  return run;
}

/** Whether the episode that opens with `firstObservation` is a hard case: the family's isHard, else its difficulty is the family's max. */
export function episodeIsHard(family: MultiTurnFamily, firstObservation: string, difficulty: number): boolean {
  return family.isHard ? Boolean(family.isHard(firstObservation)) : difficulty >= family.difficulty.max;
}

function observe(run: EpisodeRun, text: string): void {
  run.transcript.push(text);
  run.turns.push({ role: 'env', text });
}
