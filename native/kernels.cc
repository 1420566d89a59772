// Elementwise, normalization, loss, embedding and optimizer kernels.
// Rows run in parallel on the pool once a call is big enough to pay for
// the hand-off (~1 µs); below that they run on the caller.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"
#include "simd.h"

namespace fw {

// Elements per parallel chunk, by cost per element.
const int64_t kGrainCheap = 1 << 15;  // add, scale, copy: memory bound
const int64_t kGrainMath = 1 << 13;   // exp, erf

// Rows per chunk so a chunk holds about `grain` elements.
static inline int64_t row_grain(int64_t n, int64_t grain) { return n >= grain ? 1 : grain / (n > 0 ? n : 1); }

// ---------------------------------------------------------------- elementwise

template <class Op>
static void map16(const float* __restrict x, float* __restrict y, int64_t n, int64_t grain, Op op) {
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    int64_t j = b;
    for (; j + 16 <= e; j += 16) store16(y + j, op(load16(x + j)));
    for (; j < e; j++) y[j] = op(x[j]);
  });
}

void unary(int op, const float* x, float* y, int64_t n) {
  switch (op) {
    case kGelu: return map16(x, y, n, kGrainMath, [](auto v) { return gelu(v); });
    case kRelu: return map16(x, y, n, kGrainCheap, [](auto v) { return v > 0 ? v : decltype(v){}; });
    case kExp: return map16(x, y, n, kGrainMath, [](auto v) { return fexp(v); });
    case kNeg: return map16(x, y, n, kGrainCheap, [](auto v) { return -v; });
    case kSquare: return map16(x, y, n, kGrainCheap, [](auto v) { return v * v; });
    default: break;
  }
  // tanh, log, sqrt: scalar libm (sqrt vectorizes under -fno-math-errno).
  parallel_for(n, kGrainMath, [&](int64_t b, int64_t e) {
    if (op == kTanh) for (int64_t j = b; j < e; j++) y[j] = std::tanh(x[j]);
    else if (op == kLog) for (int64_t j = b; j < e; j++) y[j] = std::log(x[j]);
    else for (int64_t j = b; j < e; j++) y[j] = std::sqrt(x[j]);
  });
}

void unary_backward(int op, const float* __restrict x, const float* __restrict y, const float* __restrict dy,
                    float* __restrict dx, int64_t n) {
  parallel_for(n, op == kGelu ? kGrainMath : kGrainCheap, [&](int64_t b, int64_t e) {
    int64_t j = b;
    switch (op) {
      case kGelu:
        for (; j + 16 <= e; j += 16) store16(dx + j, load16(dx + j) + load16(dy + j) * gelu_grad(load16(x + j)));
        for (; j < e; j++) dx[j] += dy[j] * gelu_grad(x[j]);
        break;
      case kRelu: for (; j < e; j++) dx[j] += x[j] > 0 ? dy[j] : 0.0f; break;
      case kTanh: for (; j < e; j++) dx[j] += dy[j] * (1.0f - y[j] * y[j]); break;
      case kExp: for (; j < e; j++) dx[j] += dy[j] * y[j]; break;
      case kLog: for (; j < e; j++) dx[j] += dy[j] / x[j]; break;
      case kNeg: for (; j < e; j++) dx[j] -= dy[j]; break;
      case kSqrt: for (; j < e; j++) dx[j] += dy[j] * (0.5f / y[j]); break;
      case kSquare: for (; j < e; j++) dx[j] += dy[j] * (2.0f * x[j]); break;
    }
  });
}

template <int Op>
static inline float binop(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  else if constexpr (Op == kSub) return a - b;
  else if constexpr (Op == kMul) return a * b;
  else return a / b;
}

