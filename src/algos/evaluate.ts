/**
 * Verified accuracy of a policy on a fixed task set: greedy (one completion
 * per task, temperature 0) and sampled (k completions per task at a
 * temperature, for pass@1..k with the unbiased estimator of Chen et al. 2021).
 *
 * Held-out tasks are drawn from seeds at or above HELDOUT_SEED_BASE, which
 * training never draws (training also skips any task whose prompt equals a
 * held-out one: see TaskDraw in rl.ts).
 *
 * Multi-turn episodes are also measured as episodes (src/measure/episodes.ts):
 * first-attempt accuracy, recovery (the share of episodes that end right
 * after a wrong first attempt, with its denominator) and mean reward, greedy
 * and sampled. Natural recovery is measured on whichever episodes the policy
 * happens to miss, fewer and harder ones as it improves; with `afterMistake`
 * and a family that has a teacher (demonstrate), every held-out episode is
 * also opened with the teacher's wrong first attempt (its systematic mistake
 * on hard tasks, a slip on the others) and the policy goes on greedily: the
 * recovery skill on a fixed set of mistakes.
 */
import type { TokenPolicy } from '../policy/types.ts';
import { accuracyOf, type Accuracy } from '../measure/accuracy.ts';
import { episodeStats, type EpisodeStats } from '../measure/episodes.ts';
import { passAtKs } from '../measure/passk.ts';
import { teacherMistake } from '../envs/demo_rows.ts';
import { HELDOUT_SEED_BASE } from './rl_config.ts';
import { rollout, type RolloutEnv, type TaskRef, type Trajectory } from './rollout.ts';

export interface EvalOptions {
  maxTokens: number;
  k: number; // sampled completions per task (0 = greedy only)
  temperature: number; // of the sampled completions
  seed: number;
  verifyTimeoutMs?: number;
  afterMistake?: boolean; // multi-turn with a teacher: also open every episode with the teacher's mistake (see the header)
}

/** A multi-turn evaluation as episodes. */
export interface EpisodeEval {
  greedy: EpisodeStats;
  sampled: EpisodeStats | null; // k > 0
  afterMistake: EpisodeStats | null; // every episode opened with the teacher's wrong first attempt; recovery is the share that ends right
}

export { accuracyOf, type Accuracy };

export interface EvalResult {
  n: number; // tasks
  greedy: Trajectory[]; // one per task
  sampled: Trajectory[]; // k per task, grouped
  accuracy: Accuracy; // greedy
  sampledAccuracy: Accuracy | null; // mean over the k samples (pass@1 sampled)
  passAtK: Record<string, number | null>; // "1".."k" (sampled); empty when k = 0
  reasons: Record<string, number>; // greedy verdict reasons, counted
  meanReward: number; // greedy
  episodes: EpisodeEval | null; // multi-turn only
  tokens: { prompt: number; sampled: number }; // what the evaluation cost
}

/** n held-out tasks cycling through the difficulties (seeds HELDOUT_SEED_BASE + i). */
export function heldoutTasks(n: number, difficulties: readonly number[]): TaskRef[] {
  return Array.from({ length: n }, (_, i) => ({ seed: HELDOUT_SEED_BASE + i, difficulty: difficulties[i % difficulties.length] }));
}

export async function evaluate(env: RolloutEnv, policy: TokenPolicy, tasks: readonly TaskRef[], opts: EvalOptions): Promise<EvalResult> {
  const base = { maxTokens: opts.maxTokens, verifyTimeoutMs: opts.verifyTimeoutMs };
  const greedy = await rollout(env, policy, tasks, { group: 1, sampling: { ...base, temperature: 0, seed: opts.seed }, verifyTimeoutMs: opts.verifyTimeoutMs });
  const sampled = opts.k > 0
    ? await rollout(env, policy, tasks, { group: opts.k, sampling: { ...base, temperature: opts.temperature, seed: opts.seed + 1 }, verifyTimeoutMs: opts.verifyTimeoutMs })
    : [];
  const counts = tasks.map((_, g) => ({ n: opts.k, c: sampled.slice(g * opts.k, (g + 1) * opts.k).filter((t) => t.ok).length }));
  const passAtK = opts.k > 0 ? passAtKs(counts, Array.from({ length: opts.k }, (_, j) => j + 1)) : {};
  const accuracy = accuracyOf(greedy);
  let episodes: EpisodeEval | null = null, probed: Trajectory[] = [];
  if (env.kind === 'multiturn') {
    const mistakes = opts.afterMistake ? tasks.map((t) => teacherMistake(env.family, t.seed, t.difficulty)) : [];
    if (mistakes.length && mistakes.every((m) => m !== null)) {
      probed = await rollout(env, policy, tasks, { group: 1, sampling: { ...base, temperature: 0, seed: opts.seed + 2 }, firstActions: mistakes as string[] });
    }
    episodes = { greedy: asEpisodes(greedy), sampled: sampled.length ? asEpisodes(sampled) : null, afterMistake: probed.length ? asEpisodes(probed) : null };
  }
  const all = [...greedy, ...sampled, ...probed];
  return {
    n: tasks.length, greedy, sampled, accuracy, sampledAccuracy: sampled.length ? accuracyOf(sampled) : null, passAtK, reasons: accuracy.reasons,
    meanReward: accuracy.meanReward ?? 0, episodes,
    tokens: { prompt: all.reduce((a, t) => a + t.promptTokens, 0), sampled: all.reduce((a, t) => a + t.actionTokens, 0) },
  };
}

/** Multi-turn trajectories as graded episodes. */
export function asEpisodes(trajs: readonly Trajectory[]): EpisodeStats {
  return episodeStats(trajs.map((t) => ({ firstOk: t.firstReason === 'correct', ok: t.ok, reward: t.reward, hard: t.hard })));
}
