/**
 * The child process of threads.test.ts: a few steps of everything that
 * trains or samples, on the backend and thread count its environment
 * names (FLYWHEEL_BACKEND, FLYWHEEL_THREADS), printed as one JSON line of
 * exact numbers and hashes of the weights' bytes, so the parent can compare
 * runs bit for bit.
 *
 *   1. pretraining: a tiny GPT, 3 steps of trainStep (loss, backward, grad
 *      clip, AdamW) on 16 x 64 random tokens;
 *   2. an RL step, twice: sample 8 prompts x 4 completions with the KV
 *      cache (prefill of the shared prompts, then decode), group
 *      advantages, pgUpdate with the group's shared prompt packed
 *      (GPT.sharePrefixes).
 *
 * Big enough that every threaded path splits (products, row kernels,
 * reductions, attention heads, gptStep chunks), small enough for seconds.
 */
import { createHash } from 'node:crypto';
import { initBackend } from '../../src/tensor/backend.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { CharTokenizer } from '../../src/models/tokenizer.ts';
import { AdamW } from '../../src/nn/optim.ts';
import { LocalPolicy } from '../../src/policy/local.ts';
import { groupAdvantages } from '../../src/algos/grpo.ts';
import { broadcastAdvantage, pgUpdate, type PGItem } from '../../src/algos/pg.ts';
import { trainStep } from '../../src/algos/lm.ts';
import type { Trajectory } from '../../src/algos/rollout.ts';
import { Rng } from '../../src/util/rng.ts';

const VOCAB = 64;

function weights(model: GPT): string {
  const h = createHash('sha256');
  for (const [, p] of model.params()) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return h.digest('hex').slice(0, 16);
}

function hashFloats(xs: Float32Array[]): string {
  const h = createHash('sha256');
  for (const x of xs) h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  return h.digest('hex').slice(0, 16);
}

const backend = await initBackend();
// the wasm workers warm up in the background: wait, so they share the calls from the first one
const threads = backend.name === 'wasm' ? await (await import('../../src/tensor/kernels/wasm.ts')).wasmThreadsReady() : null;
const config = (blockSize: number): GPTConfig => ({ vocabSize: VOCAB, blockSize, nLayer: 2, nEmbd: 64, nHead: 4, valueHead: false });

// 1. pretraining
const lm = new GPT(config(64), 0);
const lmOpt = new AdamW(lm.params(), { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const rng = new Rng('threads/pretrain');
const pretrain: { loss: number; gradNorm: number }[] = [];
for (let step = 0; step < 3; step++) {
  const B = 16, T = 64, ids = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) ids[i] = rng.int(VOCAB);
  for (let i = 0; i < B * T; i++) targets[i] = (i + 1) % T === 0 ? rng.int(VOCAB) : ids[i + 1];
  pretrain.push(trainStep(lm, lmOpt, { ids, targets, B, T, tokens: B * T }, 2e-3, 1.0));
}

// 2. RL: sample with the KV cache, then one clipped policy-gradient update, twice
const P = 8, G = 4, Lp = 8, Lg = 8;
const tokenizer = new CharTokenizer(Array.from({ length: VOCAB - 3 }, (_, i) => String.fromCharCode(48 + i)));
const policy = new LocalPolicy(new GPT(config(32), 1), tokenizer, { name: 'threads', format: 'text' });
const opt = new AdamW(policy.params(), { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
const promptRng = new Rng('threads/prompts');
const rl: { tokens: number[][]; logprobs: string; stats: unknown }[] = [];
for (let step = 0; step < 2; step++) {
  const prompts = Array.from({ length: P }, () => Array.from({ length: Lp }, () => promptRng.int(VOCAB)));
  const prefixes = prompts.flatMap((p) => Array.from({ length: G }, () => p));
  const samples = await policy.sampleTokens(prefixes, { maxTokens: Lg, temperature: 1, seed: step, ignoreEos: true });
  const trajs = samples.map((s, r): Trajectory => {
    const p = prefixes[r], tokens = [...p, ...s.tokens];
    const reward = s.tokens.filter((t, j) => t === p[Lp - 1 - j]).length / Lg;
    const logprobs = new Float32Array(tokens.length);
    logprobs.set(s.logprobs, Lp);
    return {
      env: 'threads', seed: step, difficulty: 0, hard: false, group: Math.floor(r / G), prompt: '', completion: '', messages: null,
      tokens, mask: new Uint8Array(tokens.length).fill(1, Lp), logprobs, promptTokens: Lp, actionTokens: s.tokens.length,
      reward, ok: reward === 1, reason: 'threads', firstReason: 'threads', finish: s.finish, turns: 1,
    };
  });
  const adv = groupAdvantages(trajs.map((t) => t.reward), G, true);
  const items: PGItem[] = trajs.map((traj, r) => ({ traj, advantages: broadcastAdvantage(traj, adv[r]) }));
  const stats = pgUpdate(policy, opt, items, { normalization: 'token', clipLow: 0.2, clipHigh: 0.2, klCoef: 0, vfCoef: 0, maxTokens: Lg }, 1e-3, 1.0);
  rl.push({ tokens: samples.map((s) => s.tokens), logprobs: hashFloats(samples.map((s) => Float32Array.from(s.logprobs))), stats });
}

console.log(JSON.stringify({ backend: backend.name, detail: backend.detail, threads, pretrain, lmWeights: weights(lm), rl, rlWeights: weights(policy.model) }));
