/**
 * The policy-gradient engine the RL algorithms share: trajectories packed
 * into a padded batch, the clipped surrogate objective with its
 * normalization variants, an optional KL penalty to a frozen reference, an
 * optional value loss, and one optimizer step. Each algorithm file computes
 * advantages its own way and calls `pgUpdate`; the loop stays in the
 * algorithm.
 *
 * Per action token t of trajectory i, with r = exp(logp - logp_old):
 *
 *   objective_t = min(r A_t, clip(r, 1 - clipLow, 1 + clipHigh) A_t)
 *   loss = - sum_i sum_t w_it objective_t  + klCoef * sum w_it k3_t  + vfCoef * value loss
 *
 *   normalization   w_it
 *   'sequence'      1 / (n_seq |o_i|)            GRPO: mean over tokens, then over sequences
 *   'token'         1 / sum_i |o_i|              DAPO, PPO: mean over all tokens of the batch
 *   'constant'      1 / (n_seq * maxTokens)      Dr. GRPO: no length normalization
 *
 * k3 = exp(ref - logp) - (ref - logp) - 1 is Schulman's unbiased, positive
 * KL estimator (as in the GRPO paper). The value loss is 0.5 (V - R)^2,
 * averaged over action tokens.
 */
import { backward, Tensor } from '../tensor/tensor.ts';
import { withPool } from '../tensor/pool.ts';
import * as O from '../tensor/ops.ts';
import { clipGradNorm, type AdamW } from '../nn/optim.ts';
import type { TokenBatch, TrainablePolicy } from '../policy/types.ts';
import type { Trajectory } from './rollout.ts';

export type Normalization = 'sequence' | 'token' | 'constant';

export interface PGLossConfig {
  normalization: Normalization;
  clipLow: number; // epsilon below 1
  clipHigh: number; // epsilon above 1 (DAPO's clip-higher: larger than clipLow)
  klCoef: number; // beta of the KL penalty to the reference (0 = none)
  vfCoef: number; // weight of the value loss (PPO; 0 = none)
  maxTokens: number; // the constant of 'constant' normalization (the sampling budget per reply)
}

/** Per-trajectory arrays aligned with its tokens (values at action positions are used). */
export interface PGItem {
  traj: Trajectory;
  advantages: Float32Array; // A_t at each token position
  returns?: Float32Array; // value targets (PPO)
  refLogprobs?: Float32Array; // log p under the reference (KL)
}

export interface UpdateStats {
  loss: number;
  pgLoss: number;
  kl: number; // mean k3 over action tokens (0 without a reference)
  valueLoss: number;
  clipFrac: number; // share of action tokens whose ratio left the clip range
  approxKl: number; // mean (logp_old - logp): how far the update has moved the policy
  entropy: number; // mean next-token entropy at action tokens
  gradNorm: number;
  tokens: number; // action tokens in the batch
  seqTokens: number; // all tokens through the forward pass (B x T)
  flops: number; // of this update's forward and backward passes
}

/** Packs trajectories into (B, T): targets are the action tokens; every other target is -1. */
export function packTrajectories(trajs: readonly Trajectory[]): TokenBatch {
  const B = trajs.length, T = Math.max(1, ...trajs.map((t) => t.tokens.length - 1));
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1); // (B, T)
  trajs.forEach((tr, b) => {
    for (let t = 0; t + 1 < tr.tokens.length; t++) {
      ids[b * T + t] = tr.tokens[t];
      if (tr.mask[t + 1]) targets[b * T + t] = tr.tokens[t + 1];
    }
  });
  return { ids, targets, B, T };
}

/** (B, T) values of a per-token array, shifted so position t holds token t+1's value. */
function shifted(items: readonly PGItem[], pick: (it: PGItem) => Float32Array | undefined, T: number): Float32Array {
  const out = new Float32Array(items.length * T);
  items.forEach((it, b) => {
    const src = pick(it);
    if (!src) return;
    for (let t = 0; t + 1 < src.length && t < T; t++) out[b * T + t] = src[t + 1];
  });
  return out;
}

