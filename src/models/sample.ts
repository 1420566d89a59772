/**
 * Batched sampling with a KV cache, and per-token log-probabilities of given
 * sequences.
 *
 * Decoding runs in lockstep over positions: at position t every sequence
 * feeds one token (its prompt's t-th token while still inside the prompt,
 * else its last sample), so prompts of different lengths share one batch
 * and each sequence starts sampling as soon as its prompt ends. Each step
 * is one row per sequence through every layer, attending over the cached
 * keys and values of positions 0..t. No autograd: kernels run directly.
 *
 * Log-probabilities returned are under the model's own distribution
 * (temperature 1, no top-k/top-p truncation), the quantity RL losses use.
 */
import type { Rng } from '../util/rng.ts';
import { K } from '../tensor/backend.ts';
import { noGrad } from '../tensor/tensor.ts';
import * as O from '../tensor/ops.ts';
import type { GPT } from './gpt.ts';

export interface SampleOptions {
  maxNewTokens: number | readonly number[]; // per sequence, or one for all
  temperature?: number; // 0 = greedy (argmax); default 1
  topK?: number; // keep the k most likely tokens (0 = off)
  topP?: number; // nucleus: smallest set with probability >= p (1 = off)
  stopTokens?: readonly number[]; // a sampled token in this set ends the sequence (it is kept in the output)
  stopSequences?: readonly (readonly number[])[]; // the output ending with one of these ends the sequence
  rng: Rng; // all randomness; the same seed gives the same tokens
}

export type FinishReason = 'stop' | 'length';

export interface SampleResult {
  tokens: number[][]; // new tokens per sequence (prompt excluded)
  logprobs: number[][]; // log p(token) under the model, one per new token
  finish: FinishReason[];
}