// out[i] = a[i] op b[i % nb] (BRow) or a[i % nb] op b[i] (!BRow), split over
// elements (not rows), so one long row (nb == n: the same-shape case) runs
// in parallel too.
template <int Op, bool BRow>
static void binary_rows(const float* a, const float* b, float* out, int64_t n, int64_t nb) {
  parallel_for(n, kGrainCheap, [&](int64_t lo, int64_t hi) {
    if (nb == 1) {
      const float s = BRow ? b[0] : a[0];
      if (BRow) for (int64_t i = lo; i < hi; i++) out[i] = binop<Op>(a[i], s);
      else for (int64_t i = lo; i < hi; i++) out[i] = binop<Op>(s, b[i]);
      return;
    }
    for (int64_t i = lo; i < hi;) {
      const int64_t r0 = i - i % nb, e = r0 + nb < hi ? r0 + nb : hi;  // to the end of this row
      const float* rep = BRow ? b : a;                                  // the repeated operand
      if (BRow) for (; i < e; i++) out[i] = binop<Op>(a[i], rep[i - r0]);
      else for (; i < e; i++) out[i] = binop<Op>(rep[i - r0], b[i]);
    }
  });
}

template <bool BRow>
static void binary_any(int op, const float* a, const float* b, float* out, int64_t n, int64_t nb) {
  switch (op) {
    case kAdd: return binary_rows<kAdd, BRow>(a, b, out, n, nb);
    case kSub: return binary_rows<kSub, BRow>(a, b, out, n, nb);
    case kMul: return binary_rows<kMul, BRow>(a, b, out, n, nb);
    default: return binary_rows<kDiv, BRow>(a, b, out, n, nb);
  }
}

void binary_row(int op, const float* a, const float* b, float* out, int64_t n, int64_t nb) {
  binary_any<true>(op, a, b, out, n, nb);
}
void binary_row_a(int op, const float* a, const float* b, float* out, int64_t n, int64_t na) {
  binary_any<false>(op, a, b, out, n, na);
}

void scale(const float* __restrict x, float s, float* __restrict y, int64_t n) {
  parallel_for(n, kGrainCheap, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; j++) y[j] = x[j] * s;
  });
}

void axpy(const float* __restrict dy, float s, float* __restrict dx, int64_t n) {
  parallel_for(n, kGrainCheap, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; j++) dx[j] += dy[j] * s;
  });
}

// out (cols, rows) = x (rows, cols) transposed, by 16 x 16 tiles (a snapshot of
// weights per KV cache; the js permute walks a column at a time).
void transpose(const float* __restrict x, float* __restrict out, int64_t rows, int64_t cols) {
  const int64_t T = 16;
  parallel_for((rows + T - 1) / T, row_grain(T * cols, kGrainCheap), [&](int64_t i0, int64_t i1) {
    for (int64_t r0 = i0 * T; r0 < i1 * T && r0 < rows; r0 += T) {
      const int64_t r1 = r0 + T < rows ? r0 + T : rows;
      for (int64_t c0 = 0; c0 < cols; c0 += T) {
        const int64_t c1 = c0 + T < cols ? c0 + T : cols;
        for (int64_t c = c0; c < c1; c++)
          for (int64_t r = r0; r < r1; r++) out[c * rows + r] = x[r * cols + c];
      }
    }
  });
}

// ---------------------------------------------------------------- linear layers

void add_bias(float* __restrict y, const float* __restrict bias, int64_t rows, int64_t n) {
  parallel_for(rows, row_grain(n, kGrainCheap), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      float* yr = y + r * n;
      for (int64_t j = 0; j < n; j++) yr[j] += bias[j];
    }
  });
}

// Partial sums a reduction over rows keeps at most (each is `width` floats
// of scratch, summed on the caller at the end).
const int64_t kMaxPartials = 16;

