/**
 * The KV cache that GPT.prefill and GPT.decode (gpt.ts) read and extend:
 * for B rows in lockstep (every row at the same position `length`), each
 * layer's keys and values of the positions fed so far, plus the weights in
 * the layout the no-grad passes want and their reusable scratch buffers.
 *
 * A cache belongs to the weights it was made from: it copies the linear
 * weights (transposed) when created, and its keys and values were computed
 * with them. After the weights change, make a new cache (sample() makes one
 * per call).
 */
import { K } from '../tensor/backend.ts';
import type { GPT } from './gpt.ts';

/** One block's linear weights transposed to (in, out), so the products run untransposed (sgemm is faster so). */
export interface BlockWeightsT {
  attn: Float32Array; // (C, 3C)
  proj: Float32Array; // (C, C)
  fc: Float32Array; // (C, 4C)
  fc2: Float32Array; // (4C, C)
}

/** Buffers of one pass over `rows` token rows (B for decode, B*L for prefill). */
export class Scratch {
  readonly x: Float32Array; // (rows, C) the residual stream
  readonly h: Float32Array; // (rows, C) layernorm output
  readonly qkv: Float32Array; // (rows, 3C)
  readonly att: Float32Array; // (rows, C) attention output
  readonly tmp: Float32Array; // (rows, C) a projection before the residual add
  readonly fc: Float32Array; // (rows, 4C)
  readonly mean: Float32Array; // (rows)
  readonly rstd: Float32Array; // (rows)
  constructor(readonly rows: number, C: number) {
    this.x = new Float32Array(rows * C);
    this.h = new Float32Array(rows * C);
    this.qkv = new Float32Array(rows * 3 * C);
    this.att = new Float32Array(rows * C);
    this.tmp = new Float32Array(rows * C);
    this.fc = new Float32Array(rows * 4 * C);
    this.mean = new Float32Array(rows);
    this.rstd = new Float32Array(rows);
  }
}

export class KVCache {
  readonly B: number; // rows
  readonly Tmax: number; // positions it can hold (the model's blockSize)
  readonly nHead: number;
  readonly headSize: number;
  /** Positions fed so far, the same for every row; the next token goes at position `length`. */
  length = 0;
  readonly k: Float32Array[]; // per layer (B, H, hs, Tmax): keys transposed, so decode scores vectorize over positions
  readonly v: Float32Array[]; // per layer (B, H, Tmax, hs)
  readonly weights: BlockWeightsT[]; // per layer, snapshot at creation
  readonly step: Scratch; // decode's buffers (B rows)
  readonly ids: Int32Array; // (B) decode's input tokens
  readonly last: Float32Array; // (B, C) the final hidden state of each row's last position
  readonly logits: Float32Array; // (B, V) what prefill / decode return; overwritten by the next call

  constructor(model: GPT, B: number) {
    const c = model.config, C = c.nEmbd;
    if (!(Number.isInteger(B) && B > 0)) throw new Error(`KVCache: B must be a positive integer, got ${B}`);
    this.B = B;
    this.Tmax = c.blockSize;
    this.nHead = c.nHead;
    this.headSize = C / c.nHead;
    this.k = model.h.map(() => new Float32Array(B * C * this.Tmax));
    this.v = model.h.map(() => new Float32Array(B * C * this.Tmax));
    this.weights = model.h.map((blk) => ({
      attn: transposed(blk.attn.c_attn.weight.data, 3 * C, C), proj: transposed(blk.attn.c_proj.weight.data, C, C),
      fc: transposed(blk.mlp.c_fc.weight.data, 4 * C, C), fc2: transposed(blk.mlp.c_proj.weight.data, C, 4 * C),
    }));
    this.step = new Scratch(B, C);
    this.ids = new Int32Array(B);
    this.last = new Float32Array(B * C);
    this.logits = new Float32Array(B * c.vocabSize);
  }

  /**
   * Stores layer l's keys and values of a prompt block: qkv (B, L, 3C) for
   * positions 0..L-1 (prefill; decode's kernel writes its own position).
   */
  writeBlock(l: number, qkv: Float32Array, L: number): void {
    const { B, Tmax, nHead: H, headSize: hs } = this, C = H * hs, kc = this.k[l], vc = this.v[l];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) {
        const src = (b * L + t) * 3 * C;
        for (let h = 0; h < H; h++) {
          const kRow = src + C + h * hs, bh = b * H + h;
          const kDst = bh * hs * Tmax + t; // (b, h, 0, t) in (B, H, hs, Tmax)
          for (let j = 0; j < hs; j++) kc[kDst + j * Tmax] = qkv[kRow + j];
          vc.set(qkv.subarray(kRow + C, kRow + C + hs), (bh * Tmax + t) * hs); // (b, h, t, 0) in (B, H, Tmax, hs)
        }
      }
    }
  }
}

/** W (rows, cols) -> Wᵀ (cols, rows) */
function transposed(W: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(W.length);
  K.permute(W, [rows, cols], [1, 0], out);
  return out;
}
