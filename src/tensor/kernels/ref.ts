/**
 * Reference kernels: naive loops written to be obviously right, in float64
 * accumulators where a sum is taken. They are the oracle every fast kernel
 * is tested against, and the fallback of last resort (FLYWHEEL_BACKEND=ref).
 */
import type { BinaryOp, Kernels, UnaryOp } from './types.ts';

// ---------------------------------------------------------------- scalar math

/** erf(x), Abramowitz & Stegun 7.1.26; |error| < 1.5e-7, about one float32 ulp near 1. */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a > 6) return s;
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/** Exact GELU: x * Phi(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

/** d/dx GELU = Phi(x) + x * phi(x). */
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

export function unaryScalar(op: UnaryOp, x: number): number {
  switch (op) {
    case 'gelu': return gelu(x);
    case 'relu': return x > 0 ? x : 0;
    case 'tanh': return Math.tanh(x);
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'neg': return -x;
    case 'sqrt': return Math.sqrt(x);
    case 'square': return x * x;
  }
}

/** f'(x), given x and y = f(x). */
export function unaryGradScalar(op: UnaryOp, x: number, y: number): number {
  switch (op) {
    case 'gelu': return geluGrad(x);
    case 'relu': return x > 0 ? 1 : 0;
    case 'tanh': return 1 - y * y;
    case 'exp': return y;
    case 'log': return 1 / x;
    case 'neg': return -1;
    case 'sqrt': return 0.5 / y;
    case 'square': return 2 * x;
  }
}

export function binaryScalar(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
  }
}

// ---------------------------------------------------------------- shape helpers

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, right-aligned to `rank` dims, with 0 where the dim broadcasts (size 1). */
export function broadcastStrides(shape: readonly number[], rank: number): number[] {
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[rank - shape.length + i] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/** Offset of flat index `i` of an array of shape `outShape` into an operand with the given broadcast strides. */
function broadcastOffset(i: number, outShape: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let d = outShape.length - 1; d >= 0; d--) {
    const n = outShape[d];
    off += (i % n) * strides[d];
    i = Math.floor(i / n);
  }
  return off;
}

// ---------------------------------------------------------------- kernels

