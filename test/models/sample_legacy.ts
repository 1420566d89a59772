/**
 * The sampler as it was before GPT.prefill / GPT.decode existed (commit
 * 804f3e6, src/models/sample.ts), kept only as an oracle for the tests: it
 * feeds every prompt through the KV cache one position at a time with its
 * own copy of the block arithmetic. The new sampler must give its tokens
 * for the same seed. Not used by flywheel itself.
 */
import type { Rng } from '../../src/util/rng.ts';
import { K } from '../../src/tensor/backend.ts';
import type { GPT } from '../../src/models/gpt.ts';
import { pickToken, type SampleOptions, type SampleResult } from '../../src/models/sample.ts';

/** Samples continuations of prompts (each at least one token). */
export function legacySample(model: GPT, prompts: readonly (readonly number[])[], opts: SampleOptions): SampleResult {
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

function endsWithAny(tokens: readonly number[], seqs: SampleOptions['stopSequences']): boolean {
  if (!seqs) return false;
  outer: for (const s of seqs) {
    if (s.length === 0 || s.length > tokens.length) continue;
    for (let i = 0; i < s.length; i++) if (tokens[tokens.length - s.length + i] !== s[i]) continue outer;
    return true;
  }
  return false;
}

