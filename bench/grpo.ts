/**
 * The RL row of `npm run bench`: one GRPO step of the PyTorch peer
 * (../shared/peers/torch_grpo_bench.py, its README section describes the
 * workload) through flywheel's real code path: LocalPolicy.sampleTokens
 * (prefill + decode over the KV cache), groupAdvantages from
 * src/algos/grpo.ts, and pgUpdate from src/algos/pg.ts (the clipped-ratio
 * loss, backward, grad-norm clip, AdamW), as grpo.ts composes them.
 *
 *   node --import tsx bench/grpo.ts [--config small] [--backend native] [--no-share] [--quick] [--json]
 *
 * The peer's workload, exactly: vocab 64, context 64; each step 16 fresh
 * prompts of 16 uniformly random tokens, each repeated 8 times (128 rows);
 * exactly 16 new tokens (no early stop: ignoreEos), temperature 1; reward =
 * share of the new tokens equal to the prompt reversed; one update with
 * clip epsilon 0.2, mean over all new tokens, grad-norm clip 1.0, AdamW
 * (lr 1e-3, betas 0.9/0.95, wd 0.1); 2 warm-up steps, then 10 timed.
 * Differences that do not change the work: flywheel's group std is the
 * population std (grpo.ts says why), the peer's Bessel's; the update's
 * forward reads the 31 tokens that predict something, the peer's all 32;
 * flywheel decays rank >= 2 parameters only. Two that do: GPT.prefill
 * feeds a prompt shared by several rows once and copies its keys and
 * values (16 x 16 prompt positions, not 128 x 16), with the same results
 * per row; the peer prefills all 128 rows. And the update's forward
 * (GPT.forward, src/models/shared_prefix.ts) runs the positions a group
 * shares once: 16 x 16 + 128 x 15 = 2176 rows through every layer, not
 * 128 x 31 = 3968, with the same logits and gradients up to rounding; the
 * peer's forward and backward run all 128 x 32. With --no-share (the
 * bench's second GRPO row) neither shortcut is taken: the same work as the
 * peer, to say how much of the ratio is the engine and how much the sharing.
 *
 * Phases per step (medians): sample (prefill + decode, log-probs), reward
 * and advantages, then inside pgUpdate: forward (the policy's forward with
 * log-probs and entropy), backward (the loss ops, backward, grad clip) and
 * optimizer (AdamW). No reference model is scored: klCoef is 0, as in the peer.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, type BackendName } from '../src/tensor/backend.ts';
import { GPT } from '../src/models/gpt.ts';
import { CharTokenizer } from '../src/models/tokenizer.ts';
import { AdamW } from '../src/nn/optim.ts';
import { LocalPolicy } from '../src/policy/local.ts';
import type { PolicyForward, TokenBatch } from '../src/policy/types.ts';
import { groupAdvantages } from '../src/algos/grpo.ts';
import { broadcastAdvantage, pgUpdate, type PGItem, type PGLossConfig } from '../src/algos/pg.ts';
import type { Trajectory } from '../src/algos/rollout.ts';
import { Rng } from '../src/util/rng.ts';
import { CONFIG_NAMES, loadavg, modelConfig, SEED, VOCAB, type ConfigName, type Rates } from './gpt.ts';

export const GRPO = { prompts: 16, group: 8, promptLen: 16, genLen: 16, ctx: 64, warmup: 2, steps: 10, clip: 0.2, gradClip: 1.0, lr: 1e-3 } as const;
export const PHASES = ['sample', 'reward', 'forward', 'backward', 'optimizer'] as const;
export type Phase = (typeof PHASES)[number];

export interface GrpoBench {
  task: 'grpo';
  backend: BackendName;
  detail: string;
  config: ConfigName;
  share: boolean; // prompts shared by a group run once (prefill and forward); false: the peer's work
  prompts: number;
  group: number;
  promptLen: number;
  genLen: number;
  warmup: number;
  steps: number;
  stepsPerSec: Rates;
  genTokPerSec: Rates; // new tokens per second of whole steps
  msMedian: Record<Phase | 'step', number>;
  rewardFirst: number;
  rewardLast: number;
  load: [number, number];
}

/** LocalPolicy with its forward timed: the forward phase inside pgUpdate. */
class TimedPolicy extends LocalPolicy {
  forwardMs = 0;
  override forward(batch: TokenBatch): PolicyForward {
    const t0 = performance.now();
    const r = super.forward(batch);
    this.forwardMs += performance.now() - t0;
    return r;
  }
}

function rates(xs: number[]): Rates {
  const s = [...xs].sort((a, b) => a - b), mid = s.length >> 1;
  return { best: s[s.length - 1], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, worst: s[0] };
}
const median = (xs: number[]): number => rates(xs).median;