/** Samples continuations of prompts (each at least one token). */
export function sample(model: GPT, prompts: readonly (readonly number[])[], opts: SampleOptions): SampleResult {
  const c = model.config, B = prompts.length, C = c.nEmbd, H = c.nHead, hs = C / H, V = c.vocabSize, Tmax = c.blockSize;
  const maxNew = prompts.map((p, i) => (typeof opts.maxNewTokens === 'number' ? opts.maxNewTokens : opts.maxNewTokens[i]));
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`sample: prompt ${i} is empty (start it with a BOS/EOS token)`);
    if (p.length > Tmax) throw new Error(`sample: prompt ${i} has ${p.length} tokens, more than blockSize ${Tmax}`);
    for (const t of p) if (!(t >= 0 && t < V)) throw new Error(`sample: prompt ${i} has token ${t} outside [0, ${V})`);
  });
  const out: SampleResult = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finish: prompts.map(() => 'length') };
  const done = prompts.map((p, i) => maxNew[i] <= 0);
  if (B === 0 || done.every(Boolean)) return out;

  const layers = model.h;
  // weights transposed once per call, (in, out): the decode products then run untransposed, which sgemm does faster
  const wT = layers.map((blk) => ({
    attn: transposed(blk.attn.c_attn.weight.data, 3 * C, C), proj: transposed(blk.attn.c_proj.weight.data, C, C),
    fc: transposed(blk.mlp.c_fc.weight.data, 4 * C, C), fc2: transposed(blk.mlp.c_proj.weight.data, C, 4 * C),
  }));
  const kCache = layers.map(() => new Float32Array(B * H * hs * Tmax)); // (B, H, hs, Tmax): keys transposed
  const vCache = layers.map(() => new Float32Array(B * H * Tmax * hs)); // (B, H, Tmax, hs)
  const x = new Float32Array(B * C), h = new Float32Array(B * C), qkv = new Float32Array(B * 3 * C);
  const att = new Float32Array(B * C), tmp = new Float32Array(B * C), fc = new Float32Array(B * 4 * C);
  const mean = new Float32Array(B), rstd = new Float32Array(B), logits = new Float32Array(B * V);
  const cur = new Int32Array(B);
  const wte = model.wte.weight.data, wpe = model.wpe.weight.data;

  for (let t = 0; t < Tmax; t++) {
    for (let b = 0; b < B; b++) cur[b] = t < prompts[b].length ? prompts[b][t] : out.tokens[b][out.tokens[b].length - 1];
    // x = wte[cur] + wpe[t]   (B, C)
    K.embedding(wte, cur, x, B, C);
    K.addBias(x, wpe.subarray(t * C, (t + 1) * C), B, C);
    for (let l = 0; l < layers.length; l++) {
      const blk = layers[l];
      K.layernorm(x, blk.ln_1.weight.data, blk.ln_1.bias.data, h, mean, rstd, B, C, blk.ln_1.eps);
      linearRows(h, wT[l].attn, blk.attn.c_attn.bias!.data, qkv, B, C, 3 * C); // (B, 3C)
      K.attentionDecode(qkv, kCache[l], vCache[l], att, B, t, C, H, Tmax);
      linearRows(att, wT[l].proj, blk.attn.c_proj.bias!.data, tmp, B, C, C);
      K.axpy(tmp, 1, x); // residual
      K.layernorm(x, blk.ln_2.weight.data, blk.ln_2.bias.data, h, mean, rstd, B, C, blk.ln_2.eps);
      linearRows(h, wT[l].fc, blk.mlp.c_fc.bias!.data, fc, B, C, 4 * C);
      K.unary('gelu', fc, fc);
      linearRows(fc, wT[l].fc2, blk.mlp.c_proj.bias!.data, tmp, B, 4 * C, C);
      K.axpy(tmp, 1, x); // residual
    }
    K.layernorm(x, model.ln_f.weight.data, model.ln_f.bias.data, h, mean, rstd, B, C, model.ln_f.eps);
    K.matmul(h, wte, logits, 1, B, V, C, false, true, false, 0, 0); // (B, V), tied head

    for (let b = 0; b < B; b++) {
      if (done[b] || t < prompts[b].length - 1) continue;
      const row = logits.subarray(b * V, (b + 1) * V);
      const tok = pickToken(row, opts);
      out.tokens[b].push(tok);
      out.logprobs[b].push(logProb(row, tok));
      if (opts.stopTokens?.includes(tok) || endsWithAny(out.tokens[b], opts.stopSequences)) {
        done[b] = true;
        out.finish[b] = 'stop';
      } else if (out.tokens[b].length >= maxNew[b] || prompts[b].length + out.tokens[b].length >= Tmax) {
        done[b] = true;
      }
    }
    if (done.every(Boolean)) break;
  }
  return out;
}

/** y (rows, nOut) = x (rows, nIn) @ Wt + b, with Wt the weight transposed to (nIn, nOut). */
function linearRows(x: Float32Array, Wt: Float32Array, bias: Float32Array, y: Float32Array, rows: number, nIn: number, nOut: number): void {
  K.matmul(x, Wt, y, 1, rows, nOut, nIn, false, false, false, 0, 0);
  K.addBias(y, bias, rows, nOut);
}

/** W (rows, cols) -> Wᵀ (cols, rows) */
function transposed(W: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(W.length);
  K.permute(W, [rows, cols], [1, 0], out);
  return out;
}

/** log softmax(row)[tok] */
function logProb(row: Float32Array, tok: number): number {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > mx) mx = row[i];
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - mx);
  return row[tok] - mx - Math.log(s);
}

/** Draws one token from logits under temperature, top-k and top-p. */
export function pickToken(row: Float32Array, opts: Pick<SampleOptions, 'temperature' | 'topK' | 'topP' | 'rng'>): number {
  const temp = opts.temperature ?? 1, V = row.length;
  if (temp <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    return best;
  }
  const topK = opts.topK ?? 0, topP = opts.topP ?? 1;
  if ((topK <= 0 || topK >= V) && topP >= 1) return pickFull(row, temp, opts.rng);
  // candidates sorted by logit (descending), index order breaks ties deterministically
  let idx = Array.from({ length: V }, (_, i) => i);
  idx.sort((a, b) => row[b] - row[a] || a - b);
  if (topK > 0 && topK < V) idx = idx.slice(0, topK);
  let mx = -Infinity;
  for (const i of idx) if (row[i] > mx) mx = row[i];
  const p = idx.map((i) => Math.exp((row[i] - mx) / temp));
  let total = p.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let acc = 0, keep = 0;
    while (keep < p.length && acc < topP * total) acc += p[keep++];
    idx = idx.slice(0, Math.max(1, keep));
    p.length = idx.length;
    total = p.reduce((a, b) => a + b, 0);
  }
  let u = opts.rng.float() * total;
  for (let j = 0; j < idx.length; j++) {
    u -= p[j];
    if (u < 0) return idx[j];
  }
  return idx[idx.length - 1];
}

