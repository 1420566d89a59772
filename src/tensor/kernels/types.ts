/**
 * The kernel table: every numerical loop the tensor ops run, on flat
 * Float32Arrays with explicit sizes. Ops (src/tensor/ops.ts) own shapes and
 * autograd; kernels own loops.
 *
 * Implementations (see backend.ts):
 *   ref    — naive loops, written to be obviously right; the oracle.
 *   js     — fast portable TypeScript (blocked matmul, fused attention).
 *   wasm   — AssemblyScript SIMD for the heavy kernels, js for the rest.
 *   native — C++ addon over OpenBLAS sgemm, js for the rest.
 * The kernel suite (test/tensor/kernels.test.ts) holds every implementation
 * to ref.
 *
 * Conventions:
 *   - All arrays are row-major and contiguous. Sizes are element counts.
 *   - "Backward" kernels ACCUMULATE into their gradient outputs (+=), so
 *     a tensor used twice sums its gradients. Forward kernels overwrite.
 *   - Offsets are not taken: pass `subarray` views (they are free).
 */
import type { GptStepArgs } from './gpt_step.ts';

export interface Kernels {
  readonly name: string;

  // ---------------------------------------------------------------- matmul
  /**
   * C[b] = op(A[b]) @ op(B[b])  (+ C[b] when accumulate), for b in [0, batch).
   * op(A) is (M, K): A is stored (M, K), or (K, M) when transA.
   * op(B) is (K, N): B is stored (K, N), or (N, K) when transB.
   * strideA / strideB: elements between consecutive batch items (0 broadcasts
   * one matrix over the batch). C's batch stride is M*N.
   */
  matmul(
    A: Float32Array, B: Float32Array, C: Float32Array,
    batch: number, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
    strideA: number, strideB: number,
  ): void;

  // ---------------------------------------------------------------- elementwise
  /** out = a (op) b with numpy broadcasting; shapes are right-aligned. */
  binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  /** dst (shape dstShape) += src (shape srcShape) summed over the broadcast dims; dstShape broadcasts to srcShape. */
  reduceBroadcast(src: Float32Array, srcShape: readonly number[], dst: Float32Array, dstShape: readonly number[]): void;
  /** y = f(x) elementwise. */
  unary(op: UnaryOp, x: Float32Array, y: Float32Array): void;
  /** dx += dy * f'(x), given x and y = f(x). */
  unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** y = x * s. */
  scale(x: Float32Array, s: number, y: Float32Array): void;
  /** dx += dy * s. */
  axpy(dy: Float32Array, s: number, dx: Float32Array): void;

  // ---------------------------------------------------------------- linear layers
  /** y (rows, n) += bias (n) broadcast over rows. */
  addBias(y: Float32Array, bias: Float32Array, rows: number, n: number): void;
  /** dBias (n) += sum over rows of dy (rows, n). */
  biasBackward(dy: Float32Array, dBias: Float32Array, rows: number, n: number): void;

  /**
   * Optional (null: absent, and ops.linearGelu composes linear and gelu).
   * The MLP's activation after its first product, in one pass: for x (rows, n),
   * the product before its bias, y = gelu(x + bias); when dGelu is given, also
   * dGelu = gelu'(x + bias), the factor backward needs (dGelu may be x itself).
   */
  biasGelu: ((x: Float32Array, bias: Float32Array, y: Float32Array, dGelu: Float32Array | null, rows: number, n: number) => void) | null;
  /**
   * Optional, present with biasGelu. dx (rows, n) = dy * dGelu, overwritten (dx
   * may be dy itself), and dBias (n) += the sums of dx over rows.
   */
  biasGeluBackward: ((dGelu: Float32Array, dy: Float32Array, dx: Float32Array, dBias: Float32Array, rows: number, n: number) => void) | null;

