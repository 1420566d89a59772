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
import { HELDOUT_SEED_BASE } from './rl_config.ts';
import { rollout, type RolloutEnv, type TaskRef, type Trajectory } from './rollout.ts';

export interface EvalOptions {
  maxTokens: number;
  k: number; // sampled completions per task (0 = greedy only)
  temperature: number; // of the sampled completions
  seed: number;
  verifyTimeoutMs?: number;
}

export interface Accuracy {
  overall: number | null; // fractions in [0, 1]; null where no task falls in the group
  easy: number | null;
  hard: number | null;
  byDifficulty: Record<string, number>;
}

export interface EvalResult {
  n: number; // tasks
  greedy: Trajectory[]; // one per task
  sampled: Trajectory[]; // k per task, grouped
  accuracy: Accuracy; // greedy
  sampledAccuracy: Accuracy | null; // mean over the k samples (pass@1 sampled)
  passAtK: Record<string, number>; // "1".."k" (sampled); empty when k = 0
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
  const passAtK: Record<string, number> = {};
  for (let j = 1; j <= opts.k; j++) {
    let s = 0;
    for (let g = 0; g < tasks.length; g++) s += passAtKEstimate(opts.k, sampled.slice(g * opts.k, (g + 1) * opts.k).filter((t) => t.ok).length, j);
    passAtK[j] = s / tasks.length;
  }
  const reasons: Record<string, number> = {};
  for (const t of greedy) reasons[t.reason] = (reasons[t.reason] ?? 0) + 1;
  const all = [...greedy, ...sampled];
  return {
    n: tasks.length, greedy, sampled, accuracy: accuracyOf(greedy), sampledAccuracy: sampled.length ? accuracyOf(sampled) : null, passAtK, reasons,
    meanReward: greedy.reduce((a, t) => a + t.reward, 0) / Math.max(1, greedy.length),
    tokens: { prompt: all.reduce((a, t) => a + t.promptTokens, 0), sampled: all.reduce((a, t) => a + t.actionTokens, 0) },
  };
}

/** Share of ok trajectories, overall, on easy and hard tasks, and by difficulty. */
export function accuracyOf(trajs: readonly Trajectory[]): Accuracy {
  const share = (xs: readonly Trajectory[]): number | null => (xs.length ? xs.filter((t) => t.ok).length / xs.length : null);
  const byDifficulty: Record<string, number> = {};
  for (const d of [...new Set(trajs.map((t) => t.difficulty))].sort((a, b) => a - b)) byDifficulty[d] = share(trajs.filter((t) => t.difficulty === d))!;
  return { overall: share(trajs), easy: share(trajs.filter((t) => !t.hard)), hard: share(trajs.filter((t) => t.hard)), byDifficulty };
}

/** The unbiased pass@k of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), as a stable product. */
export function passAtKEstimate(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let p = 1;
  for (let i = n - c + 1; i <= n; i++) p *= 1 - k / i;
  return 1 - p;
}
