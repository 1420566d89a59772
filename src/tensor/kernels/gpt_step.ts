/**
 * One no-grad GPT pass over a KV cache, composed from the kernel table's
 * own kernels: the reference for the optional fused `gptStep` kernel
 * (native/decode.cc), and the path every backend without one takes.
 *
 * A pass feeds Lq new tokens to each of B sequences at positions
 * t0..t0+Lq-1 and returns the next-token logits at each sequence's last new
 * position: a decode step (Lq = 1, any t0) or a prefill (t0 = 0, any Lq).
 * The sequences go through the embedding, every pre-LayerNorm block
 * (attention over the cache, GELU MLP, residuals), the final LayerNorm and
 * the tied head, as GPT.forward computes them (gpt.ts).
 *
 * The weights arrive as the KV cache snapshots them (kv_cache.ts): one
 * packed buffer of every block, linear weights transposed to (in, out), in
 * the order of BLOCK_PARTS.
 */
import type { Kernels } from './types.ts';

/** One block's parameters in the packed snapshot, in order, with their sizes in units of C. */
export const BLOCK_PARTS = [
  ['ln1w', 'C'], ['ln1b', 'C'],
  ['wqkv', 'C*3C'], ['bqkv', '3C'], // c_attn, transposed (C, 3C)
  ['wproj', 'C*C'], ['bproj', 'C'], // attn.c_proj (C, C)
  ['ln2w', 'C'], ['ln2b', 'C'],
  ['wfc', 'C*4C'], ['bfc', '4C'], // mlp.c_fc (C, 4C)
  ['wfc2', '4C*C'], ['bfc2', 'C'], // mlp.c_proj (4C, C)
] as const;

export type BlockPart = (typeof BLOCK_PARTS)[number][0];

const partSize = (s: (typeof BLOCK_PARTS)[number][1], C: number): number =>
  s === 'C' ? C : s === '3C' ? 3 * C : s === '4C' ? 4 * C : s === 'C*C' ? C * C : s === 'C*3C' ? 3 * C * C : 4 * C * C;

/** Floats of one packed block: 12 C^2 + 13 C. */
export function blockFloats(C: number): number {
  return BLOCK_PARTS.reduce((n, [, s]) => n + partSize(s, C), 0);
}

/** Named views of block l in a packed buffer of blocks. */
export function blockViews(blocks: Float32Array, l: number, C: number): Record<BlockPart, Float32Array> {
  let o = l * blockFloats(C);
  const out = {} as Record<BlockPart, Float32Array>;
  for (const [name, s] of BLOCK_PARTS) out[name] = blocks.subarray(o, (o += partSize(s, C)));
  return out;
}

/** The arguments of a pass (the fused kernel takes the same, flat, in this order). */
export interface GptStepArgs {
  ids: Int32Array; // (B, Lq) the new tokens
  wte: Float32Array; // (V, C) token embeddings
  wpe: Float32Array; // (>= t0 + Lq, C) position embeddings
  blocks: Float32Array; // (L, blockFloats(C)) packed, see BLOCK_PARTS
  lnf: Float32Array; // (2C) final LayerNorm weight, then bias
  wteT: Float32Array; // (C, V) the tied head, transposed
  kCache: Float32Array; // (L, B, H, hs, Tmax) keys, transposed per head
  vCache: Float32Array; // (L, B, H, Tmax, hs) values
  logits: Float32Array; // (B, V) out
  B: number;
  Lq: number;
  t0: number;
  C: number;
  H: number;
  L: number;
  V: number;
  Tmax: number;
  eps: number; // every LayerNorm's
}

/** Grow-only scratch, reused across passes (a prefill of thousands of rows needs megabytes). */
let scratch = new Float32Array(0);

