/**
 * Differentiable ops on Tensors: each forward sits right above its backward
 * (micrograd's habit). Forward calls a kernel from the active backend `K`;
 * backward accumulates into the inputs' grads (also through kernels).
 *
 * Shape comments use (B, T, C) = (batch, time, channels), H heads, V vocab.
 */
import { K } from './backend.ts';
import { sizeOf } from './kernels/ref.ts';
import type { BinaryOp, UnaryOp } from './kernels/types.ts';
import { record, Tensor, willRecord } from './tensor.ts';
import { allocF32 } from './pool.ts';
import { reshape } from './ops_shape.ts';

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

// ---------------------------------------------------------------- elementwise

/** Numpy broadcasting of two shapes; throws with both shapes on mismatch. */
export function broadcastShape(a: readonly number[], b: readonly number[], op = 'broadcast'): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(a.shape, b.shape, op);
  const out = Tensor.empty(shape);
  K.binary(op, a.data, a.shape, b.data, b.shape, out.data, shape);
  return record(out, [a, b], () => {
    const dy = out.grad!;
    // d/da and d/db of each op, expressed as an elementwise factor, then summed over broadcast dims
    if (a.requiresGrad) {
      // same shape and no gradient yet: a's gradient IS dy (out is done with it), so share instead of copying
      if ((op === 'add' || op === 'sub') && !a.grad && a.size === dy.length) a.grad = dy;
      else if (op === 'add' || op === 'sub') K.reduceBroadcast(dy, shape, a.gradBuf(), a.shape);
      else {
        const t = allocF32(dy.length); // dy * b  or  dy / b
        K.binary(op, dy, shape, b.data, b.shape, t, shape);
        K.reduceBroadcast(t, shape, a.gradBuf(), a.shape);
      }
    }
    if (b.requiresGrad && op === 'add' && !b.grad && b.size === dy.length) {
      // a may hold dy itself, so b gets a copy (one pass, instead of zeros, a copy and a sum)
      b.gradSink()[0].set(dy);
    } else if (b.requiresGrad) {
      const t = allocF32(dy.length);
      if (op === 'add') t.set(dy);
      else if (op === 'sub') K.scale(dy, -1, t);
      else if (op === 'mul') K.binary('mul', dy, shape, a.data, a.shape, t, shape);
      else {
        // d(a/b)/db = -a/b^2 = -out/b
        K.binary('div', out.data, shape, b.data, b.shape, t, shape);
        K.binary('mul', t, shape, dy, shape, t, shape);
        K.scale(t, -1, t);
      }
      K.reduceBroadcast(t, shape, b.gradBuf(), b.shape);
    }
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

function unary(op: UnaryOp, x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  K.unary(op, x.data, out.data);
  return record(out, [x], () => K.unaryBackward(op, x.data, out.data, out.grad!, x.gradBuf()));
}

export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const square = (x: Tensor): Tensor => unary('square', x);

/** x * s for a plain number s. */
export function scale(x: Tensor, s: number): Tensor {
  const out = Tensor.empty(x.shape);
  K.scale(x.data, s, out.data);
  return record(out, [x], () => K.axpy(out.grad!, s, x.gradBuf()));
}

/** x + s for a plain number s. */
export function addScalar(x: Tensor, s: number): Tensor {
  const out = Tensor.zeros(x.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i] + s;
  return record(out, [x], () => K.axpy(out.grad!, 1, x.gradBuf()));
}

/** Elementwise clamp to [lo, hi]; the gradient passes where x is inside. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const out = Tensor.zeros(x.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(hi, Math.max(lo, x.data[i]));
  return record(out, [x], () => {
    const dy = out.grad!, dx = x.gradBuf();
    for (let i = 0; i < dx.length; i++) if (x.data[i] >= lo && x.data[i] <= hi) dx[i] += dy[i];
  });
}

/** Elementwise minimum of two same-shape tensors (PPO's clipped objective). */
export function minimum(a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new Error(`minimum: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
  const out = Tensor.zeros(a.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(a.data[i], b.data[i]);
  return record(out, [a, b], () => {
    const dy = out.grad!;
    const da = a.requiresGrad ? a.gradBuf() : null, db = b.requiresGrad ? b.gradBuf() : null;
    for (let i = 0; i < dy.length; i++) {
      if (a.data[i] <= b.data[i]) { if (da) da[i] += dy[i]; } else if (db) db[i] += dy[i];
    }
  });
}

// ---------------------------------------------------------------- matmul

/**
 * Matrix product. a (..., M, K) @ b (..., K, N) -> (..., M, N); with
 * transA / transB the last two dims of a / b are read transposed. b may be
 * 2-D (shared across a's batch) or have a's batch dims.
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const tA = !!opts.transA, tB = !!opts.transB;
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: need rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = tA ? ac : ar, Ka = tA ? ar : ac, Kb = tB ? bc : br, N = tB ? br : bc;
  if (Ka !== Kb) throw new Error(`matmul: inner dims differ: ${shapeStr(a.shape)}${tA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${tB ? 'ᵀ' : ''}`);
  const batchShape = a.shape.slice(0, -2), batch = sizeOf(batchShape);
  const bBatch = sizeOf(b.shape.slice(0, -2));
  if (bBatch !== 1 && (b.rank !== a.rank || bBatch !== batch)) {
    throw new Error(`matmul: batch dims of ${shapeStr(a.shape)} and ${shapeStr(b.shape)} must match (or b be 2-D)`);
  }
  const sA = ar * ac, sB = bBatch === 1 ? 0 : br * bc, K_ = Ka;
  const out = Tensor.empty([...batchShape, M, N]);
  // b shared and a untransposed: the batch items are consecutive rows of one product (batch*M, K) @ op(B)
  const fold = sB === 0 && !tA;
  if (fold) K.matmul(a.data, b.data, out.data, 1, batch * M, N, K_, false, tB, false, 0, 0);
  else K.matmul(a.data, b.data, out.data, batch, M, N, K_, tA, tB, false, sA, sB);
  return record(out, [a, b], () => {
    const dC = out.grad!;
    if (a.requiresGrad) {
      // dA = dC @ op(B)ᵀ  (stored as A's layout)
      const [dA, acc] = a.gradSink();
      if (fold) K.matmul(dC, b.data, dA, 1, batch * M, K_, N, false, !tB, acc, 0, 0);
      else if (!tA) K.matmul(dC, b.data, dA, batch, M, K_, N, false, !tB, acc, M * N, sB);
      else K.matmul(b.data, dC, dA, batch, K_, M, N, tB, true, acc, sB, M * N);
    }
    if (b.requiresGrad) {
      // dB = op(A)ᵀ @ dC (stored as B's layout); summed over the batch when B is shared
      if (sB === 0 && !tA) {
        // fold the batch into the rows: (batch*M, K)ᵀ @ (batch*M, N)
        const [dB, acc] = b.gradSink();
        if (!tB) K.matmul(a.data, dC, dB, 1, K_, N, batch * M, true, false, acc, 0, 0);
        else K.matmul(dC, a.data, dB, 1, N, K_, batch * M, true, false, acc, 0, 0);
      } else if (sB === 0) {
        for (let i = 0; i < batch; i++) {
          const ai = a.data.subarray(i * sA, (i + 1) * sA), ci = dC.subarray(i * M * N, (i + 1) * M * N);
          if (!tB) K.matmul(ai, ci, b.gradBuf(), 1, K_, N, M, !tA, false, true, 0, 0);
          else K.matmul(ci, ai, b.gradBuf(), 1, N, K_, M, true, tA, true, 0, 0);
        }
      } else {
        const [dB, acc] = b.gradSink();
        if (!tB) K.matmul(a.data, dC, dB, batch, K_, N, M, !tA, false, acc, sA, M * N);
        else K.matmul(dC, a.data, dB, batch, N, K_, M, true, tA, acc, M * N, sA);
      }
    }
  });
}

/**
 * Linear layer, PyTorch layout: x (..., in) @ W(out, in)ᵀ + bias (out).
 * Fused so the bias add and its gradient skip the general broadcasting path.
 */
export function linear(x: Tensor, W: Tensor, bias: Tensor | null): Tensor {
  const [nOut, nIn] = W.shape;
  if (W.rank !== 2 || x.shape[x.rank - 1] !== nIn) throw new Error(`linear: x ${shapeStr(x.shape)} does not match weight ${shapeStr(W.shape)}`);
  if (bias && (bias.rank !== 1 || bias.size !== nOut)) throw new Error(`linear: bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(W.shape)}`);
  const rows = x.size / nIn;
  const out = Tensor.empty([...x.shape.slice(0, -1), nOut]);
  K.matmul(x.data, W.data, out.data, 1, rows, nOut, nIn, false, true, false, 0, 0); // (rows, out)
  if (bias) K.addBias(out.data, bias.data, rows, nOut);
  return record(out, bias ? [x, W, bias] : [x, W], () => {
    const dy = out.grad!; // (rows, out)
    linearBackward(dy, x, W, rows, nIn, nOut);
    if (bias?.requiresGrad) K.biasBackward(dy, bias.gradBuf(), rows, nOut);
  });
}

/**
 * gelu(linear(x, W, bias)), the MLP's first layer, with the bias and the
 * GELU in one pass over the product (and their gradients in one pass back)
 * when the backend has the fused kernel (K.biasGelu); else exactly that
 * composition.
 */
export function linearGelu(x: Tensor, W: Tensor, bias: Tensor): Tensor {
  if (!K.biasGelu || !K.biasGeluBackward) return gelu(linear(x, W, bias));
  const [nOut, nIn] = W.shape;
  if (W.rank !== 2 || x.shape[x.rank - 1] !== nIn) throw new Error(`linearGelu: x ${shapeStr(x.shape)} does not match weight ${shapeStr(W.shape)}`);
  if (bias.rank !== 1 || bias.size !== nOut) throw new Error(`linearGelu: bias ${shapeStr(bias.shape)} does not match weight ${shapeStr(W.shape)}`);
  const rows = x.size / nIn, inputs = [x, W, bias];
  const pre = allocF32(rows * nOut, false); // (rows, out): x Wᵀ, then gelu'(x Wᵀ + bias) in place when recorded
  K.matmul(x.data, W.data, pre, 1, rows, nOut, nIn, false, true, false, 0, 0);
  const out = Tensor.empty([...x.shape.slice(0, -1), nOut]);
  const dGelu = willRecord(inputs) ? pre : null;
  K.biasGelu(pre, bias.data, out.data, dGelu, rows, nOut);
  return record(out, inputs, () => {
    const dy = out.grad!; // (rows, out); dead after this closure, so it becomes dPre in place
    K.biasGeluBackward!(pre, dy, dy, bias.requiresGrad ? bias.gradBuf() : allocF32(nOut), rows, nOut);
    linearBackward(dy, x, W, rows, nIn, nOut);
  });
}

/** dx (rows, in) (+)= dy @ W and dW (out, in) (+)= dyᵀ @ x, for the inputs that require grad. */
function linearBackward(dy: Float32Array, x: Tensor, W: Tensor, rows: number, nIn: number, nOut: number): void {
  if (x.requiresGrad) {
    const [dx, acc] = x.gradSink();
    K.matmul(dy, W.data, dx, 1, rows, nIn, nOut, false, false, acc, 0, 0);
  }
  if (W.requiresGrad) {
    const [dW, acc] = W.gradSink();
    K.matmul(dy, x.data, dW, 1, nOut, nIn, rows, true, false, acc, 0, 0);
  }
}

// ---------------------------------------------------------------- normalization, softmax

/** LayerNorm over the last dim. */
export function layernorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const n = x.shape[x.rank - 1];
  if (w.size !== n || b.size !== n) throw new Error(`layernorm: x ${shapeStr(x.shape)} with weight ${shapeStr(w.shape)} and bias ${shapeStr(b.shape)}`);
  const rows = x.size / n;
  const out = Tensor.empty(x.shape);
  const mean = allocF32(rows, false), rstd = allocF32(rows, false);
  K.layernorm(x.data, w.data, b.data, out.data, mean, rstd, rows, n, eps);
  return record(out, [x, w, b], () => {
    // the kernel accumulates all three grads; give it scratch for the ones not needed
    const dx = x.requiresGrad ? x.gradBuf() : allocF32(x.size);
    const dw = w.requiresGrad ? w.gradBuf() : allocF32(n);
    const db = b.requiresGrad ? b.gradBuf() : allocF32(n);
    K.layernormBackward(x.data, w.data, mean, rstd, out.grad!, dx, dw, db, rows, n);
  });
}

function softmaxOp(x: Tensor, logSpace: boolean): Tensor {
  const n = x.shape[x.rank - 1], rows = x.size / n;
  const out = Tensor.empty(x.shape);
  K.softmax(x.data, out.data, rows, n, logSpace);
  return record(out, [x], () => K.softmaxBackward(out.data, out.grad!, x.gradBuf(), rows, n, logSpace));
}

/** Softmax over the last dim. */
export const softmax = (x: Tensor): Tensor => softmaxOp(x, false);
/** Log-softmax over the last dim. */
export const logSoftmax = (x: Tensor): Tensor => softmaxOp(x, true);

// ---------------------------------------------------------------- attention, embedding, losses

/** Causal self-attention over packed qkv (B, T, 3C) with H heads -> (B, T, C). */
export function causalAttention(qkv: Tensor, nHead: number): Tensor {
  if (qkv.rank !== 3 || qkv.shape[2] % 3 !== 0) throw new Error(`causalAttention: expected qkv (B, T, 3C), got ${shapeStr(qkv.shape)}`);
  const [B, T, C3] = qkv.shape, C = C3 / 3;
  if (C % nHead !== 0) throw new Error(`causalAttention: C=${C} is not divisible by nHead=${nHead}`);
  const out = Tensor.empty([B, T, C]);
  const att = allocF32(B * nHead * T * T, false); // (B, H, T, T), every entry written by the kernel
  K.attention(qkv.data, out.data, att, B, T, C, nHead);
  return record(out, [qkv], () => K.attentionBackward(qkv.data, att, out.grad!, qkv.gradBuf(), B, T, C, nHead));
}

/**
 * Causal self-attention over packed rows (sequences that share prefixes,
 * src/models/shared_prefix.ts): qkv (R, 3C) -> (R, C), where sequence s's
 * position t is row rows[s*T + t], and s owns the positions from q0[s] on
 * (earlier ones are rows it shares with s-1; q0[0] = 0; every row owned
 * once: Kernels.attentionRows). Each sequence attends over its own T
 * positions, as causalAttention does. The backend's attentionRows kernel
 * reads the rows in place and skips the queries of shared positions;
 * without it, every sequence is gathered whole, run through
 * causalAttention, and the owned rows gathered back.
 */
export function causalAttentionRows(qkv: Tensor, nHead: number, rows: Int32Array, q0: Int32Array, B: number, T: number): Tensor {
  if (qkv.rank !== 2 || qkv.shape[1] % 3 !== 0) throw new Error(`causalAttentionRows: expected qkv (R, 3C), got ${shapeStr(qkv.shape)}`);
  const [R, C3] = qkv.shape, C = C3 / 3;
  if (C % nHead !== 0) throw new Error(`causalAttentionRows: C=${C} is not divisible by nHead=${nHead}`);
  const owner = ownedRows(rows, q0, B, T, R);
  if (!K.attentionRows || !K.attentionRowsBackward) {
    const y = causalAttention(embedding(qkv, rows, [B, T]), nHead); // (B, T, C), each sequence whole
    return embedding(reshape(y, [B * T, C]), owner); // the owned rows: (R, C)
  }
  const out = Tensor.empty([R, C]);
  const att = allocF32(B * nHead * T * T, false); // (B, H, T, T)
  K.attentionRows(qkv.data, out.data, att, rows, q0, B, T, C, nHead);
  return record(out, [qkv], () => {
    const [dqkv, acc] = qkv.gradSink();
    K.attentionRowsBackward!(qkv.data, att, out.grad!, dqkv, rows, q0, B, T, C, nHead, acc);
  });
}

/** For a packed layout (see causalAttentionRows): the s*T + t owning each of the R rows; throws on a layout that is not one. */
function ownedRows(rows: Int32Array, q0: Int32Array, B: number, T: number, R: number): Int32Array {
  if (rows.length !== B * T || q0.length !== B) throw new Error(`causalAttentionRows: ${rows.length} rows and ${q0.length} starts for B=${B} x T=${T}`);
  const owner = new Int32Array(R).fill(-1);
  for (let s = 0; s < B; s++) {
    if (!(q0[s] >= 0 && q0[s] <= T) || (s === 0 && q0[s] !== 0)) throw new Error(`causalAttentionRows: q0[${s}] = ${q0[s]} is outside [0, ${T}] (and q0[0] must be 0)`);
    for (let t = 0; t < T; t++) {
      const r = rows[s * T + t];
      if (!(r >= 0 && r < R)) throw new Error(`causalAttentionRows: row ${r} of sequence ${s} at ${t} is outside [0, ${R})`);
      if (t < q0[s] && r !== rows[(s - 1) * T + t]) throw new Error(`causalAttentionRows: sequence ${s} shares position ${t} but not sequence ${s - 1}'s row`);
      if (t < q0[s]) continue;
      if (owner[r] >= 0) throw new Error(`causalAttentionRows: row ${r} is owned twice`);
      owner[r] = s * T + t;
    }
  }
  const lost = owner.indexOf(-1);
  if (lost >= 0) throw new Error(`causalAttentionRows: row ${lost} is owned by no position`);
  return owner;
}

/** Rows of table (V, D) picked by integer ids: -> (...idsShape, D). Gradient scatter-adds. */
export function embedding(table: Tensor, ids: Int32Array, idsShape: readonly number[] = [ids.length]): Tensor {
  const [V, D] = table.shape;
  if (sizeOf(idsShape) !== ids.length) throw new Error(`embedding: ids length ${ids.length} does not match shape ${shapeStr(idsShape)}`);
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < V)) throw new Error(`embedding: id ${ids[i]} at position ${i} is outside [0, ${V})`);
  }
  const out = Tensor.empty([...idsShape, D]);
  K.embedding(table.data, ids, out.data, ids.length, D);
  return record(out, [table], () => K.embeddingBackward(out.grad!, ids, table.gradBuf(), ids.length, D));
}

