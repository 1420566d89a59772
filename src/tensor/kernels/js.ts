/**
 * Fast portable kernels in plain TypeScript: no compiler, no system library.
 *
 * Same contract as ref.ts (which these are tested against): row-major flat
 * Float32Arrays, backward kernels accumulate. Sums over a row are taken in
 * float64 locals, as in ref. Inner loops are monomorphic and index with a
 * running offset; any switch on an op string sits outside the loop.
 * Matmul lives in js_matmul.ts, the broadcasting kernels in js_elementwise.ts.
 */
import type { Kernels } from './types.ts';
import { jsMatmul } from './js_matmul.ts';
import { binary, permute, reduceBroadcast, sumRows, unary, unaryBackward } from './js_elementwise.ts';

let scratch = new Float64Array(256);
/** A float64 scratch row of at least n elements (zeroed). */
function row64(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const s = scratch.subarray(0, n);
  s.fill(0);
  return s;
}

export const jsKernels: Kernels = {
  name: 'js',

  matmul: jsMatmul,
  binary,
  reduceBroadcast,
  unary,
  unaryBackward,
  permute,

  scale(x, s, y) {
    for (let i = 0, n = x.length; i < n; i++) y[i] = x[i] * s;
  },

  axpy(dy, s, dx) {
    for (let i = 0, n = dy.length; i < n; i++) dx[i] += dy[i] * s;
  },

  addBias(y, bias, rows, n) {
    for (let r = 0, o = 0; r < rows; r++, o += n) for (let j = 0; j < n; j++) y[o + j] += bias[j];
  },

  biasBackward(dy, dBias, rows, n) {
    sumRows(dy, rows, n, dBias);
  },

  layernorm(x, w, b, y, mean, rstd, rows, n, eps) {
    for (let r = 0, o = 0; r < rows; r++, o += n) {
      let m = 0;
      for (let j = 0; j < n; j++) m += x[o + j];
      m /= n;
      let v = 0;
      for (let j = 0; j < n; j++) { const d = x[o + j] - m; v += d * d; }
      v /= n;
      const rs = 1 / Math.sqrt(v + eps);
      for (let j = 0; j < n; j++) y[o + j] = (x[o + j] - m) * rs * w[j] + b[j];
      mean[r] = m;
      rstd[r] = rs;
    }
  },

  layernormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, n) {
    const dwAcc = row64(2 * n), dbOff = n;
    for (let r = 0, o = 0; r < rows; r++, o += n) {
      const m = mean[r], rs = rstd[r];
      let sumD = 0, sumDX = 0;
      for (let j = 0; j < n; j++) {
        const g = dy[o + j], xhat = (x[o + j] - m) * rs, d = g * w[j];
        sumD += d;
        sumDX += d * xhat;
        dwAcc[j] += g * xhat;
        dwAcc[dbOff + j] += g;
      }
      const a = sumD / n, c = sumDX / n;
      for (let j = 0; j < n; j++) {
        const xhat = (x[o + j] - m) * rs;
        dx[o + j] += rs * (dy[o + j] * w[j] - a - xhat * c);
      }
    }
    for (let j = 0; j < n; j++) { dw[j] += dwAcc[j]; db[j] += dwAcc[dbOff + j]; }
  },

  softmax(x, y, rows, n, log) {
    const e = row64(n);
    for (let r = 0, o = 0; r < rows; r++, o += n) {
      let mx = -Infinity;
      for (let j = 0; j < n; j++) if (x[o + j] > mx) mx = x[o + j];
      let s = 0;
      if (log) {
        for (let j = 0; j < n; j++) s += Math.exp(x[o + j] - mx);
        const lse = mx + Math.log(s);
        for (let j = 0; j < n; j++) y[o + j] = x[o + j] - lse;
      } else {
        for (let j = 0; j < n; j++) { const v = Math.exp(x[o + j] - mx); e[j] = v; s += v; }
        const inv = 1 / s;
        for (let j = 0; j < n; j++) y[o + j] = e[j] * inv;
      }
    }
  },

  softmaxBackward(y, dy, dx, rows, n, log) {
    for (let r = 0, o = 0; r < rows; r++, o += n) {
      let s = 0;
      if (log) {
        for (let j = 0; j < n; j++) s += dy[o + j];
        for (let j = 0; j < n; j++) dx[o + j] += dy[o + j] - Math.exp(y[o + j]) * s;
      } else {
        for (let j = 0; j < n; j++) s += dy[o + j] * y[o + j];
        for (let j = 0; j < n; j++) dx[o + j] += y[o + j] * (dy[o + j] - s);
      }
    }
  },

  attention(qkv, out, att, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    const acc = row64(hs + T), e = acc.subarray(hs);
    for (let b = 0; b < B; b++) {
      const base = b * T * C3;
      for (let h = 0; h < H; h++) {
        const qh = base + h * hs, kh = qh + C, vh = qh + 2 * C;
        for (let t = 0; t < T; t++) {
          const q = qh + t * C3, row = ((b * H + h) * T + t) * T;
          // scores over t2 <= t: q . k[t2], then softmax
          let mx = -Infinity;
          for (let t2 = 0, k = kh; t2 <= t; t2++, k += C3) {
            let s = 0;
            for (let i = 0; i < hs; i++) s += qkv[q + i] * qkv[k + i];
            s *= scale;
            e[t2] = s;
            if (s > mx) mx = s;
          }
          let sum = 0;
          for (let t2 = 0; t2 <= t; t2++) { const p = Math.exp(e[t2] - mx); e[t2] = p; sum += p; }
          const inv = 1 / sum;
          for (let t2 = 0; t2 <= t; t2++) att[row + t2] = e[t2] * inv;
          for (let t2 = t + 1; t2 < T; t2++) att[row + t2] = 0;
          // out[t] = sum_t2 att[t2] v[t2]
          for (let i = 0; i < hs; i++) acc[i] = 0;
          for (let t2 = 0, v = vh; t2 <= t; t2++, v += C3) {
            const p = att[row + t2];
            for (let i = 0; i < hs; i++) acc[i] += p * qkv[v + i];
          }
          const o = b * T * C + t * C + h * hs;
          for (let i = 0; i < hs; i++) out[o + i] = acc[i];
        }
      }
    }
  },

  attentionDecode(qkv, kCache, vCache, out, B, t, C, H, Tmax) {
    const hs = C / H, scale = 1 / Math.sqrt(hs);
    const acc = row64(hs + t + 1), e = acc.subarray(hs);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const cache = (b * H + h) * Tmax * hs, q = b * 3 * C + h * hs, row = cache + t * hs;
        for (let i = 0; i < hs; i++) kCache[cache + i * Tmax + t] = qkv[q + C + i]; // keys transposed: (hs, Tmax)
        vCache.set(qkv.subarray(q + 2 * C, q + 2 * C + hs), row);
        // scores over positions: e[s] = scale * sum_i q[i] kT[i][s]
        for (let s = 0; s <= t; s++) e[s] = 0;
        for (let i = 0; i < hs; i++) {
          const qi = qkv[q + i] * scale, k = cache + i * Tmax;
          for (let s = 0; s <= t; s++) e[s] += qi * kCache[k + s];
        }
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) if (e[s] > mx) mx = e[s];
        let sum = 0;
        for (let s = 0; s <= t; s++) { const p = Math.exp(e[s] - mx); e[s] = p; sum += p; }
        for (let i = 0; i < hs; i++) acc[i] = 0;
        for (let s = 0, v = cache; s <= t; s++, v += hs) {
          const p = e[s];
          for (let i = 0; i < hs; i++) acc[i] += p * vCache[v + i];
        }
        const o = b * C + h * hs, inv = 1 / sum;
        for (let i = 0; i < hs; i++) out[o + i] = acc[i] * inv;
      }
    }
  },

  gptStep: null, // GPT composes the pass from the kernels above (gpt_step.ts)
  attentionRows: null, // ops.causalAttentionRows gathers each sequence and runs attention
  attentionRowsBackward: null,
  biasGelu: null, // ops.linearGelu composes linear and gelu
  biasGeluBackward: null,

  attentionBackward(qkv, att, dout, dqkv, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    const dq = row64(hs + T), dAtt = dq.subarray(hs);
    for (let b = 0; b < B; b++) {
      const base = b * T * C3;
      for (let h = 0; h < H; h++) {
        const qh = base + h * hs, kh = qh + C, vh = qh + 2 * C;
        for (let t = 0; t < T; t++) {
          const row = ((b * H + h) * T + t) * T, dO = b * T * C + t * C + h * hs, q = qh + t * C3;
          // dAtt[t2] = dout[t] . v[t2];  dv[t2] += att[t2] * dout[t]
          let dot = 0;
          for (let t2 = 0, v = vh; t2 <= t; t2++, v += C3) {
            const p = att[row + t2];
            let s = 0;
            for (let i = 0; i < hs; i++) {
              const g = dout[dO + i];
              s += g * qkv[v + i];
              dqkv[v + i] += p * g;
            }
            dAtt[t2] = s;
            dot += p * s;
          }
          // softmax backward, then dq[t] += dS k[t2]; dk[t2] += dS q[t]
          for (let i = 0; i < hs; i++) dq[i] = 0;
          for (let t2 = 0, k = kh; t2 <= t; t2++, k += C3) {
            const dS = att[row + t2] * (dAtt[t2] - dot) * scale;
            if (dS === 0) continue;
            for (let i = 0; i < hs; i++) {
              dq[i] += dS * qkv[k + i];
              dqkv[k + i] += dS * qkv[q + i];
            }
          }
          for (let i = 0; i < hs; i++) dqkv[q + i] += dq[i];
        }
      }
    }
  },

  embedding(table, ids, out, n, dim) {
    for (let i = 0, o = 0; i < n; i++, o += dim) {
      const t = ids[i] * dim;
      for (let j = 0; j < dim; j++) out[o + j] = table[t + j];
    }
  },

  embeddingBackward(dOut, ids, dTable, n, dim) {
    for (let i = 0, o = 0; i < n; i++, o += dim) {
      const t = ids[i] * dim;
      for (let j = 0; j < dim; j++) dTable[t + j] += dOut[o + j];
    }
  },

  crossEntropy(logits, targets, losses, rows, V, dLogits, gradScale, entropy) {
    for (let r = 0, o = 0; r < rows; r++, o += V) {
      const t = targets[r];
      if (t < 0) {
        losses[r] = 0;
        if (entropy) entropy[r] = 0;
        continue;
      }
      let mx = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j] > mx) mx = logits[o + j];
      let s = 0, sx = 0;
      for (let j = 0; j < V; j++) {
        const x = logits[o + j] - mx, e = Math.exp(x);
        s += e;
        sx += e * x;
      }
      const lse = mx + Math.log(s);
      losses[r] = lse - logits[o + t];
      if (entropy) entropy[r] = Math.log(s) - sx / s; // H = log Z - E[x - mx]
      if (dLogits) {
        const g = gradScale ? gradScale[r] : 1;
        for (let j = 0; j < V; j++) dLogits[o + j] += g * Math.exp(logits[o + j] - lse);
        dLogits[o + t] -= g;
      }
    }
  },

  reduce(op, x, out, argmax, outer, n, inner) {
    if (inner === 1) {
      for (let o = 0, off = 0; o < outer; o++, off += n) {
        if (op === 'sum') {
          let s = 0;
          for (let j = 0; j < n; j++) s += x[off + j];
          out[o] = s;
        } else {
          let mx = -Infinity, arg = 0;
          for (let j = 0; j < n; j++) if (x[off + j] > mx) { mx = x[off + j]; arg = j; }
          out[o] = mx;
          if (argmax) argmax[o] = arg;
        }
      }
      return;
    }
    const acc = row64(inner);
    const arg = new Int32Array(inner);
    for (let o = 0; o < outer; o++) {
      const base = o * n * inner;
      if (op === 'sum') {
        acc.fill(0);
        for (let j = 0, off = base; j < n; j++, off += inner) for (let i = 0; i < inner; i++) acc[i] += x[off + i];
      } else {
        acc.fill(-Infinity);
        arg.fill(0);
        for (let j = 0, off = base; j < n; j++, off += inner) {
          for (let i = 0; i < inner; i++) if (x[off + i] > acc[i]) { acc[i] = x[off + i]; arg[i] = j; }
        }
        if (argmax) argmax.set(arg, o * inner);
      }
      for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i];
    }
  },

  copyBlocks(src, srcOff, srcStride, dst, dstOff, dstStride, outer, len, accumulate) {
    for (let o = 0, s = srcOff, d = dstOff; o < outer; o++, s += srcStride, d += dstStride) {
      if (accumulate) for (let j = 0; j < len; j++) dst[d + j] += src[s + j];
      else if (len >= 16) dst.set(src.subarray(s, s + len), d);
      else for (let j = 0; j < len; j++) dst[d + j] = src[s + j];
    }
  },

  gather(x, idx, out, outer, n, m, inner) {
    for (let o = 0, io = 0; o < outer; o++) {
      const xb = o * n * inner;
      for (let j = 0; j < m; j++) for (let i = 0; i < inner; i++, io++) out[io] = x[xb + idx[io] * inner + i];
    }
  },

  gatherBackward(dOut, idx, dx, outer, n, m, inner) {
    for (let o = 0, io = 0; o < outer; o++) {
      const xb = o * n * inner;
      for (let j = 0; j < m; j++) for (let i = 0; i < inner; i++, io++) dx[xb + idx[io] * inner + i] += dOut[io];
    }
  },

  adamw(p, g, m, v, lr, b1, b2, eps, wd, t) {
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    const c1 = 1 - b1, c2 = 1 - b2, stepSize = lr / bc1, rbc2 = 1 / Math.sqrt(bc2), decay = lr * wd;
    for (let i = 0, n = p.length; i < n; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= stepSize * mi / (Math.sqrt(vi) * rbc2 + eps) + decay * p[i];
    }
  },
};