/** The pass on kernel table k, composed: one kernel call per op, each over all rows. */
export function composedGptStep(k: Kernels, a: GptStepArgs): void {
  const { B, Lq, t0, C, H, L, V, Tmax, eps } = a, rows = B * Lq, per = B * C * Tmax;
  if (!(Lq === 1 || t0 === 0)) throw new Error(`gptStep: Lq = ${Lq} new tokens at t0 = ${t0}: a pass is a decode step (Lq = 1) or a prefill (t0 = 0)`);
  const sizes = [rows * C, rows * C, rows * 3 * C, rows * C, rows * C, rows * 4 * C, rows, rows, B * C];
  const total = sizes.reduce((x, y) => x + y, 0);
  if (scratch.length < total) scratch = new Float32Array(total);
  let o = 0;
  const [x, h, qkv, att, tmp, fc, mean, rstd, last] = sizes.map((n) => scratch.subarray(o, (o += n)));
  // x (rows, C) = wte[ids] + wpe[position]
  k.embedding(a.wte, a.ids, x, rows, C);
  k.addBias(x, a.wpe.subarray(t0 * C, (t0 + Lq) * C), B, Lq * C); // (B, Lq*C) += (Lq*C)
  const probs = Lq > 1 ? new Float32Array(B * H * Lq * Lq) : null; // (B, H, Lq, Lq) prefill's attention probabilities
  for (let l = 0; l < L; l++) {
    const w = blockViews(a.blocks, l, C);
    const kc = a.kCache.subarray(l * per, (l + 1) * per), vc = a.vCache.subarray(l * per, (l + 1) * per);
    k.layernorm(x, w.ln1w, w.ln1b, h, mean, rstd, rows, C, eps);
    linearRows(k, h, w.wqkv, w.bqkv, qkv, rows, C, 3 * C); // (rows, 3C)
    if (Lq === 1) {
      k.attentionDecode(qkv, kc, vc, att, B, t0, C, H, Tmax);
    } else {
      writeBlock(qkv, kc, vc, B, Lq, C, H, Tmax);
      k.attention(qkv, att, probs!, B, Lq, C, H);
    }
    linearRows(k, att, w.wproj, w.bproj, tmp, rows, C, C);
    k.axpy(tmp, 1, x); // residual
    k.layernorm(x, w.ln2w, w.ln2b, h, mean, rstd, rows, C, eps);
    linearRows(k, h, w.wfc, w.bfc, fc, rows, C, 4 * C); // (rows, 4C)
    k.unary('gelu', fc, fc);
    linearRows(k, fc, w.wfc2, w.bfc2, tmp, rows, 4 * C, C);
    k.axpy(tmp, 1, x); // residual
  }
  // logits (B, V) = ln_f(last position of each sequence) @ wteT
  for (let b = 0; b < B; b++) last.set(x.subarray((b * Lq + Lq - 1) * C, (b * Lq + Lq) * C), b * C);
  k.layernorm(last, a.lnf.subarray(0, C), a.lnf.subarray(C, 2 * C), h, mean, rstd, B, C, eps);
  k.matmul(h, a.wteT, a.logits, 1, B, V, C, false, false, false, 0, 0);
}

/** y (rows, nOut) = x (rows, nIn) @ Wt + b, with Wt the weight transposed to (nIn, nOut). */
function linearRows(k: Kernels, x: Float32Array, Wt: Float32Array, bias: Float32Array, y: Float32Array, rows: number, nIn: number, nOut: number): void {
  k.matmul(x, Wt, y, 1, rows, nOut, nIn, false, false, false, 0, 0);
  k.addBias(y, bias, rows, nOut);
}

/** Stores a prompt block's keys and values: qkv (B, Lq, 3C) for positions 0..Lq-1 (decode's kernel writes its own). */
function writeBlock(qkv: Float32Array, kc: Float32Array, vc: Float32Array, B: number, Lq: number, C: number, H: number, Tmax: number): void {
  const hs = C / H;
  // plain index loops: a subarray per (row, head) costs more than the copy itself
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h, kBase = bh * hs * Tmax, vBase = bh * Tmax * hs;
      for (let t = 0; t < Lq; t++) {
        const src = (b * Lq + t) * 3 * C + C + h * hs; // k of (b, t, h) in (B, Lq, 3C); v is C further
        for (let j = 0; j < hs; j++) {
          kc[kBase + j * Tmax + t] = qkv[src + j]; // (b, h, j, t) in (B, H, hs, Tmax)
          vc[vBase + t * hs + j] = qkv[src + C + j]; // (b, h, t, j) in (B, H, Tmax, hs)
        }
      }
    }
  }
}