/**
 * Negative log-likelihood of each row's target under softmax(logits):
 * logits (..., V), targets (...) -> (...). A target < 0 gives 0 and no gradient.
 * Its negation is the per-token log-probability RL losses need. When
 * `entropy` (rows) is given, it receives each predicting row's softmax
 * entropy (0 elsewhere) from the same pass.
 */
export function tokenNll(logits: Tensor, targets: Int32Array, entropy?: Float32Array): Tensor {
  const V = logits.shape[logits.rank - 1], rows = logits.size / V;
  if (targets.length !== rows) throw new Error(`tokenNll: ${targets.length} targets for ${rows} rows of logits ${shapeStr(logits.shape)}`);
  for (let i = 0; i < rows; i++) {
    if (targets[i] >= V) throw new Error(`tokenNll: target ${targets[i]} at row ${i} is outside [0, ${V})`);
  }
  if (entropy && entropy.length !== rows) throw new Error(`tokenNll: entropy has ${entropy.length} elements for ${rows} rows`);
  const out = Tensor.empty(logits.shape.slice(0, -1));
  K.crossEntropy(logits.data, targets, out.data, rows, V, null, null, entropy ?? null);
  return record(out, [logits], () => {
    const scratch = allocF32(rows);
    K.crossEntropy(logits.data, targets, scratch, rows, V, logits.gradBuf(), out.grad!, null);
  });
}

