/**
 * RLOO: REINFORCE with a leave-one-out baseline (Kool et al. 2019, "Buy 4
 * REINFORCE Samples, Get a Baseline for Free!"; Ahmadian et al. 2024, "Back
 * to Basics"). One iteration:
 *
 *   tasks    <- P fresh training tasks;  rollouts <- G completions each
 *   A_i      =  r_i - mean_{j != i} r_j  =  G / (G - 1) * (r_i - mean(r))
 *   loss     =  - sum_i A_i * log pi(y_i) / (n_seq * maxTokens)       (+ KL to the reference if klCoef > 0)
 *
 * The whole reply is one action: its log-probability is the sum over its
 * tokens, and the sum is divided by a constant (not the reply's length).
 *
 * Departures: the update goes through the shared clipped-ratio engine; with
 * the default single on-policy pass the ratio is 1 and this is exactly
 * REINFORCE; more epochs make it the clipped variant Ahmadian et al. compare
 * against.
 */
import { broadcastAdvantage, referenceLogprobs } from './pg.ts';
import { epochsOfUpdates } from './grpo.ts';
import type { RLAlgorithm, StepContext, StepOutput } from './rl.ts';
import { rollout } from './rollout.ts';

/** Leave-one-out advantages, one per trajectory (groups of G, in order). */
export function leaveOneOutAdvantages(rewards: readonly number[], G: number): number[] {
  if (G < 2) throw new RangeError('RLOO needs a group of at least 2 completions per task');
  const out: number[] = [];
  for (let i = 0; i < rewards.length; i += G) {
    const g = rewards.slice(i, i + G), sum = g.reduce((a, b) => a + b, 0);
    for (const r of g) out.push(r - (sum - r) / (g.length - 1));
  }
  return out;
}

export const rloo: RLAlgorithm = {
  name: 'rloo',
  async step(ctx: StepContext): Promise<StepOutput> {
    const { config: c } = ctx;
    const trajs = await rollout(ctx.env, ctx.policy, ctx.drawTasks(c.prompts), { group: c.group, sampling: ctx.sampling, verifyTimeoutMs: c.verifyTimeoutMs });
    const adv = leaveOneOutAdvantages(trajs.map((t) => t.reward), c.group);
    const refLp = ctx.ref && c.klCoef > 0 ? referenceLogprobs(ctx.ref, trajs) : null;
    const items = trajs.map((traj, i) => ({ traj, advantages: broadcastAdvantage(traj, adv[i]), refLogprobs: refLp?.logprobs[i] }));
    const stats = epochsOfUpdates(ctx, items, { normalization: 'constant', clipLow: c.clipLow, clipHigh: c.clipHigh, klCoef: c.klCoef, vfCoef: 0, maxTokens: c.maxTokens });
    return { trajectories: trajs, advantages: adv, trainTokens: stats.trainTokens, trainFlops: stats.trainFlops + (refLp?.flops ?? 0), stats: stats.mean };
  },
};
