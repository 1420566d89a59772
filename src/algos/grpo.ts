/**
 * GRPO: Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath),
 * with the loss variants of Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-
 * Like Training") and DAPO (Yu et al. 2025). One iteration:
 *
 *   tasks     <- P fresh training tasks
 *   rollouts  <- G completions per task, verified (rewards r_1..r_G per group)
 *   dapo:       drop groups whose rewards are all equal (no signal) and draw
 *               more tasks until P informative groups (at most maxDraws batches)
 *   advantage   A_i = (r_i - mean(r)) / (std(r) + 1e-4)      grpo, dapo
 *               A_i = r_i - mean(r)                          dr_grpo (no std normalization)
 *   for epoch in 1..epochs, for each of `minibatches` slices:
 *     loss = - clipped surrogate, normalized per sequence (grpo),
 *            per token over the batch (dapo), or by a constant (dr_grpo);
 *            + klCoef * KL(policy || reference)  (k3 estimator)
 *     AdamW step
 *
 * Departures, deliberately:
 *   - KL to the reference is off by default (klCoef 0), as in Dr. GRPO and
 *     DAPO; the GRPO paper uses 0.04.
 *   - The std is the population std of the group (the paper does not say).
 *   - DAPO's overlong-reward shaping is not applied: a reply cut off at
 *     maxTokens simply earns what its verifier gives it (usually 0).
 *   - With epochs = 1 and one minibatch the update is on-policy: the ratio is
 *     1 up to sampling-vs-training float noise and the clip never binds.
 */
import type { PGItem, PGLossConfig } from './pg.ts';
import { broadcastAdvantage, pgUpdate, referenceLogprobs } from './pg.ts';
import type { RLAlgorithm, StepContext, StepOutput } from './rl.ts';
import { rollout, type Trajectory } from './rollout.ts';

/** Group-normalized advantages, one per trajectory (groups of G, in order). */
export function groupAdvantages(rewards: readonly number[], G: number, scaleByStd: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < rewards.length; i += G) {
    const g = rewards.slice(i, i + G);
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    const std = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length);
    for (const r of g) out.push(scaleByStd ? (r - mean) / (std + 1e-4) : r - mean);
  }
  return out;
}

/** Whether a group's rewards differ (it carries a learning signal). */
function informative(group: readonly Trajectory[]): boolean {
  return group.some((t) => t.reward !== group[0].reward);
}

export const grpo: RLAlgorithm = {
  name: 'grpo',
  async step(ctx: StepContext): Promise<StepOutput> {
    const { config: c, env, policy } = ctx;
    const G = c.group;
    const rollOnce = (draw: number): Promise<Trajectory[]> =>
      rollout(env, policy, ctx.drawTasks(c.prompts), { group: G, sampling: { ...ctx.sampling, seed: ctx.sampling.seed + draw * 7919 }, verifyTimeoutMs: c.verifyTimeoutMs });

    // 1. rollouts (dapo: dynamic sampling fills the batch with informative groups)
    let sampled = await rollOnce(0);
    let batch = sampled;
    let draws = 1;
    if (c.loss === 'dapo') {
      const keep = (ts: Trajectory[]): Trajectory[][] => chunk(ts, G).filter(informative);
      let groups = keep(sampled);
      while (groups.length < c.prompts && draws < c.maxDraws) {
        const more = await rollOnce(draws++);
        sampled = sampled.concat(more);
        groups = groups.concat(keep(more));
      }
      batch = groups.slice(0, c.prompts).flat();
    }

    // 2. advantages
    const adv = groupAdvantages(batch.map((t) => t.reward), G, c.loss !== 'dr_grpo');
    const refLp = ctx.ref && c.klCoef > 0 ? referenceLogprobs(ctx.ref, batch) : null;
    const items: PGItem[] = batch.map((traj, i) => ({ traj, advantages: broadcastAdvantage(traj, adv[i]), refLogprobs: refLp?.logprobs[i] }));

    // 3. clipped policy-gradient updates
    const loss: PGLossConfig = {
      normalization: c.loss === 'grpo' ? 'sequence' : c.loss === 'dapo' ? 'token' : 'constant',
      clipLow: c.clipLow, clipHigh: c.clipHigh, klCoef: c.klCoef, vfCoef: 0, maxTokens: c.maxTokens,
    };
    const stats = epochsOfUpdates(ctx, items, loss);

    const advantages = sampled.map((t) => {
      const j = batch.indexOf(t);
      return j < 0 ? null : adv[j];
    });
    return { trajectories: sampled, advantages, trainTokens: stats.trainTokens, trainFlops: stats.trainFlops + (refLp?.flops ?? 0), stats: { ...stats.mean, draws, trainedGroups: batch.length / G } };
  },
};

/** epochs x minibatches pgUpdate calls; mean statistics over them. */
export function epochsOfUpdates(ctx: StepContext, items: readonly PGItem[], loss: PGLossConfig): { mean: Record<string, number>; trainTokens: number; trainFlops: number } {
  const c = ctx.config;
  const sum: Record<string, number> = {};
  let n = 0, trainTokens = 0, trainFlops = 0;
  if (items.length === 0) return { mean: {}, trainTokens: 0, trainFlops: 0 };
  const size = Math.ceil(items.length / Math.max(1, c.minibatches));
  for (let e = 0; e < c.epochs; e++) {
    for (let i = 0; i < items.length; i += size) {
      const s = pgUpdate(ctx.policy, ctx.opt, items.slice(i, i + size), loss, ctx.lr, c.gradClip);
      trainTokens += s.seqTokens;
      trainFlops += s.flops;
      n++;
      for (const [k, v] of Object.entries(s)) if (k !== 'tokens' && k !== 'seqTokens' && k !== 'flops') sum[k] = (sum[k] ?? 0) + v;
    }
  }
  return { mean: Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / n])), trainTokens, trainFlops };
}

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