/**
 * Mean cross-entropy: sum_i w_i * nll_i / sum_i w_i over rows with target >= 0.
 * weights (optional, per row) implement loss masks (0) and per-token weights.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, weights?: Float32Array): Tensor {
  const V = logits.shape[logits.rank - 1], rows = logits.size / V;
  if (weights && weights.length !== rows) throw new Error(`crossEntropy: ${weights.length} weights for ${rows} rows`);
  const nll = tokenNll(logits, targets);
  let denom = 0;
  const w = allocF32(rows);
  for (let i = 0; i < rows; i++) {
    w[i] = targets[i] < 0 ? 0 : weights ? weights[i] : 1;
    denom += w[i];
  }
  if (denom === 0) throw new Error('crossEntropy: every row is masked out (no target >= 0 with non-zero weight)');
  return weightedSum(nll, w, 1 / denom);
}

/** sum_i w_i * x_i * s, a scalar. */
export function weightedSum(x: Tensor, w: Float32Array, s = 1): Tensor {
  if (w.length !== x.size) throw new Error(`weightedSum: ${w.length} weights for ${x.size} elements`);
  let acc = 0;
  for (let i = 0; i < w.length; i++) acc += w[i] * x.data[i];
  const out = Tensor.scalar(acc * s);
  return record(out, [x], () => {
    const g = out.grad![0] * s, dx = x.gradBuf();
    for (let i = 0; i < w.length; i++) dx[i] += g * w[i];
  });
}