// Runs body(r0, r1, acc) over row chunks in parallel, where acc points at
// `width` floats to accumulate into: `out` itself for the first chunk,
// zeroed scratch for the others, summed into `out` in chunk order at the
// end. The chunks depend on rows and grain only (num_chunks), so the sums
// are the same on any number of threads.
template <class F>
static void rows_with_partials(int64_t rows, int64_t grain, float* out, int64_t width, F body) {
  const int64_t nchunks = num_chunks(rows, grain, kMaxPartials);
  if (nchunks <= 1) {
    body((int64_t)0, rows, out);
    return;
  }
  // One partial per chunk after the first, each on cache lines of its own
  // (64-byte aligned, a multiple of 16 floats apart): two threads adding
  // into neighbouring partials row after row would otherwise fight over the
  // line they share.
  const int64_t stride = (width + 15) & ~(int64_t)15;
  std::vector<float> buf((size_t)((nchunks - 1) * stride + 16), 0.0f);
  float* scratch = buf.data() + ((64 - (uintptr_t)buf.data() % 64) % 64) / sizeof(float);
  int64_t per = (rows + nchunks - 1) / nchunks;
  pool().run(nchunks, [&](int64_t c) {
    int64_t r0 = c * per, r1 = r0 + per < rows ? r0 + per : rows;
    if (r0 < r1) body(r0, r1, c == 0 ? out : scratch + (c - 1) * stride);
  });
  for (int64_t c = 1; c < nchunks; c++) {
    const float* s = scratch + (c - 1) * stride;
    for (int64_t j = 0; j < width; j++) out[j] += s[j];
  }
}

void bias_backward(const float* __restrict dy, float* dBias, int64_t rows, int64_t n) {
  rows_with_partials(rows, row_grain(n, kGrainCheap), dBias, n, [&](int64_t r0, int64_t r1, float* __restrict acc) {
    for (int64_t r = r0; r < r1; r++) {
      const float* d = dy + r * n;
      for (int64_t j = 0; j < n; j++) acc[j] += d[j];
    }
  });
}

// ---------------------------------------------------------------- the MLP's bias + GELU

// x and dgelu may be the same array (dGelu computed in place), so no __restrict on them.
void bias_gelu(const float* x, const float* __restrict bias, float* __restrict y, float* dgelu, int64_t rows,
               int64_t n) {
  parallel_for(rows, row_grain(n, kGrainMath), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      float* gr = dgelu ? dgelu + r * n : nullptr;
      int64_t j = 0;
      for (; j + 16 <= n; j += 16) {
        const v16 v = load16(xr + j) + load16(bias + j), e = fexp(-0.5f * v * v), c = norm_cdf(v, e);
        store16(yr + j, v * c);                          // gelu(v) = v Phi(v)
        if (gr) store16(gr + j, c + v * kInvSqrt2Pi * e);  // gelu'(v) = Phi(v) + v phi(v)
      }
      for (; j < n; j++) {
        const float v = xr[j] + bias[j], e = fexp(-0.5f * v * v), c = norm_cdf(v, e);
        yr[j] = v * c;
        if (gr) gr[j] = c + v * kInvSqrt2Pi * e;
      }
    }
  });
}

// dx may be dy itself.
void bias_gelu_backward(const float* __restrict dgelu, const float* dy, float* dx, float* dBias, int64_t rows,
                        int64_t n) {
  rows_with_partials(rows, row_grain(n, kGrainCheap), dBias, n, [&](int64_t r0, int64_t r1, float* __restrict acc) {
    for (int64_t r = r0; r < r1; r++) {
      const float* g = dgelu + r * n;
      const float* d = dy + r * n;
      float* o = dx + r * n;
      int64_t j = 0;
      for (; j + 16 <= n; j += 16) {
        const v16 v = load16(d + j) * load16(g + j);
        store16(o + j, v);
        store16(acc + j, load16(acc + j) + v);
      }
      for (; j < n; j++) {
        const float v = d[j] * g[j];
        o[j] = v;
        acc[j] += v;
      }
    }
  });
}

// ---------------------------------------------------------------- layernorm

void layernorm_row(const float* __restrict xr, const float* __restrict w, const float* __restrict b,
                   float* __restrict yr, int64_t n, float eps, float* mean, float* rstd) {
  const float m = row_sum(xr, n) / (float)n;
  v16 acc = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) { v16 d = load16(xr + j) - m; acc += d * d; }
  float v = hsum16(acc);
  for (; j < n; j++) v += (xr[j] - m) * (xr[j] - m);
  const float rs = 1.0f / std::sqrt(v / (float)n + eps);
  for (j = 0; j < n; j++) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
  *mean = m;
  *rstd = rs;
}

