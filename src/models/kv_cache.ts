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

/** Carves consecutive views out of one buffer. */
function carve(buf: Float32Array, sizes: number[]): Float32Array[] {
  let o = 0;
  return sizes.map((n) => buf.subarray(o, (o += n)));
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
  readonly storage: Float32Array; // all of the above, one recycled buffer
  constructor(readonly rows: number, C: number) {
    const sizes = [rows * C, rows * C, rows * 3 * C, rows * C, rows * C, rows * 4 * C, rows, rows];
    this.storage = take(sizes.reduce((a, b) => a + b, 0));
    [this.x, this.h, this.qkv, this.att, this.tmp, this.fc, this.mean, this.rstd] = carve(this.storage, sizes);
  }
  /** Hands the storage back for reuse; the scratch must not be used afterwards. */
  release(): void {
    if (this.released) throw new Error('KVCache: scratch released twice');
    this.released = true;
    give(this.storage);
  }
  private released = false;
}

export class KVCache {
  readonly B: number; // rows
  readonly Tmax: number; // positions it can hold (at most the model's blockSize)
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

  private readonly storage: Float32Array; // k and v of every layer, one recycled buffer

  /** positions: how many the cache holds (default and at most the block size; fewer saves memory and time). */
  constructor(model: GPT, B: number, positions = model.config.blockSize) {
    const c = model.config, C = c.nEmbd;
    if (!(Number.isInteger(B) && B > 0)) throw new Error(`KVCache: B must be a positive integer, got ${B}`);
    if (!(Number.isInteger(positions) && positions > 0 && positions <= c.blockSize)) throw new Error(`KVCache: positions must be an integer in [1, blockSize ${c.blockSize}], got ${positions}`);
    this.B = B;
    this.Tmax = positions;
    this.nHead = c.nHead;
    this.headSize = C / c.nHead;
    const per = B * C * this.Tmax, L = model.h.length;
    this.storage = take(2 * L * per);
    const views = carve(this.storage, Array(2 * L).fill(per));
    this.k = views.slice(0, L);
    this.v = views.slice(L);
    this.weights = model.h.map((blk) => ({
      attn: transposed(blk.attn.c_attn.weight.data, 3 * C, C), proj: transposed(blk.attn.c_proj.weight.data, C, C),
      fc: transposed(blk.mlp.c_fc.weight.data, 4 * C, C), fc2: transposed(blk.mlp.c_proj.weight.data, C, 4 * C),
    }));
    this.step = new Scratch(B, C);
    this.ids = new Int32Array(B);
    this.last = new Float32Array(B * C);
    this.logits = new Float32Array(B * c.vocabSize);
  }

  /** Hands the cache's storage back for reuse by the next cache; this one must not be used afterwards. */
  release(): void {
    if (this.released) throw new Error('KVCache: storage released twice');
    this.released = true;
    this.step.release();
    give(this.storage);
  }
  private released = false;

  /**
   * Stores layer l's keys and values of a prompt block: qkv (B, L, 3C) for
   * positions 0..L-1 (prefill; decode's kernel writes its own position).
   */
  writeBlock(l: number, qkv: Float32Array, L: number): void {
    const { B, Tmax, nHead: H, headSize: hs } = this, C = H * hs, kc = this.k[l], vc = this.v[l];
    // plain index loops: a subarray per (row, head) costs more than the copy itself
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h, kBase = bh * hs * Tmax, vBase = bh * Tmax * hs;
        for (let t = 0; t < L; t++) {
          const src = (b * L + t) * 3 * C + C + h * hs; // k of (b, t, h) in (B, L, 3C); v is C further
          for (let j = 0; j < hs; j++) {
            kc[kBase + j * Tmax + t] = qkv[src + j]; // (b, h, j, t) in (B, H, hs, Tmax)
            vc[vBase + t * hs + j] = qkv[src + C + j]; // (b, h, t, j) in (B, H, Tmax, hs)
          }
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