/** One optimizer step on a minibatch of trajectories. */
export function pgUpdate(policy: TrainablePolicy, opt: AdamW, items: readonly PGItem[], cfg: PGLossConfig, lr: number, gradClip: number): UpdateStats {
  const batch = packTrajectories(items.map((it) => it.traj));
  const { B, T, targets } = batch;
  const old = shifted(items, (it) => it.traj.logprobs, T); // (B, T)
  const adv = shifted(items, (it) => it.advantages, T);
  const ref = cfg.klCoef > 0 ? shifted(items, (it) => it.refLogprobs, T) : null;
  const ret = cfg.vfCoef > 0 ? shifted(items, (it) => it.returns, T) : null;

  // w: the normalization of each action token; zero off the mask
  const w = new Float32Array(B * T);
  let nTok = 0;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) if (targets[b * T + t] >= 0) nTok++;
  for (let b = 0; b < B; b++) {
    let len = 0;
    for (let t = 0; t < T; t++) if (targets[b * T + t] >= 0) len++;
    const wb = cfg.normalization === 'sequence' ? 1 / (B * Math.max(1, len)) : cfg.normalization === 'token' ? 1 / Math.max(1, nTok) : 1 / (B * cfg.maxTokens);
    for (let t = 0; t < T; t++) if (targets[b * T + t] >= 0) w[b * T + t] = wb;
  }

  return withPool(() => {
    const f = policy.forward(batch);
    const shape = [B, T];
    const ratio = O.exp(O.sub(f.logp, Tensor.from(old, shape))); // (B, T)
    const A = Tensor.from(adv, shape);
    const obj = O.minimum(O.mul(ratio, A), O.mul(O.clamp(ratio, 1 - cfg.clipLow, 1 + cfg.clipHigh), A));
    const pg = O.weightedSum(obj, w, -1);
    let loss = pg;
    let klValue = 0;
    if (ref) {
      const d = O.sub(Tensor.from(ref, shape), f.logp); // ref - logp
      const k3 = O.addScalar(O.sub(O.exp(d), d), -1);
      loss = O.add(loss, O.weightedSum(k3, w, cfg.klCoef));
      klValue = maskedMean(k3.data, targets);
    }
    let vLoss = 0;
    if (ret && f.values) {
      const diff = O.sub(f.values, Tensor.from(ret, shape));
      const vw = new Float32Array(B * T);
      for (let i = 0; i < vw.length; i++) if (targets[i] >= 0) vw[i] = 0.5 / Math.max(1, nTok);
      const vl = O.weightedSum(O.square(diff), vw);
      vLoss = vl.item();
      loss = O.add(loss, O.scale(vl, cfg.vfCoef));
    }
    backward(loss);
    const gradNorm = gradClip > 0 ? clipGradNorm(opt.params, gradClip) : NaN;
    opt.update(lr);
    opt.zeroGrad();

    let clipped = 0, approx = 0;
    for (let i = 0; i < targets.length; i++) {
      if (targets[i] < 0) continue;
      const r = ratio.data[i];
      if (r < 1 - cfg.clipLow || r > 1 + cfg.clipHigh) clipped++;
      approx += old[i] - f.logp.data[i];
    }
    return {
      loss: loss.item(), pgLoss: pg.item(), kl: klValue, valueLoss: vLoss, clipFrac: clipped / Math.max(1, nTok),
      approxKl: approx / Math.max(1, nTok), entropy: maskedMean(f.entropy, targets), gradNorm, tokens: nTok, seqTokens: B * T,
      flops: B * T * policy.flops().trainPerToken(Math.min(T, policy.contextLength)),
    };
  });
}

/**
 * One step of supervised next-token loss on the action tokens of
 * trajectories (expert iteration distils accepted rollouts this way):
 * loss = - mean over action tokens of log p.
 */
export function nllUpdate(policy: TrainablePolicy, opt: AdamW, trajs: readonly Trajectory[], lr: number, gradClip: number): { loss: number; gradNorm: number; tokens: number; seqTokens: number; flops: number } {
  const batch = packTrajectories(trajs);
  let n = 0;
  for (const t of batch.targets) if (t >= 0) n++;
  const w = new Float32Array(batch.targets.length);
  for (let i = 0; i < w.length; i++) if (batch.targets[i] >= 0) w[i] = 1 / Math.max(1, n);
  return withPool(() => {
    const loss = O.weightedSum(policy.forward(batch).logp, w, -1);
    backward(loss);
    const gradNorm = gradClip > 0 ? clipGradNorm(opt.params, gradClip) : NaN;
    opt.update(lr);
    opt.zeroGrad();
    return { loss: loss.item(), gradNorm, tokens: n, seqTokens: batch.B * batch.T, flops: batch.B * batch.T * policy.flops().trainPerToken(Math.min(batch.T, policy.contextLength)) };
  });
}

/**
 * Reference log-probs for KL: the frozen policy scores each trajectory's
 * tokens (aligned with them, 0 before the first action), and the FLOPs of
 * that forward pass (a third of a training pass over the same batch).
 */
export function referenceLogprobs(ref: TrainablePolicy, trajs: readonly Trajectory[]): { logprobs: Float32Array[]; flops: number } {
  const scores = ref.score(trajs.map((t) => t.tokens), trajs.map(() => 1));
  const logprobs = trajs.map((t, i) => {
    const out = new Float32Array(t.tokens.length);
    for (let j = 1; j < t.tokens.length; j++) if (t.mask[j]) out[j] = scores[i][j - 1];
    return out;
  });
  const T = Math.max(1, ...trajs.map((t) => t.tokens.length - 1));
  return { logprobs, flops: forwardFlops(ref, trajs.length, T) };
}

/** FLOPs of a forward pass (no backward) over a (B, T) batch: a third of 6N per token plus attention. */
export function forwardFlops(policy: TrainablePolicy, B: number, T: number): number {
  return (B * T * policy.flops().trainPerToken(Math.min(T, policy.contextLength))) / 3;
}

/** A per-trajectory advantage broadcast over its action tokens. */
export function broadcastAdvantage(traj: Trajectory, a: number): Float32Array {
  const out = new Float32Array(traj.tokens.length);
  for (let j = 0; j < out.length; j++) if (traj.mask[j]) out[j] = a;
  return out;
}

function maskedMean(x: Float32Array, targets: Int32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) (s += x[i], n++);
  return n ? s / n : 0;
}