void layernorm(const float* __restrict x, const float* __restrict w, const float* __restrict b, float* __restrict y,
               float* __restrict mean, float* __restrict rstd, int64_t rows, int64_t n, float eps) {
  parallel_for(rows, row_grain(n, kGrainCheap / 2), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) layernorm_row(x + r * n, w, b, y + r * n, n, eps, mean + r, rstd + r);
  });
}

void layernorm_backward(const float* __restrict x, const float* __restrict w, const float* __restrict mean,
                        const float* __restrict rstd, const float* __restrict dy, float* __restrict dx, float* dw,
                        float* db, int64_t rows, int64_t n) {
  // dw and db are accumulated per chunk into one buffer [dw | db] of 2n.
  std::vector<float> dwdb((size_t)(2 * n));
  std::memcpy(dwdb.data(), dw, n * sizeof(float));
  std::memcpy(dwdb.data() + n, db, n * sizeof(float));
  rows_with_partials(rows, row_grain(n, kGrainCheap / 4), dwdb.data(), 2 * n, [&](int64_t r0, int64_t r1, float* acc) {
    float* __restrict dwa = acc;
    float* __restrict dba = acc + n;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      const float* dyr = dy + r * n;
      float* dxr = dx + r * n;
      const float m = mean[r], rs = rstd[r];
      // xhat = (x - m) * rs;  d = dy * w
      v16 sD = {}, sDX = {};
      int64_t j = 0;
      for (; j + 16 <= n; j += 16) {
        v16 xhat = (load16(xr + j) - m) * rs, g = load16(dyr + j), d = g * load16(w + j);
        sD += d;
        sDX += d * xhat;
        store16(dwa + j, load16(dwa + j) + g * xhat);
        store16(dba + j, load16(dba + j) + g);
      }
      float sumD = hsum16(sD), sumDX = hsum16(sDX);
      for (; j < n; j++) {
        float xhat = (xr[j] - m) * rs, d = dyr[j] * w[j];
        sumD += d;
        sumDX += d * xhat;
        dwa[j] += dyr[j] * xhat;
        dba[j] += dyr[j];
      }
      const float a = sumD / (float)n, c = sumDX / (float)n;
      for (j = 0; j < n; j++) {
        float xhat = (xr[j] - m) * rs;
        dxr[j] += rs * (dyr[j] * w[j] - a - xhat * c);
      }
    }
  });
  std::memcpy(dw, dwdb.data(), n * sizeof(float));
  std::memcpy(db, dwdb.data() + n, n * sizeof(float));
}

// ---------------------------------------------------------------- softmax

// y[j] = exp(x[j] - mx); returns the sum.
static inline float exp_shifted(const float* __restrict x, float* __restrict y, int64_t n, float mx) {
  v16 acc = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    v16 e = fexp(load16(x + j) - mx);
    store16(y + j, e);
    acc += e;
  }
  float s = hsum16(acc);
  for (; j < n; j++) { y[j] = fexp(x[j] - mx); s += y[j]; }
  return s;
}

void softmax(const float* __restrict x, float* __restrict y, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, row_grain(n, kGrainMath), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      const float mx = row_max(xr, n);
      const float s = exp_shifted(xr, yr, n, mx);
      if (log) {
        const float lse = mx + std::log(s);
        for (int64_t j = 0; j < n; j++) yr[j] = xr[j] - lse;
      } else {
        const float inv = 1.0f / s;
        for (int64_t j = 0; j < n; j++) yr[j] *= inv;
      }
    }
  });
}

void softmax_backward(const float* __restrict y, const float* __restrict dy, float* __restrict dx, int64_t rows,
                      int64_t n, bool log) {
  parallel_for(rows, row_grain(n, log ? kGrainMath : kGrainCheap), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* yr = y + r * n;
      const float* dyr = dy + r * n;
      float* dxr = dx + r * n;
      if (log) {
        // y = x - lse:  dx = dy - softmax * sum(dy)
        const float s = row_sum(dyr, n);
        int64_t j = 0;
        for (; j + 16 <= n; j += 16) store16(dxr + j, load16(dxr + j) + load16(dyr + j) - fexp(load16(yr + j)) * s);
        for (; j < n; j++) dxr[j] += dyr[j] - fexp(yr[j]) * s;
      } else {
        // dx = y * (dy - sum(dy * y))
        const float s = row_dot(dyr, yr, n);
        for (int64_t j = 0; j < n; j++) dxr[j] += yr[j] * (dyr[j] - s);
      }
    }
  });
}

