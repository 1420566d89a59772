/**
 * Verified accuracy of a policy on a fixed task set: greedy (one completion
 * per task, temperature 0) and sampled (k completions per task at a
 * temperature, for pass@1..k with the unbiased estimator of Chen et al. 2021).
 *
 * Held-out tasks are drawn from seeds at or above HELDOUT_SEED_BASE, which
 * training never draws (training also skips any task whose prompt equals a
 * held-out one: see TaskDraw in rl.ts).
 */
import type { TokenPolicy } from '../policy/types.ts';
import { accuracyOf, type Accuracy } from '../measure/accuracy.ts';
import { passAtKs } from '../measure/passk.ts';
import { HELDOUT_SEED_BASE } from './rl_config.ts';
import { rollout, type RolloutEnv, type TaskRef, type Trajectory } from './rollout.ts';

export interface EvalOptions {
  maxTokens: number;
  k: number; // sampled completions per task (0 = greedy only)
  temperature: number; // of the sampled completions
  seed: number;
  verifyTimeoutMs?: number;
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
  const all = [...greedy, ...sampled];
  return {
    n: tasks.length, greedy, sampled, accuracy, sampledAccuracy: sampled.length ? accuracyOf(sampled) : null, passAtK, reasons: accuracy.reasons,
    meanReward: accuracy.meanReward ?? 0,
    tokens: { prompt: all.reduce((a, t) => a + t.promptTokens, 0), sampled: all.reduce((a, t) => a + t.actionTokens, 0) },
  };
}