let expScratch = new Float64Array(0);

/** Sampling from the whole distribution (no top-k / top-p): two passes over a scratch row, no arrays built. */
function pickFull(row: Float32Array, temp: number, rng: Rng): number {
  const V = row.length;
  if (expScratch.length < V) expScratch = new Float64Array(V);
  const p = expScratch;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (row[i] > mx) mx = row[i];
  let total = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp((row[i] - mx) / temp);
    total += p[i];
  }
  let u = rng.float() * total;
  for (let i = 0; i < V; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return V - 1;
}

function endsWithAny(tokens: readonly number[], seqs: SampleOptions['stopSequences']): boolean {
  if (!seqs) return false;
  outer: for (const s of seqs) {
    if (s.length === 0 || s.length > tokens.length) continue;
    for (let i = 0; i < s.length; i++) if (tokens[tokens.length - s.length + i] !== s[i]) continue outer;
    return true;
  }
  return false;
}

/**
 * Log-probabilities of given token sequences: for each sequence, log p(seq[i] | seq[<i])
 * for i >= from[seq] (default 1). Sequences are padded into one batch.
 */
export function scoreTokens(model: GPT, seqs: readonly (readonly number[])[], from?: readonly number[]): number[][] {
  if (seqs.length === 0) return [];
  const T = Math.max(...seqs.map((s) => s.length));
  if (T > model.config.blockSize) throw new Error(`scoreTokens: a sequence has ${T} tokens, more than blockSize ${model.config.blockSize}`);
  const B = seqs.length, ids = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1);
  seqs.forEach((s, b) => {
    for (let i = 0; i < s.length; i++) ids[b * T + i] = s[i];
    for (let i = Math.max(1, from?.[b] ?? 1); i < s.length; i++) targets[b * T + i - 1] = s[i];
  });
  return noGrad(() => {
    const nll = O.tokenNll(model.forward(ids, B, T).logits, targets);
    return seqs.map((s, b) => {
      const out: number[] = [];
      for (let i = Math.max(1, from?.[b] ?? 1); i < s.length; i++) out.push(-nll.data[b * T + i - 1]);
      return out;
    });
  });
}

/**
 * Continues text beyond the context window: samples in chunks, each time
 * re-reading the last half-context of tokens. Returns the new text only.
 */
export function generateText(
  model: GPT,
  tok: { encode(s: string): number[]; decode(ids: ArrayLike<number>): string; eosId: number },
  prompt: string,
  maxNewTokens: number,
  opts: Omit<SampleOptions, 'maxNewTokens'> & { stopText?: string },
): string {
  const ctx = Math.max(1, Math.floor(model.config.blockSize / 2));
  let ids = prompt ? tok.encode(prompt) : [tok.eosId];
  const start = ids.length;
  while (ids.length - start < maxNewTokens) {
    const window = ids.slice(-ctx);
    const want = Math.min(maxNewTokens - (ids.length - start), model.config.blockSize - window.length);
    const r = sample(model, [window], { ...opts, maxNewTokens: want });
    ids = ids.concat(r.tokens[0]);
    if (r.finish[0] === 'stop') break;
    if (opts.stopText && tok.decode(ids.slice(start)).includes(opts.stopText)) break;
  }
  let text = tok.decode(ids.slice(start).filter((t) => t !== tok.eosId));
  if (opts.stopText && text.includes(opts.stopText)) text = text.slice(0, text.indexOf(opts.stopText) + opts.stopText.length);
  return text;
}