  // ---------------------------------------------------------------- normalization and softmax
  /** Over the last dim of x (rows, n): y = (x - mean) * rstd * w + b. Saves mean and rstd (rows). */
  layernorm(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, n: number, eps: number): void;
  /** Accumulates dx (rows, n), dw (n), db (n). */
  layernormBackward(x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, rows: number, n: number): void;
  /** y = softmax (log=false) or log-softmax (log=true) over the last dim of x (rows, n). */
  softmax(x: Float32Array, y: Float32Array, rows: number, n: number, log: boolean): void;
  /** dx += gradient through softmax / log-softmax, given its output y. */
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, n: number, log: boolean): void;

  // ---------------------------------------------------------------- attention
  /**
   * Causal multi-head self-attention over a packed projection.
   * qkv: (B, T, 3C) holding [q | k | v] per token, heads split C = H * hs.
   * out: (B, T, C). att: (B, H, T, T) softmax probabilities, saved for backward
   * (entries above the diagonal are 0). Scale 1/sqrt(hs).
   */
  attention(qkv: Float32Array, out: Float32Array, att: Float32Array, B: number, T: number, C: number, H: number): void;
  /** Accumulates dqkv (B, T, 3C) from dout (B, T, C). */
  attentionBackward(qkv: Float32Array, att: Float32Array, dout: Float32Array, dqkv: Float32Array, B: number, T: number, C: number, H: number): void;

  /**
   * Optional (null: absent, and ops.causalAttentionRows gathers every
   * sequence whole and runs `attention`). Causal attention over packed rows
   * (sequences sharing prefixes, src/models/shared_prefix.ts): sequence s's
   * position t is row rows[s*T + t] of qkv (R, 3C) and out (R, C). s computes
   * the queries of positions q0[s].. and writes their rows of out; positions
   * before q0[s] are rows it shares with sequence s-1 (q0[0] = 0: a group's
   * first sequence computes the shared prefix). Every row is written by
   * exactly one (s, t >= q0[s]). att (B, H, T, T) as in `attention`, with
   * the rows of queries before q0[s] zero.
   */
  attentionRows: ((qkv: Float32Array, out: Float32Array, att: Float32Array, rows: Int32Array, q0: Int32Array, B: number, T: number, C: number, H: number) => void) | null;
  /**
   * Optional, present with attentionRows. dqkv (R, 3C) += the gradient from
   * dout (R, C), or = it when accumulate is false (every row written).
   */
  attentionRowsBackward: ((qkv: Float32Array, att: Float32Array, dout: Float32Array, dqkv: Float32Array, rows: Int32Array, q0: Int32Array, B: number, T: number, C: number, H: number, accumulate: boolean) => void) | null;

  /**
   * One decoding step with a KV cache, for B sequences all at position t.
   * qkv: (B, 3C) this step's projections. Writes k into kCache laid out
   * (B, H, hs, Tmax) (keys transposed, so scores vectorize over positions)
   * at column t, and v into vCache laid out (B, H, Tmax, hs) at row t; then
   * out (B, C) = per head softmax(q . k[0..t] / sqrt(hs)) v[0..t].
   * Inference only (no backward).
   */
  attentionDecode(qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, out: Float32Array, B: number, t: number, C: number, H: number, Tmax: number): void;

  /**
   * Optional (null: absent). A whole no-grad GPT pass over a KV cache in one
   * call: embedding, every block, final LayerNorm and tied head, for Lq new
   * tokens per sequence at t0..t0+Lq-1 (a decode step, Lq = 1, or a
   * prefill, t0 = 0). Arguments and semantics are those of
   * composedGptStep (gpt_step.ts), which GPT runs when this is null and
   * which the tests hold this to.
   */
  gptStep: ((a: GptStepArgs) => void) | null;

  // ---------------------------------------------------------------- embeddings and losses
  /** out (n, dim) = table[ids[i]] rows. */
  embedding(table: Float32Array, ids: Int32Array, out: Float32Array, n: number, dim: number): void;
  /** dTable[ids[i]] += dOut[i] (scatter-add). */
  embeddingBackward(dOut: Float32Array, ids: Int32Array, dTable: Float32Array, n: number, dim: number): void;
  /**
   * Fused softmax cross-entropy over logits (rows, V) against targets (rows).
   * losses[r] = -log softmax(logits[r])[targets[r]] (0 where targets[r] < 0).
   * When dLogits is given, also dLogits[r] += gradScale[r] * (softmax(logits[r]) - onehot(targets[r]))
   * (nothing for rows with targets < 0). When entropy is given, also entropy[r] = the entropy
   * (nats) of softmax(logits[r]) (0 where targets[r] < 0). Weights and the mean are the op's business.
   */
  crossEntropy(logits: Float32Array, targets: Int32Array, losses: Float32Array, rows: number, V: number, dLogits: Float32Array | null, gradScale: Float32Array | null, entropy: Float32Array | null): void;

  // ---------------------------------------------------------------- reductions and layout
  /** For x viewed as (outer, n, inner): out (outer, inner) = sum or max over n; for max, argmax (outer, inner) gets the index. */
  reduce(op: 'sum' | 'max', x: Float32Array, out: Float32Array, argmax: Int32Array | null, outer: number, n: number, inner: number): void;
  /** out = x with axes permuted: out.shape[i] = shape[perm[i]]. */
  permute(x: Float32Array, shape: readonly number[], perm: readonly number[], out: Float32Array): void;
  /**
   * Strided block copy used by slice, concat and their gradients: for o in [0, outer),
   * dst[dstOff + o*dstStride + j] (+)= src[srcOff + o*srcStride + j] for j in [0, len).
   */
  copyBlocks(src: Float32Array, srcOff: number, srcStride: number, dst: Float32Array, dstOff: number, dstStride: number, outer: number, len: number, accumulate: boolean): void;
  /** For x (outer, n, inner) and idx (outer, m, inner) of indices into n: out (outer, m, inner) = x[o, idx[o, j, i], i]. */
  gather(x: Float32Array, idx: Int32Array, out: Float32Array, outer: number, n: number, m: number, inner: number): void;
  /** dx[o, idx[o, j, i], i] += dOut[o, j, i]. */
  gatherBackward(dOut: Float32Array, idx: Int32Array, dx: Float32Array, outer: number, n: number, m: number, inner: number): void;

  // ---------------------------------------------------------------- optimizer
  /**
   * One AdamW step (decoupled weight decay, bias-corrected), in place:
   *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
   *   p -= lr * ( (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) + wd * p )
   * t is the 1-based step count.
   */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number, wd: number, t: number): void;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export type UnaryOp = 'gelu' | 'relu' | 'tanh' | 'exp' | 'log' | 'neg' | 'sqrt' | 'square';

export const UNARY_OPS: readonly UnaryOp[] = ['gelu', 'relu', 'tanh', 'exp', 'log', 'neg', 'sqrt', 'square'];
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div'];
