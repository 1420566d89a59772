/**
 * Expert iteration / rejection-sampling distillation (Anthony et al. 2017,
 * "Thinking Fast and Slow with Deep Learning and Tree Search"; Zelikman et
 * al. 2022, STaR; the "RFT" of Yuan et al. 2023): sample, keep what the
 * verifier accepts, imitate it, repeat. One iteration:
 *
 *   tasks     <- P fresh training tasks;  rollouts <- G completions each
 *   accepted  <- the verified ones (ok) that earned their group's best reward,
 *                without duplicates (same task, same reply)
 *   for epoch in 1..eiEpochs, for each batch of eiBatch accepted rollouts (shuffled, seeded by the step):
 *     SFT step: - mean log p of their reply tokens
 *
 * It is the "distil thinking into intuition" step: what sampling finds now
 * and then becomes what the policy does at once.
 *
 * Departures: STaR restarts from the base model each outer iteration and adds
 * rationalization (hints for failed tasks); here the policy keeps training
 * (as in RFT-style online variants) and there are no hints. Rejected samples
 * are not used at all (no negative signal, unlike the policy-gradient
 * algorithms). Where rewards are graded (a multi-turn episode right on its
 * second attempt earns 0.5, guess-number pays fewer guesses more), only the
 * verified rollouts with their group's best reward are kept, as in best-of-n
 * rejection sampling (RAFT, Dong et al. 2023): imitating every verified
 * episode taught the policy to miss its first attempt on purpose, since
 * right-after-a-miss episodes are verified too. With 0/1 rewards this is
 * every verified rollout.
 *
 * The SFT is a number of passes over what was accepted, not a fixed number
 * of steps: when every task has one right reply (an integer, a sorted list)
 * at most P distinct rollouts are accepted, and a fixed 8 steps of 32 drawn
 * from ~14 of them was ~18 epochs an iteration. The policy memorized each
 * batch, Adam's normalized steps on a near-zero loss then drifted it, and
 * held-out accuracy fell back to the SFT start (linear-eq-v1: 51% -> 93% in
 * 10 iterations, then 54% after 250; one pass: 98%; docs/rl.md).
 */
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { nllUpdate } from './pg.ts';
import type { RLAlgorithm, StepContext, StepOutput } from './rl.ts';
import { rollout, type Trajectory } from './rollout.ts';

/** The verified rollouts that earned their group's best reward, one per distinct (task, reply). */
export function acceptedUnique(trajs: readonly Trajectory[]): Trajectory[] {
  const best = new Map<number, number>();
  for (const t of trajs) if (t.ok) best.set(t.group, Math.max(best.get(t.group) ?? -Infinity, t.reward));
  const seen = new Set<string>();
  return trajs.filter((t) => {
    const key = `${t.seed}:${t.difficulty}:${t.tokens.join(',')}`;
    if (!t.ok || t.reward < best.get(t.group)! || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export const expertIteration: RLAlgorithm = {
  name: 'ei',
  async step(ctx: StepContext): Promise<StepOutput> {
    const { config: c } = ctx;
    const trajs = await rollout(ctx.env, ctx.policy, ctx.drawTasks(c.prompts), { group: c.group, sampling: ctx.sampling, verifyTimeoutMs: c.verifyTimeoutMs });
    const accepted = acceptedUnique(trajs);
    if (!Number.isInteger(c.eiEpochs)) throw new UserError('this run was made by an older flywheel, whose expert iteration took a fixed number of SFT steps (eiUpdates) per iteration; start it over with --force');
    const rng = new Rng(`ei:${ctx.sampling.seed}`);
    let loss = 0, gradNorm = 0, trainTokens = 0, trainFlops = 0, updates = 0;
    for (let e = 0; e < c.eiEpochs; e++) {
      const order = rng.shuffle(accepted.slice());
      for (let i = 0; i < order.length; i += c.eiBatch) {
        const s = nllUpdate(ctx.policy, ctx.opt, order.slice(i, i + c.eiBatch), ctx.lr, c.gradClip);
        loss += s.loss;
        gradNorm += s.gradNorm;
        trainTokens += s.seqTokens;
        trainFlops += s.flops;
        updates++;
      }
    }
    const kept = new Set(accepted);
    return {
      trajectories: trajs, advantages: trajs.map((t) => (kept.has(t) ? 1 : null)), trainTokens, trainFlops,
      stats: { loss: updates ? loss / updates : 0, gradNorm: updates ? gradNorm / updates : 0, accepted: accepted.length, acceptRate: accepted.length / Math.max(1, trajs.length), updates },
    };
  },
};