export const refKernels: Kernels = {
  name: 'ref',

  matmul(A, B, C, batch, M, N, K, transA, transB, accumulate, strideA, strideB) {
    for (let b = 0; b < batch; b++) {
      const a0 = b * strideA, b0 = b * strideB, c0 = b * M * N;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            const a = transA ? A[a0 + k * M + i] : A[a0 + i * K + k];
            const bb = transB ? B[b0 + j * K + k] : B[b0 + k * N + j];
            s += a * bb;
          }
          C[c0 + i * N + j] = accumulate ? C[c0 + i * N + j] + s : s;
        }
      }
    }
  },

  binary(op, a, aShape, b, bShape, out, outShape) {
    const rank = outShape.length;
    const sa = broadcastStrides(aShape, rank), sb = broadcastStrides(bShape, rank);
    for (let i = 0; i < out.length; i++) {
      out[i] = binaryScalar(op, a[broadcastOffset(i, outShape, sa)], b[broadcastOffset(i, outShape, sb)]);
    }
  },

  reduceBroadcast(src, srcShape, dst, dstShape) {
    const sd = broadcastStrides(dstShape, srcShape.length);
    for (let i = 0; i < src.length; i++) dst[broadcastOffset(i, srcShape, sd)] += src[i];
  },

  unary(op, x, y) {
    for (let i = 0; i < x.length; i++) y[i] = unaryScalar(op, x[i]);
  },

  unaryBackward(op, x, y, dy, dx) {
    for (let i = 0; i < x.length; i++) dx[i] += dy[i] * unaryGradScalar(op, x[i], y[i]);
  },

  scale(x, s, y) {
    for (let i = 0; i < x.length; i++) y[i] = x[i] * s;
  },

  axpy(dy, s, dx) {
    for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * s;
  },

  addBias(y, bias, rows, n) {
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) y[r * n + j] += bias[j];
  },

  biasBackward(dy, dBias, rows, n) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += dy[r * n + j];
      dBias[j] += s;
    }
  },

  biasGelu(x, bias, y, dGelu, rows, n) {
    for (let i = 0; i < rows * n; i++) {
      const v = Math.fround(x[i] + bias[i % n]); // the biased product, as addBias would store it
      y[i] = gelu(v);
      if (dGelu) dGelu[i] = geluGrad(v);
    }
  },

  biasGeluBackward(dGelu, dy, dx, dBias, rows, n) {
    for (let i = 0; i < rows * n; i++) dx[i] = dy[i] * dGelu[i];
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += dx[r * n + j];
      dBias[j] += s;
    }
  },

  layernorm(x, w, b, y, mean, rstd, rows, n, eps) {
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let j = 0; j < n; j++) m += x[r * n + j];
      m /= n;
      let v = 0;
      for (let j = 0; j < n; j++) v += (x[r * n + j] - m) ** 2;
      v /= n;
      const rs = 1 / Math.sqrt(v + eps);
      for (let j = 0; j < n; j++) y[r * n + j] = (x[r * n + j] - m) * rs * w[j] + b[j];
      mean[r] = m;
      rstd[r] = rs;
    }
  },

  layernormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, n) {
    for (let r = 0; r < rows; r++) {
      const m = mean[r], rs = rstd[r];
      // xhat = (x - m) * rs ; dxhat = dy * w
      let sumD = 0, sumDX = 0;
      for (let j = 0; j < n; j++) {
        const xhat = (x[r * n + j] - m) * rs;
        const d = dy[r * n + j] * w[j];
        sumD += d;
        sumDX += d * xhat;
        dw[j] += dy[r * n + j] * xhat;
        db[j] += dy[r * n + j];
      }
      for (let j = 0; j < n; j++) {
        const xhat = (x[r * n + j] - m) * rs;
        const d = dy[r * n + j] * w[j];
        dx[r * n + j] += rs * (d - sumD / n - xhat * sumDX / n);
      }
    }
  },

  softmax(x, y, rows, n, log) {
    for (let r = 0; r < rows; r++) {
      let mx = -Infinity;
      for (let j = 0; j < n; j++) mx = Math.max(mx, x[r * n + j]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j] - mx);
      for (let j = 0; j < n; j++) {
        y[r * n + j] = log ? x[r * n + j] - mx - Math.log(s) : Math.exp(x[r * n + j] - mx) / s;
      }
    }
  },

  softmaxBackward(y, dy, dx, rows, n, log) {
    for (let r = 0; r < rows; r++) {
      if (log) {
        // y = x - lse; dx = dy - softmax * sum(dy)
        let s = 0;
        for (let j = 0; j < n; j++) s += dy[r * n + j];
        for (let j = 0; j < n; j++) dx[r * n + j] += dy[r * n + j] - Math.exp(y[r * n + j]) * s;
      } else {
        // dx = y * (dy - sum(dy * y))
        let s = 0;
        for (let j = 0; j < n; j++) s += dy[r * n + j] * y[r * n + j];
        for (let j = 0; j < n; j++) dx[r * n + j] += y[r * n + j] * (dy[r * n + j] - s);
      }
    }
  },

  attention(qkv, out, att, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const q = b * T * C3 + t * C3 + h * hs;
          const row = ((b * H + h) * T + t) * T;
          // scores over t2 <= t, then softmax
          let mx = -Infinity;
          for (let t2 = 0; t2 <= t; t2++) {
            const k = b * T * C3 + t2 * C3 + C + h * hs;
            let s = 0;
            for (let i = 0; i < hs; i++) s += qkv[q + i] * qkv[k + i];
            att[row + t2] = s * scale;
            mx = Math.max(mx, s * scale);
          }
          let sum = 0;
          for (let t2 = 0; t2 <= t; t2++) sum += Math.exp(att[row + t2] - mx);
          for (let t2 = 0; t2 < T; t2++) att[row + t2] = t2 <= t ? Math.exp(att[row + t2] - mx) / sum : 0;
          for (let i = 0; i < hs; i++) {
            let s = 0;
            for (let t2 = 0; t2 <= t; t2++) s += att[row + t2] * qkv[b * T * C3 + t2 * C3 + 2 * C + h * hs + i];
            out[b * T * C + t * C + h * hs + i] = s;
          }
        }
      }
    }
  },

  attentionBackward(qkv, att, dout, dqkv, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    const dAtt = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const row = ((b * H + h) * T + t) * T;
          const dO = b * T * C + t * C + h * hs;
          const q = b * T * C3 + t * C3 + h * hs;
          // dAtt[t2] = dout . v[t2]; dv[t2] += att * dout
          for (let t2 = 0; t2 <= t; t2++) {
            const v = b * T * C3 + t2 * C3 + 2 * C + h * hs;
            let s = 0;
            for (let i = 0; i < hs; i++) {
              s += dout[dO + i] * qkv[v + i];
              dqkv[v + i] += att[row + t2] * dout[dO + i];
            }
            dAtt[t2] = s;
          }
          // softmax backward: dScore = att * (dAtt - sum(att * dAtt))
          let dot = 0;
          for (let t2 = 0; t2 <= t; t2++) dot += att[row + t2] * dAtt[t2];
          for (let t2 = 0; t2 <= t; t2++) {
            const dScore = att[row + t2] * (dAtt[t2] - dot) * scale;
            const k = b * T * C3 + t2 * C3 + C + h * hs;
            for (let i = 0; i < hs; i++) {
              dqkv[q + i] += dScore * qkv[k + i];
              dqkv[k + i] += dScore * qkv[q + i];
            }
          }
        }
      }
    }
  },

  attentionDecode(qkv, kCache, vCache, out, B, t, C, H, Tmax) {
    const hs = C / H, scale = 1 / Math.sqrt(hs);
    const scores = new Float64Array(t + 1);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const cache = (b * H + h) * Tmax * hs; // (b, h, 0, 0)
        const q = b * 3 * C + h * hs;
        for (let i = 0; i < hs; i++) {
          kCache[cache + i * Tmax + t] = qkv[q + C + i]; // keys transposed: (hs, Tmax)
          vCache[cache + t * hs + i] = qkv[q + 2 * C + i];
        }
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += qkv[q + i] * kCache[cache + i * Tmax + s];
          scores[s] = dot * scale;
          mx = Math.max(mx, scores[s]);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += Math.exp(scores[s] - mx);
        for (let i = 0; i < hs; i++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += (Math.exp(scores[s] - mx) / sum) * vCache[cache + s * hs + i];
          out[b * C + h * hs + i] = acc;
        }
      }
    }
  },

  gptStep: null, // GPT composes the pass from the kernels above (gpt_step.ts)

  attentionRows(qkv, out, att, rows, q0, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    for (let s = 0; s < B; s++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const row = ((s * H + h) * T + t) * T;
          if (t < q0[s]) { // a shared position: computed by an earlier sequence
            for (let t2 = 0; t2 < T; t2++) att[row + t2] = 0;
            continue;
          }
          const q = rows[s * T + t] * C3 + h * hs;
          let mx = -Infinity;
          for (let t2 = 0; t2 <= t; t2++) {
            const k = rows[s * T + t2] * C3 + C + h * hs;
            let dot = 0;
            for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
            att[row + t2] = dot * scale;
            mx = Math.max(mx, dot * scale);
          }
          let sum = 0;
          for (let t2 = 0; t2 <= t; t2++) sum += Math.exp(att[row + t2] - mx);
          for (let t2 = 0; t2 < T; t2++) att[row + t2] = t2 <= t ? Math.exp(att[row + t2] - mx) / sum : 0;
          for (let i = 0; i < hs; i++) {
            let acc = 0;
            for (let t2 = 0; t2 <= t; t2++) acc += att[row + t2] * qkv[rows[s * T + t2] * C3 + 2 * C + h * hs + i];
            out[rows[s * T + t] * C + h * hs + i] = acc;
          }
        }
      }
    }
  },

  attentionRowsBackward(qkv, att, dout, dqkv, rows, q0, B, T, C, H, accumulate) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    if (!accumulate) dqkv.fill(0, 0, (dout.length / C) * C3);
    const dAtt = new Float64Array(T);
    for (let s = 0; s < B; s++) {
      for (let h = 0; h < H; h++) {
        for (let t = q0[s]; t < T; t++) { // only s's own queries
          const row = ((s * H + h) * T + t) * T;
          const dO = rows[s * T + t] * C + h * hs, q = rows[s * T + t] * C3 + h * hs;
          for (let t2 = 0; t2 <= t; t2++) {
            const v = rows[s * T + t2] * C3 + 2 * C + h * hs;
            let d = 0;
            for (let i = 0; i < hs; i++) {
              d += dout[dO + i] * qkv[v + i];
              dqkv[v + i] += att[row + t2] * dout[dO + i];
            }
            dAtt[t2] = d;
          }
          let dot = 0;
          for (let t2 = 0; t2 <= t; t2++) dot += att[row + t2] * dAtt[t2];
          for (let t2 = 0; t2 <= t; t2++) {
            const dScore = att[row + t2] * (dAtt[t2] - dot) * scale;
            const k = rows[s * T + t2] * C3 + C + h * hs;
            for (let i = 0; i < hs; i++) {
              dqkv[q + i] += dScore * qkv[k + i];
              dqkv[k + i] += dScore * qkv[q + i];
            }
          }
        }
      }
    }
  },

  embedding(table, ids, out, n, dim) {
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = table[ids[i] * dim + j];
  },

  embeddingBackward(dOut, ids, dTable, n, dim) {
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) dTable[ids[i] * dim + j] += dOut[i * dim + j];
  },

  crossEntropy(logits, targets, losses, rows, V, dLogits, gradScale, entropy) {
    for (let r = 0; r < rows; r++) {
      const t = targets[r];
      if (t < 0) {
        losses[r] = 0;
        if (entropy) entropy[r] = 0;
        continue;
      }
      let mx = -Infinity;
      for (let j = 0; j < V; j++) mx = Math.max(mx, logits[r * V + j]);
      let s = 0;
      for (let j = 0; j < V; j++) s += Math.exp(logits[r * V + j] - mx);
      const lse = mx + Math.log(s);
      losses[r] = lse - logits[r * V + t];
      if (entropy) {
        // H = -sum p log p = lse - sum p x
        let px = 0;
        for (let j = 0; j < V; j++) px += Math.exp(logits[r * V + j] - lse) * logits[r * V + j];
        entropy[r] = lse - px;
      }
      if (dLogits) {
        const g = gradScale ? gradScale[r] : 1;
        for (let j = 0; j < V; j++) {
          const p = Math.exp(logits[r * V + j] - lse);
          dLogits[r * V + j] += g * (p - (j === t ? 1 : 0));
        }
      }
    }
  },

  reduce(op, x, out, argmax, outer, n, inner) {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = op === 'sum' ? 0 : -Infinity, arg = 0;
        for (let j = 0; j < n; j++) {
          const v = x[(o * n + j) * inner + i];
          if (op === 'sum') acc += v;
          else if (v > acc) { acc = v; arg = j; }
        }
        out[o * inner + i] = acc;
        if (argmax) argmax[o * inner + i] = arg;
      }
    }
  },

  permute(x, shape, perm, out) {
    const rank = shape.length;
    const inStrides = shape.map((_, d) => sizeOf(shape.slice(d + 1)));
    const outShape = perm.map((p) => shape[p]);
    for (let i = 0; i < out.length; i++) {
      // decompose i over outShape, map each out-dim d to input dim perm[d]
      let rem = i, off = 0;
      for (let d = rank - 1; d >= 0; d--) {
        off += (rem % outShape[d]) * inStrides[perm[d]];
        rem = Math.floor(rem / outShape[d]);
      }
      out[i] = x[off];
    }
  },

  copyBlocks(src, srcOff, srcStride, dst, dstOff, dstStride, outer, len, accumulate) {
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < len; j++) {
        const d = dstOff + o * dstStride + j;
        dst[d] = (accumulate ? dst[d] : 0) + src[srcOff + o * srcStride + j];
      }
    }
  },

  gather(x, idx, out, outer, n, m, inner) {
    for (let o = 0; o < outer; o++) for (let j = 0; j < m; j++) for (let i = 0; i < inner; i++) {
      out[(o * m + j) * inner + i] = x[(o * n + idx[(o * m + j) * inner + i]) * inner + i];
    }
  },

  gatherBackward(dOut, idx, dx, outer, n, m, inner) {
    for (let o = 0; o < outer; o++) for (let j = 0; j < m; j++) for (let i = 0; i < inner; i++) {
      dx[(o * n + idx[(o * m + j) * inner + i]) * inner + i] += dOut[(o * m + j) * inner + i];
    }
  },

  adamw(p, g, m, v, lr, b1, b2, eps, wd, t) {
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= lr * ((m[i] / bc1) / (Math.sqrt(v[i] / bc2) + eps) + wd * p[i]);
    }
  },
};
