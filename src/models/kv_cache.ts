/**
 * The KV cache that GPT.prefill and GPT.decode (gpt.ts) read and extend:
 * for B rows in lockstep (every row at the same position `length`), each
 * layer's keys and values of the positions fed so far, plus a snapshot of
 * the weights in the layout the no-grad passes want (gpt_step.ts).
 *
 * A cache belongs to the weights it was made from: it copies the block and
 * head weights (linear weights transposed) when created, and its keys and
 * values were computed with them. After the weights change, make a new
 * cache (sample() makes one per call).
 */
import { K } from '../tensor/backend.ts';
import { blockFloats, blockViews } from '../tensor/kernels/gpt_step.ts';
import type { GPT } from './gpt.ts';

/**
 * Recycled storage: a few zero-free Float32Arrays handed back by release(),
 * so back-to-back sampling calls (an RL loop) do not fault in tens of MB of
 * fresh pages each time. Contents are garbage; every user overwrites.
 */
const spare: Float32Array[] = [];
const MAX_SPARE = 4;

function take(n: number): Float32Array {
  const i = spare.findIndex((b) => b.length >= n && b.length <= 2 * n);
  return i < 0 ? new Float32Array(n) : spare.splice(i, 1)[0].subarray(0, n);
}

function give(buf: Float32Array): void {
  const whole = new Float32Array(buf.buffer); // the full allocation behind the view
  if (spare.some((b) => b.buffer === whole.buffer)) throw new Error('KVCache: storage released twice');
  if (spare.length >= MAX_SPARE) spare.shift();
  spare.push(whole);
}

/** The weights a pass reads, snapshot when the cache is made (embeddings are the model's own arrays). */
export interface StepWeights {
  wte: Float32Array; // (V, C)
  wpe: Float32Array; // (blockSize, C)
  blocks: Float32Array; // (L, blockFloats(C)) packed, linear weights transposed (gpt_step.ts)
  lnf: Float32Array; // (2C) ln_f weight, then bias
  wteT: Float32Array; // (C, V) the tied head, transposed
  eps: number; // every LayerNorm's
}

export class KVCache {
  readonly B: number; // rows
  readonly Tmax: number; // positions it can hold (at most the model's blockSize)
  readonly nHead: number;
  readonly headSize: number;
  /** Positions fed so far, the same for every row; the next token goes at position `length`. */
  length = 0;
  readonly kAll: Float32Array; // (L, B, H, hs, Tmax): keys transposed, so decode scores vectorize over positions
  readonly vAll: Float32Array; // (L, B, H, Tmax, hs)
  readonly weights: StepWeights;
  readonly ids: Int32Array; // (B) decode's input tokens
  readonly logits: Float32Array; // (B, V) what prefill / decode return; overwritten by the next call

  private readonly storage: Float32Array; // kAll then vAll, one recycled buffer
  private readonly ownsWeights: boolean; // false: weights borrowed from another cache (rowsSharing)

  /**
   * positions: how many the cache holds (default and at most the block size;
   * fewer saves memory and time). weights: another cache's snapshot to share
   * instead of taking a new one (rowsSharing).
   */
  constructor(model: GPT, B: number, positions = model.config.blockSize, weights?: StepWeights) {
    const c = model.config, C = c.nEmbd, L = model.h.length;
    if (!(Number.isInteger(B) && B > 0)) throw new Error(`KVCache: B must be a positive integer, got ${B}`);
    if (!(Number.isInteger(positions) && positions > 0 && positions <= c.blockSize)) throw new Error(`KVCache: positions must be an integer in [1, blockSize ${c.blockSize}], got ${positions}`);
    this.B = B;
    this.Tmax = positions;
    this.nHead = c.nHead;
    this.headSize = C / c.nHead;
    const per = L * B * C * this.Tmax;
    this.storage = take(2 * per);
    this.kAll = this.storage.subarray(0, per);
    this.vAll = this.storage.subarray(per, 2 * per);
    this.ownsWeights = !weights;
    this.weights = weights ?? snapshot(model);
    this.ids = new Int32Array(B);
    this.logits = new Float32Array(B * c.vocabSize);
  }

