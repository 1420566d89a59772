/**
 * PPO with a learned value function (Schulman et al. 2017), token-level as
 * in RLHF practice (Ouyang et al. 2022; Huang et al. 2024, "The N+
 * Implementation Details of RLHF with PPO"). One iteration:
 *
 *   tasks     <- P fresh training tasks;  rollouts <- G completions each
 *   values    <- the GPT's scalar value head at every action token (no gradient)
 *   rewards   r_t = 0 except at the last action token, where r_T = the verdict's reward
 *   GAE       delta_t = r_t + gamma V_{t+1} - V_t;  A_t = delta_t + gamma lambda A_{t+1}   (over action tokens only)
 *   returns   R_t = A_t + V_t;  A whitened over the batch
 *   for epoch in 1..epochs, for each minibatch:
 *     loss = - clipped surrogate (token mean) + vfCoef * 0.5 (V - R)^2 (+ KL to the reference)
 *
 * In a multi-turn episode the observation tokens between turns are part of
 * the environment's transition: GAE runs over the action tokens in order,
 * skipping them.
 *
 * Departures: no value clipping, no reward whitening, and the KL penalty (if
 * any) is a loss term (as GRPO does) rather than folded into the per-token
 * reward. The value head starts from a small random init when the initial
 * checkpoint has none (an SFT model), so early advantages are close to the
 * plain return; G > 1 completions per task are still drawn, which PPO does
 * not need but which keeps the budget comparable with GRPO.
 *
 * Cost: besides the update, each iteration runs one forward pass over the
 * batch to read the values (GRPO reads its old log-probs from sampling and
 * needs none); it is counted in the training FLOPs.
 */
import { noGrad } from '../tensor/tensor.ts';
import { withPool } from '../tensor/pool.ts';
import type { TrainablePolicy } from '../policy/types.ts';
import { forwardFlops, packTrajectories, referenceLogprobs, type PGItem } from './pg.ts';
import { epochsOfUpdates } from './grpo.ts';
import type { RLAlgorithm, StepContext, StepOutput } from './rl.ts';
import { rollout, type Trajectory } from './rollout.ts';

/**
 * The value head's estimate at each action token (aligned with the tokens; 0
 * elsewhere), and the FLOPs of the forward pass that read them: a third of a
 * training pass over the same (B, T) batch (forward, no backward).
 */
export function actionValues(policy: TrainablePolicy, trajs: readonly Trajectory[]): { values: Float32Array[]; flops: number } {
  if (!policy.hasValueHead) throw new Error('PPO needs a policy with a value head');
  const batch = packTrajectories(trajs);
  const values = withPool(() => noGrad(() => Float32Array.from(policy.forward(batch).values!.data))); // (B, T)
  const flops = forwardFlops(policy, batch.B, batch.T);
  const perTraj = trajs.map((t, b) => {
    const out = new Float32Array(t.tokens.length);
    for (let j = 1; j < t.tokens.length; j++) if (t.mask[j]) out[j] = values[b * batch.T + j - 1]; // position j-1 reads the state before token j
    return out;
  });
  return { values: perTraj, flops };
}

/** GAE over the action tokens of one trajectory with a terminal reward. */
export function gae(traj: Trajectory, values: Float32Array, gamma: number, lambda: number): { advantages: Float32Array; returns: Float32Array } {
  const idx: number[] = [];
  for (let j = 0; j < traj.tokens.length; j++) if (traj.mask[j]) idx.push(j);
  const advantages = new Float32Array(traj.tokens.length), returns = new Float32Array(traj.tokens.length);
  let next = 0, running = 0;
  for (let k = idx.length - 1; k >= 0; k--) {
    const j = idx[k], v = values[j];
    const r = k === idx.length - 1 ? traj.reward : 0;
    const delta = r + gamma * next - v;
    running = delta + gamma * lambda * running;
    advantages[j] = running;
    returns[j] = running + v;
    next = v;
  }
  return { advantages, returns };
}

/** Whitens advantages over every action token of the batch (mean 0, std 1). */
function whiten(items: PGItem[]): void {
  let s = 0, s2 = 0, n = 0;
  for (const it of items) for (let j = 0; j < it.advantages.length; j++) if (it.traj.mask[j]) (s += it.advantages[j], s2 += it.advantages[j] ** 2, n++);
  if (n < 2) return;
  const mean = s / n, std = Math.sqrt(Math.max(0, s2 / n - mean * mean)) + 1e-6;
  for (const it of items) for (let j = 0; j < it.advantages.length; j++) if (it.traj.mask[j]) it.advantages[j] = (it.advantages[j] - mean) / std;
}

export const ppo: RLAlgorithm = {
  name: 'ppo',
  async step(ctx: StepContext): Promise<StepOutput> {
    const { config: c } = ctx;
    const trajs = await rollout(ctx.env, ctx.policy, ctx.drawTasks(c.prompts), { group: c.group, sampling: ctx.sampling, verifyTimeoutMs: c.verifyTimeoutMs });
    const { values, flops: valueFlops } = actionValues(ctx.policy, trajs);
    const refLp = ctx.ref && c.klCoef > 0 ? referenceLogprobs(ctx.ref, trajs) : null;
    const items: PGItem[] = trajs.map((traj, i) => ({ traj, ...gae(traj, values[i], c.gamma, c.lambda), refLogprobs: refLp?.logprobs[i] }));
    const meanAdv = items.map((it) => firstAction(it.traj, it.advantages));
    whiten(items);
    const stats = epochsOfUpdates(ctx, items, { normalization: 'token', clipLow: c.clipLow, clipHigh: c.clipHigh, klCoef: c.klCoef, vfCoef: c.vfCoef, maxTokens: c.maxTokens });
    const v0 = trajs.map((t, i) => firstAction(t, values[i]));
    return {
      trajectories: trajs, advantages: meanAdv, trainTokens: stats.trainTokens, trainFlops: stats.trainFlops + valueFlops + (refLp?.flops ?? 0), // the value pass is PPO's extra cost; the reference's (--kl) is every algorithm's
      stats: { ...stats.mean, value: v0.reduce((a, b) => a + b, 0) / Math.max(1, v0.length) },
    };
  },
};

/** The array's value at the first action token (the advantage or value of the whole reply, as stored per rollout). */
function firstAction(t: Trajectory, xs: Float32Array): number {
  const j = t.mask.indexOf(1);
  return j < 0 ? 0 : xs[j];
}