// ---------------------------------------------------------------- embeddings and losses

void embedding(const float* table, const int32_t* ids, float* out, int64_t n, int64_t dim) {
  parallel_for(n, row_grain(dim, kGrainCheap), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) std::memcpy(out + i * dim, table + (int64_t)ids[i] * dim, dim * sizeof(float));
  });
}

void embedding_backward(const float* __restrict dOut, const int32_t* ids, float* __restrict dTable, int64_t n,
                        int64_t dim) {
  // Ids repeat, so rows would race: split the columns instead (each column
  // sums its rows in order, however the columns are cut).
  const int64_t cgrain = 256;
  int64_t nchunks = n * dim >= kGrainCheap ? dim / cgrain : 1;
  if (nchunks > kMaxChunks) nchunks = kMaxChunks;
  if (nchunks < 1) nchunks = 1;
  const int64_t per = ((dim + nchunks - 1) / nchunks + 15) & ~(int64_t)15;
  pool().run(nchunks, [&](int64_t c) {
    const int64_t j0 = c * per, j1 = j0 + per < dim ? j0 + per : dim;
    for (int64_t i = 0; i < n; i++) {
      float* d = dTable + (int64_t)ids[i] * dim;
      const float* s = dOut + i * dim;
      for (int64_t j = j0; j < j1; j++) d[j] += s[j];
    }
  });
}

void cross_entropy(const float* __restrict logits, const int32_t* targets, float* losses, int64_t rows, int64_t V,
                   float* __restrict dLogits, const float* gradScale, float* entropy) {
  parallel_for(rows, row_grain(V, kGrainMath), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int32_t t = targets[r];
      if (t < 0) {
        losses[r] = 0;
        if (entropy) entropy[r] = 0;
        continue;
      }
      const float* x = logits + r * V;
      const float mx = row_max(x, V);
      v16 acc = {}, accx = {};  // sums of e = exp(x - mx) and of e (x - mx)
      int64_t j = 0;
      for (; j + 16 <= V; j += 16) {
        const v16 d = load16(x + j) - mx, e = fexp(d);
        acc += e;
        accx += e * d;
      }
      float s = hsum16(acc), sx = hsum16(accx);
      for (; j < V; j++) {
        const float d = x[j] - mx, e = fexp(d);
        s += e;
        sx += e * d;
      }
      const float lse = mx + std::log(s);
      losses[r] = lse - x[t];
      if (entropy) entropy[r] = std::log(s) - sx / s;  // H = log Z - E[x - mx]
      if (dLogits) {
        const float g = gradScale ? gradScale[r] : 1.0f;
        float* d = dLogits + r * V;
        for (j = 0; j + 16 <= V; j += 16) store16(d + j, load16(d + j) + g * fexp(load16(x + j) - lse));
        for (; j < V; j++) d[j] += g * fexp(x[j] - lse);
        d[t] -= g;
      }
    }
  });
}

// ---------------------------------------------------------------- optimizer

void adamw(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
           double lr, double b1, double b2, double eps, double wd, double t) {
  const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1 - b1), c2 = (float)(1 - b2);
  const float ibc1 = (float)(1 / (1 - std::pow(b1, t))), ibc2 = (float)(1 / (1 - std::pow(b2, t)));
  const float flr = (float)lr, feps = (float)eps, fwd = (float)wd;
  parallel_for(n, kGrainCheap / 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float mi = fb1 * m[i] + c1 * g[i];
      const float vi = fb2 * v[i] + c2 * g[i] * g[i];
      m[i] = mi;
      v[i] = vi;
      p[i] -= flr * ((mi * ibc1) / (std::sqrt(vi * ibc2) + feps) + fwd * p[i]);
    }
  });
}

}  // namespace fw