  /** An empty cache of B rows, the same positions, over this cache's weights (no second snapshot). Release it before this one. */
  rowsSharing(model: GPT, B: number): KVCache {
    return new KVCache(model, B, this.Tmax, this.weights);
  }

  /**
   * Makes row b of this cache a copy of row from[b] of src (a cache of the
   * same weights and positions): its keys, values and logits, at every
   * position src holds; this cache's length becomes src's.
   */
  copyRows(src: KVCache, from: ArrayLike<number>): void {
    if (src.Tmax !== this.Tmax || src.weights !== this.weights || from.length !== this.B) {
      throw new Error(`KVCache.copyRows: ${from.length} rows mapped for a cache of ${this.B}, or the caches differ in positions (${src.Tmax}, ${this.Tmax}) or weights`);
    }
    const B = this.B, row = this.nHead * this.headSize * this.Tmax, L = this.kAll.length / (B * row), V = this.logits.length / B;
    for (let l = 0; l < L; l++) {
      for (let b = 0; b < B; b++) {
        const s = (l * src.B + from[b]) * row, d = (l * B + b) * row; // the (l, b) block of (L, B, H, ...): C * Tmax floats
        this.kAll.set(src.kAll.subarray(s, s + row), d);
        this.vAll.set(src.vAll.subarray(s, s + row), d);
      }
    }
    for (let b = 0; b < B; b++) this.logits.set(src.logits.subarray(from[b] * V, (from[b] + 1) * V), b * V);
    this.length = src.length;
  }

  /** Hands the cache's storage back for reuse by the next cache; this one must not be used afterwards. */
  release(): void {
    if (this.released) throw new Error('KVCache: storage released twice');
    this.released = true;
    give(this.storage);
    if (this.ownsWeights) give(this.weights.blocks);
  }
  private released = false;
}

/** The model's weights in the layout a pass reads: every block packed (linear weights transposed), ln_f, the head transposed. */
function snapshot(model: GPT): StepWeights {
  const c = model.config, C = c.nEmbd, L = model.h.length;
  const eps = model.ln_f.eps;
  for (const blk of model.h) {
    if (blk.ln_1.eps !== eps || blk.ln_2.eps !== eps) throw new Error(`KVCache: the LayerNorms' eps differ (${blk.ln_1.eps}, ${blk.ln_2.eps}, ln_f ${eps}); the no-grad passes take one`);
  }
  const blocks = take(L * blockFloats(C));
  model.h.forEach((blk, l) => {
    const w = blockViews(blocks, l, C);
    w.ln1w.set(blk.ln_1.weight.data);
    w.ln1b.set(blk.ln_1.bias.data);
    transposeInto(blk.attn.c_attn.weight.data, 3 * C, C, w.wqkv);
    w.bqkv.set(blk.attn.c_attn.bias!.data);
    transposeInto(blk.attn.c_proj.weight.data, C, C, w.wproj);
    w.bproj.set(blk.attn.c_proj.bias!.data);
    w.ln2w.set(blk.ln_2.weight.data);
    w.ln2b.set(blk.ln_2.bias.data);
    transposeInto(blk.mlp.c_fc.weight.data, 4 * C, C, w.wfc);
    w.bfc.set(blk.mlp.c_fc.bias!.data);
    transposeInto(blk.mlp.c_proj.weight.data, C, 4 * C, w.wfc2);
    w.bfc2.set(blk.mlp.c_proj.bias!.data);
  });
  const lnf = new Float32Array(2 * C);
  lnf.set(model.ln_f.weight.data);
  lnf.set(model.ln_f.bias.data, C);
  const wteT = new Float32Array(C * c.vocabSize);
  transposeInto(model.wte.weight.data, c.vocabSize, C, wteT);
  return { wte: model.wte.weight.data, wpe: model.wpe.weight.data, blocks, lnf, wteT, eps };
}

/** W (rows, cols) -> out (cols, rows) */
function transposeInto(W: Float32Array, rows: number, cols: number, out: Float32Array): void {
  K.permute(W, [rows, cols], [1, 0], out);
}