export async function grpoBench(backend: BackendName, detail: string, config: ConfigName, quick: boolean, share = true): Promise<GrpoBench> {
  const load0 = loadavg()[0];
  const { prompts: P, group: G, promptLen: Lp, genLen: Lg } = GRPO;
  const warmup = GRPO.warmup, steps = quick ? 3 : GRPO.steps;
  const model = new GPT(modelConfig(config, GRPO.ctx), SEED);
  model.sharePrefixes = share;
  // ids 0-2 are the tokenizer's PAD/EOS/UNK; 61 characters make the vocabulary 64 (prompts are ids, never text)
  const tokenizer = new CharTokenizer(Array.from({ length: VOCAB - 3 }, (_, i) => String.fromCharCode(48 + i)));
  const policy = new TimedPolicy(model, tokenizer, { name: 'bench', format: 'text' });
  const opt = new AdamW(policy.params(), { lr: GRPO.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  let optMs = 0;
  const update = opt.update.bind(opt);
  opt.update = (lr?: number): void => {
    const t0 = performance.now();
    update(lr);
    optMs += performance.now() - t0;
  };
  const loss: PGLossConfig = { normalization: 'token', clipLow: GRPO.clip, clipHigh: GRPO.clip, klCoef: 0, vfCoef: 0, maxTokens: Lg };
  const promptRng = new Rng(SEED);

  const step = async (i: number): Promise<{ ms: Record<Phase | 'step', number>; reward: number }> => {
    policy.forwardMs = 0;
    optMs = 0;
    const t0 = performance.now();
    const prompts = Array.from({ length: P }, () => Array.from({ length: Lp }, () => promptRng.int(VOCAB)));
    const prefixes = prompts.flatMap((p) => Array.from({ length: G }, () => p)); // rows p*G .. p*G+G-1
    const samples = await policy.sampleTokens(prefixes, { maxTokens: Lg, temperature: 1, seed: i, ignoreEos: true });
    const t1 = performance.now();
    const trajs = samples.map((s, r): Trajectory => {
      const p = prefixes[r], tokens = [...p, ...s.tokens];
      if (s.tokens.length !== Lg) throw new Error(`grpoBench: row ${r} got ${s.tokens.length} new tokens, expected ${Lg}`);
      const reward = s.tokens.filter((t, j) => t === p[Lp - 1 - j]).length / Lg;
      const logprobs = new Float32Array(tokens.length);
      logprobs.set(s.logprobs, Lp);
      return {
        env: 'bench-reverse', seed: i, difficulty: 0, hard: false, group: Math.floor(r / G), prompt: '', completion: '', messages: null,
        tokens, mask: new Uint8Array(tokens.length).fill(1, Lp), logprobs, promptTokens: Lp, actionTokens: Lg,
        reward, ok: reward === 1, reason: 'bench', firstReason: 'bench', finish: s.finish, turns: 1,
      };
    });
    const adv = groupAdvantages(trajs.map((t) => t.reward), G, true);
    const items: PGItem[] = trajs.map((traj, r) => ({ traj, advantages: broadcastAdvantage(traj, adv[r]) }));
    const t2 = performance.now();
    pgUpdate(policy, opt, items, loss, GRPO.lr, GRPO.gradClip);
    const t3 = performance.now();
    const reward = trajs.reduce((a, t) => a + t.reward, 0) / trajs.length;
    const backwardMs = t3 - t2 - policy.forwardMs - optMs;
    return { ms: { sample: t1 - t0, reward: t2 - t1, forward: policy.forwardMs, backward: backwardMs, optimizer: optMs, step: t3 - t0 }, reward };
  };

  for (let i = 0; i < warmup; i++) await step(i);
  const runs: { ms: Record<Phase | 'step', number>; reward: number }[] = [];
  for (let i = 0; i < steps; i++) runs.push(await step(warmup + i));
  const sps = runs.map((r) => 1000 / r.ms.step);
  const msMedian = Object.fromEntries([...PHASES, 'step'].map((k) => [k, median(runs.map((r) => r.ms[k as Phase | 'step']))])) as Record<Phase | 'step', number>;
  const stepsPerSec = rates(sps);
  return {
    task: 'grpo', backend, detail, config, share, prompts: P, group: G, promptLen: Lp, genLen: Lg, warmup, steps, stepsPerSec,
    genTokPerSec: { best: stepsPerSec.best * P * G * Lg, median: stepsPerSec.median * P * G * Lg, worst: stepsPerSec.worst * P * G * Lg },
    msMedian, rewardFirst: runs[0].reward, rewardLast: runs[runs.length - 1].reward, load: [load0, loadavg()[0]],
  };
}

/** One line per phase: where the time of a step goes. */
export function formatPhases(ms: Record<string, number>): string {
  const total = ms.step;
  return Object.entries(ms).filter(([k]) => k !== 'step').map(([k, v]) => `${k} ${v.toFixed(1)} ms (${((100 * v) / total).toFixed(0)}%)`).join(', ') + `; step ${total.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, config: { type: 'string', default: 'small' }, 'no-share': { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  const config = values.config as ConfigName;
  if (!CONFIG_NAMES.includes(config)) throw new Error(`--config ${values.config}: expected one of ${CONFIG_NAMES.join(', ')}`);
  const bi = await initBackend(values.backend);
  const r = await grpoBench(bi.name, `${bi.name} — ${bi.detail}`, config, values.quick, !values['no-share']);
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(r.detail);
    console.log(`grpo ${config} on ${r.backend}${r.share ? '' : ' (no prefix sharing)'}: ${r.prompts}x${r.group} seqs, ${r.promptLen}+${r.genLen} tokens, ${r.steps} steps (warmup ${r.warmup}): steps/s best ${r.stepsPerSec.best.toFixed(2)} median ${r.stepsPerSec.median.toFixed(2)} worst ${r.stepsPerSec.worst.toFixed(2)}; reward ${r.rewardFirst.toFixed(3)} -> ${r.rewardLast.toFixed(3)}; load ${r.load.join(' -> ')}`);
    console.log(`  phases (median): ${formatPhases(r.msMedian)}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(`bench/grpo.ts: ${e.message}`);
    process.exit(1);
  });
}
