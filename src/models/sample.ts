/**
 * The sampler: picks tokens (temperature, top-k, top-p, stop tokens and
 * stop sequences) over the model's own no-grad passes, GPT.prefill and
 * GPT.decode with a KV cache (gpt.ts, kv_cache.ts); and per-token
 * log-probabilities of given sequences (scoreTokens, over GPT.forward).
 *
 * Ragged prompts: the common length L0 of the batch's prompts is prefilled
 * in one pass; from there the rows advance in lockstep, one position per
 * decode step for every row (a longer prompt feeds its own next token while
 * inside it, else the row feeds its last sample), so each row starts
 * sampling as soon as its prompt ends. Random draws are taken in the order
 * (position, row), one per sampled token (none when greedy), exactly as
 * before prefill existed, so a seed gives the tokens it always gave.
 * docs/sampling.md has the rest (the context rule, stopping, empty prompts).
 *
 * Log-probabilities returned are under the model's own distribution
 * (temperature 1, no top-k/top-p truncation), the quantity RL losses use.
 */
import type { Rng } from '../util/rng.ts';
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
  const c = model.config, B = prompts.length, V = c.vocabSize, Tmax = c.blockSize;
  const maxNew = prompts.map((p, i) => (typeof opts.maxNewTokens === 'number' ? opts.maxNewTokens : opts.maxNewTokens[i]));
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`sample: prompt ${i} is empty (start it with a BOS/EOS token)`);
    if (p.length > Tmax) throw new Error(`sample: prompt ${i} has ${p.length} tokens, more than blockSize ${Tmax}`);
    for (const t of p) if (!(t >= 0 && t < V)) throw new Error(`sample: prompt ${i} has token ${t} outside [0, ${V})`);
  });
  const out: SampleResult = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finish: prompts.map(() => 'length') };
  const done = prompts.map((p, i) => maxNew[i] <= 0);
  if (B === 0 || done.every(Boolean)) return out;

  // the common prompt length in one pass; then lockstep, one position per step for every row
  // positions the longest row can reach: its prompt plus all but its last new token
  const reach = Math.max(...prompts.map((p, i) => (done[i] ? p.length : p.length + maxNew[i] - 1)));
  const cache = model.newCache(B, Math.min(Tmax, Math.max(1, reach)));
  const L0 = Math.min(...prompts.map((p) => p.length));
  let logits = model.prefill(cache, prompts.map((p) => p.slice(0, L0)));
  const cur = new Int32Array(B);
  const plain = (opts.temperature ?? 1) === 1 && !((opts.topK ?? 0) > 0 && (opts.topK ?? 0) < V) && (opts.topP ?? 1) >= 1;
  for (let t = L0 - 1; ; t++) {
    // logits (B, V) were computed at position t: they predict position t + 1
    for (let b = 0; b < B; b++) {
      if (done[b] || t < prompts[b].length - 1) continue;
      const row = logits.subarray(b * V, (b + 1) * V);
      let tok: number, lp: number;
      if (plain) {
        // the draw's own max and sum give the log-prob: the same numbers logProb() would add up
        const { mx, total } = expRow(row, 1);
        tok = drawFrom(expScratch, V, total, opts.rng);
        lp = row[tok] - mx - Math.log(total);
      } else {
        tok = pickToken(row, opts);
        lp = logProb(row, tok);
      }
      out.tokens[b].push(tok);
      out.logprobs[b].push(lp);
      if (opts.stopTokens?.includes(tok) || endsWithAny(out.tokens[b], opts.stopSequences)) {
        done[b] = true;
        out.finish[b] = 'stop';
      } else if (out.tokens[b].length >= maxNew[b] || prompts[b].length + out.tokens[b].length >= Tmax) {
        done[b] = true;
      }
    }
    if (done.every(Boolean) || t + 1 >= Tmax) break;
    // position t + 1: the prompt's token while inside it, else the row's last sample (finished rows: anything valid)
    for (let b = 0; b < B; b++) cur[b] = t + 1 < prompts[b].length ? prompts[b][t + 1] : (out.tokens[b].at(-1) ?? 0);
    logits = model.decode(cache, cur);
  }
  cache.release();
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
  const { total } = expRow(row, temp);
  return drawFrom(expScratch, row.length, total, rng);
}

/** expScratch[i] = exp((row[i] - max) / temp); returns the max and the sum, added in index order. */
function expRow(row: Float32Array, temp: number): { mx: number; total: number } {
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
  return { mx, total };
}

/** One draw from weights p[0..V) that sum to total. */
function drawFrom(p: Float64Array, V: number, total: number, rng: Rng): number {
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

/** What generate() returns: the new text, and exactly the tokens sampled with their log-probs. */
export interface Generation {
  text: string; // new text: EOS dropped, cut after the stop text (which is kept)
  tokens: number[]; // every token sampled, EOS and stop-text tokens included
  logprobs: number[]; // log p of each, temperature 1, untruncated, under the window the model read
  finish: FinishReason; // 'stop': EOS or the stop text; 'length': maxNewTokens
}

/**
 * Continues text beyond the context window: samples in chunks, each time
 * re-reading only the last floor(blockSize / 2) tokens (the prompt too is
 * cut to them), so a long generation is a chain of half-context restarts,
 * not nanoGPT's sliding window. An empty prompt is [EOS], what pretraining
 * saw between documents. docs/sampling.md explains the rule.
 */
export function generate(
  model: GPT,
  tok: { encode(s: string): number[]; decode(ids: ArrayLike<number>): string; eosId: number },
  prompt: string,
  maxNewTokens: number,
  opts: Omit<SampleOptions, 'maxNewTokens'> & { stopText?: string },
): Generation {
  const ctx = Math.max(1, Math.floor(model.config.blockSize / 2));
  const stop = opts.stopText ? tok.encode(opts.stopText) : [];
  const stopSequences = [...(opts.stopSequences ?? []), ...(stop.length ? [stop] : [])];
  let ids = prompt ? tok.encode(prompt) : [tok.eosId];
  const start = ids.length, logprobs: number[] = [];
  let finish: FinishReason = 'length';
  while (ids.length - start < maxNewTokens) {
    const window = ids.slice(-ctx);
    const want = Math.min(maxNewTokens - (ids.length - start), model.config.blockSize - window.length);
    const r = sample(model, [window], { ...opts, maxNewTokens: want, stopSequences });
    ids = ids.concat(r.tokens[0]);
    logprobs.push(...r.logprobs[0]);
    if (r.finish[0] === 'stop' || (opts.stopText && tok.decode(ids.slice(start)).includes(opts.stopText))) {
      finish = 'stop';
      break;
    }
  }
  const tokens = ids.slice(start);
  let text = tok.decode(tokens.filter((t) => t !== tok.eosId));
  if (opts.stopText && text.includes(opts.stopText)) text = text.slice(0, text.indexOf(opts.stopText) + opts.stopText.length);
  return { text, tokens, logprobs, finish };
}

/** generate(), the text only. */
export function generateText(...args: Parameters<typeof generate>): string {
  return generate(...args).text;
}
