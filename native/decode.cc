// The no-grad passes of sampling over a KV cache.
//
// attention_decode: one decoding step of causal attention, B sequences at
// position t, each head attending its query over the cached keys and values
// of positions 0..t. Heads are independent and spread over the pool. Keys
// are cached transposed (hs, Tmax) so the scores are a sum of hs vector
// FMAs over positions, with no horizontal reductions; values stay
// (Tmax, hs) so the output is a sum of rows.
//
// gpt_step: a whole GPT pass (embedding, every block, final LayerNorm, tied
// head) for Lq new tokens per sequence at positions t0..t0+Lq-1: Lq = 1 is
// a decode step, t0 = 0 a prefill. The sequences are cut into contiguous
// chunks and each chunk runs the whole stack on one thread, so a step is
// one pool dispatch and every elementwise op runs beside its product while
// the rows are in cache. It computes what the composed kernels do in
// GPT.blocksNoGrad (gpt.ts), in the same order per element; only the
// blocking of the products differs (tests hold the two within 1e-5).
#include <cblas.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"
#include "simd.h"

namespace fw {

// Stores the key and value of one head at position t: k (hs) into kb (hs,
// Tmax) at column t, v (hs) into vb (Tmax, hs) at row t.
static inline void cache_write(const float* k, const float* v, float* kb, float* vb, int64_t t, int64_t hs,
                               int64_t Tmax) {
  for (int64_t j = 0; j < hs; j++) kb[j * Tmax + t] = k[j];
  std::memcpy(vb + t * hs, v, hs * sizeof(float));
}

// out (16 NV) = sum over s < n of e[s] v[s] * inv, v[s] the rows of vb (n, 16 NV):
// the accumulators stay in registers, two sets (even and odd s) so the adds
// do not wait on each other.
template <int NV>
static inline void weighted_rows(const float* __restrict e, float inv, const float* __restrict vb, float* __restrict out,
                                 int64_t n) {
  v16 a[NV], b[NV];
  for (int v = 0; v < NV; v++) a[v] = b[v] = v16{};
  int64_t s = 0;
  for (; s + 2 <= n; s += 2) {
    const float p0 = e[s], p1 = e[s + 1];
    const float* v0 = vb + s * 16 * NV;
    for (int v = 0; v < NV; v++) {
      a[v] += p0 * load16(v0 + 16 * v);
      b[v] += p1 * load16(v0 + 16 * NV + 16 * v);
    }
  }
  if (s < n)
    for (int v = 0; v < NV; v++) a[v] += e[s] * load16(vb + s * 16 * NV + 16 * v);
  for (int v = 0; v < NV; v++) store16(out + 16 * v, (a[v] + b[v]) * inv);
}

// out (hs) = softmax(e[0..t]) v[0..t], v[s] the rows of vb (Tmax, hs); e (room for
// t + 16 floats) is overwritten.
static inline void softmax_weighted(float* __restrict e, int64_t t, const float* __restrict vb, float* __restrict out,
                                    int64_t hs) {
  // softmax numerators over whole vectors of 16 positions: the lanes past t
  // are set to -inf, so they count 0 (e has room for them)
  const int64_t n = t + 1, np = (n + 15) & ~(int64_t)15;
  for (int64_t s = n; s < np; s++) e[s] = -INFINITY;
  v16 vm = load16(e);
  for (int64_t s = 16; s < np; s += 16) vm = vmax(vm, load16(e + s));
  const float mx = hmax16(vm);
  v16 sum = {};
  for (int64_t s = 0; s < np; s += 16) {
    const v16 p = fexp(load16(e + s) - mx);
    store16(e + s, p);
    sum += p;
  }
  const float inv = 1.0f / hsum16(sum);
  // out = sum_s p[s] v[s]
  switch (hs) {
    case 16: return weighted_rows<1>(e, inv, vb, out, t + 1);
    case 32: return weighted_rows<2>(e, inv, vb, out, t + 1);
    case 48: return weighted_rows<3>(e, inv, vb, out, t + 1);
    case 64: return weighted_rows<4>(e, inv, vb, out, t + 1);
  }
  for (int64_t j = 0; j < hs; j++) out[j] = 0;
  for (int64_t s2 = 0; s2 <= t; s2++) {
    const float p = e[s2] * inv;
    const float* v = vb + s2 * hs;
    for (int64_t j = 0; j < hs; j++) out[j] += p * v[j];
  }
}

// out (hs) = softmax(scale q . k[0..t]) v[0..t] for one head, over its cached
// keys kb (hs, Tmax) and values vb (Tmax, hs); e: scratch of >= t + 32 floats.
static inline void attend(const float* __restrict q, const float* __restrict kb, const float* __restrict vb,
                          float* __restrict out, int64_t t, int64_t hs, int64_t Tmax, float scale, float* __restrict e) {
  // scores e[s] = sum_j (scale q[j]) kT[j][s], vectorized over positions s, in
  // blocks of 32 then 16 positions with the accumulators in registers; a block
  // may read cache columns past t (never past Tmax): those lanes are ignored
  float qs[256];
  const bool small = hs <= 256;
  if (small)
    for (int64_t j = 0; j < hs; j++) qs[j] = q[j] * scale;
  int64_t s0 = 0;
  if (small) {
    for (; s0 + 16 <= t && s0 + 32 <= Tmax; s0 += 32) {
      v16 a0 = {}, a1 = {};
      for (int64_t j = 0; j < hs; j++) {
        const float* k = kb + j * Tmax + s0;
        a0 += qs[j] * load16(k);
        a1 += qs[j] * load16(k + 16);
      }
      store16(e + s0, a0);
      store16(e + s0 + 16, a1);
    }
  }
  for (; s0 <= t && s0 + 16 <= Tmax; s0 += 16) {
    v16 acc = {};
    for (int64_t j = 0; j < hs; j++) acc += (q[j] * scale) * load16(kb + j * Tmax + s0);
    store16(e + s0, acc);
  }
  for (int64_t s = s0; s <= t; s++) {
    float acc = 0;
    for (int64_t j = 0; j < hs; j++) acc += q[j] * kb[j * Tmax + s];
    e[s] = acc * scale;
  }
  softmax_weighted(e, t, vb, out, hs);
}

// Scores of R queries over positions [0, n), 16 at a time, sharing each key
// load: e[r * lde + s] = sum_j qs[r][j] kT[j][s], with qs the scaled queries.
// A block may read cache columns past n (never past Tmax): lanes ignored.
template <int R>
static inline void scores_rows(const float (*qs)[256], const float* __restrict kb, int64_t hs, int64_t Tmax, int64_t n,
                               float* __restrict e, int64_t lde) {
  int64_t s0 = 0;
  for (; s0 < n && s0 + 16 <= Tmax; s0 += 16) {
    v16 acc[R];
    for (int r = 0; r < R; r++) acc[r] = v16{};
    for (int64_t j = 0; j < hs; j++) {
      const v16 k = load16(kb + j * Tmax + s0);
      for (int r = 0; r < R; r++) acc[r] += qs[r][j] * k;
    }
    for (int r = 0; r < R; r++) store16(e + r * lde + s0, acc[r]);
  }
  for (int64_t s = s0; s < n; s++)
    for (int r = 0; r < R; r++) {
      float acc = 0;
      for (int64_t j = 0; j < hs; j++) acc += qs[r][j] * kb[j * Tmax + s];
      e[r * lde + s] = acc;
    }
}

// attend() for Lq queries of one head at positions t0..t0+Lq-1 (a prefill
// block), query i at q + i * ldq, its output at out + i * ldo. The scores
// run four queries at a time, so four accumulators share each key load
// instead of one waiting on its own adds. e: scratch of 4 (Tmax + 32) floats.
static void attend_queries(const float* q, int64_t ldq, int64_t Lq, int64_t t0, const float* kb, const float* vb,
                           float* out, int64_t ldo, int64_t hs, int64_t Tmax, float scale, float* e) {
  if (hs > 256) {
    for (int64_t i = 0; i < Lq; i++) attend(q + i * ldq, kb, vb, out + i * ldo, t0 + i, hs, Tmax, scale, e);
    return;
  }
  const int64_t lde = Tmax + 32;
  float qs[4][256];
  for (int64_t i = 0; i < Lq; i += 4) {
    const int64_t R = Lq - i < 4 ? Lq - i : 4, n = t0 + i + R;  // positions the group's last query sees
    for (int64_t r = 0; r < R; r++)
      for (int64_t j = 0; j < hs; j++) qs[r][j] = q[(i + r) * ldq + j] * scale;
    switch (R) {
      case 1: scores_rows<1>(qs, kb, hs, Tmax, n, e, lde); break;
      case 2: scores_rows<2>(qs, kb, hs, Tmax, n, e, lde); break;
      case 3: scores_rows<3>(qs, kb, hs, Tmax, n, e, lde); break;
      default: scores_rows<4>(qs, kb, hs, Tmax, n, e, lde); break;
    }
    for (int64_t r = 0; r < R; r++) softmax_weighted(e + r * lde, t0 + i + r, vb, out + (i + r) * ldo, hs);
  }
}

void attention_decode(const float* qkv, float* kc, float* vc, float* out, int64_t B, int64_t t, int64_t C, int64_t H,
                      int64_t Tmax) {
  const int64_t hs = C / H;
  const float scale = 1.0f / std::sqrt((float)hs);
  parallel_for(B * H, 8, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> e, acc;
    if ((int64_t)e.size() < t + 32) e.resize(t + 32);
    if ((int64_t)acc.size() < hs) acc.resize(hs);
    for (int64_t i = i0; i < i1; i++) {
      const int64_t b = i / H, h = i % H;
      const float* q = qkv + b * 3 * C + h * hs;
      float* kb = kc + i * Tmax * hs;  // (b, h, 0, 0)
      float* vb = vc + i * Tmax * hs;
      cache_write(q + C, q + 2 * C, kb, vb, t, hs, Tmax);
      attend(q, kb, vb, acc.data(), t, hs, Tmax, scale, e.data());
      std::memcpy(out + b * C + h * hs, acc.data(), hs * sizeof(float));
    }
  });
}

// ---------------------------------------------------------------- gpt_step

// Products run as sgemms of at most this many rows: OpenBLAS takes its
// unpacked small-matrix path for them (about 200 GFLOP/s here against
// 140-175 for the packed path at 32-64 rows, whose packing the few rows
// cannot amortize), and each block's output is still in L1 for its bias,
// GELU or residual.
const int64_t kRowBlock = 8;
// Rows (sequences x new tokens) a chunk aims at: every chunk streams all
// the weights once per layer, so chunks should be few; but at least one
// per thread, and more when there are many rows (prefill).
const int64_t kChunkRows = 128;

// One block's weights in the packed snapshot (kv_cache.ts), in this order;
// the linear weights transposed to (in, out).
struct BlockW {
  const float *ln1w, *ln1b;  // (C), (C)
  const float *wqkv, *bqkv;  // (C, 3C), (3C)
  const float *wproj, *bproj;  // (C, C), (C)
  const float *ln2w, *ln2b;  // (C), (C)
  const float *wfc, *bfc;    // (C, 4C), (4C)
  const float *wfc2, *bfc2;  // (4C, C), (C)
};

int64_t gpt_block_floats(int64_t C) { return 12 * C * C + 13 * C; }

static BlockW block_weights(const float* p, int64_t C) {
  BlockW w;
  auto take = [&](int64_t n) { const float* r = p; p += n; return r; };
  w.ln1w = take(C); w.ln1b = take(C);
  w.wqkv = take(3 * C * C); w.bqkv = take(3 * C);
  w.wproj = take(C * C); w.bproj = take(C);
  w.ln2w = take(C); w.ln2b = take(C);
  w.wfc = take(4 * C * C); w.bfc = take(4 * C);
  w.wfc2 = take(4 * C * C); w.bfc2 = take(C);
  return w;
}

// y (n, N) = x (n, K) @ W (K, N), in sgemms of kRowBlock rows; after each
// block, epi(row block start, rows, block output) runs on it while it is hot.
// With `tmp`, each block is written there (kRowBlock x N) instead of y.
template <class Epi>
static void linear(const float* x, const float* W, float* y, int64_t n, int64_t K, int64_t N, float* tmp, Epi epi) {
  for (int64_t r = 0; r < n; r += kRowBlock) {
    const int64_t m = n - r < kRowBlock ? n - r : kRowBlock;
    float* out = tmp ? tmp : y + r * N;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)N, (int)K, 1.0f, x + r * K, (int)K, W, (int)N,
                0.0f, out, (int)N);
    epi(r, m, out);
  }
}

// y += b row by row, then f(y) when gelu (the composed path's addBias, then unary gelu).
static inline void bias_rows(float* y, const float* b, int64_t m, int64_t N, bool gelu_after) {
  for (int64_t i = 0; i < m; i++) {
    float* yr = y + i * N;
    for (int64_t j = 0; j < N; j++) yr[j] += b[j];
    if (gelu_after) {
      int64_t j = 0;
      for (; j + 16 <= N; j += 16) store16(yr + j, gelu(load16(yr + j)));
      for (; j < N; j++) yr[j] = gelu(yr[j]);
    }
  }
}

// x (m, N) += (t + b): the composed path's addBias into the projection, then axpy into the residual.
static inline void residual_rows(float* x, float* t, const float* b, int64_t m, int64_t N) {
  for (int64_t i = 0; i < m; i++) {
    float* xr = x + i * N;
    float* tr = t + i * N;
    for (int64_t j = 0; j < N; j++) {
      tr[j] += b[j];
      xr[j] += tr[j];
    }
  }
}

// Sequences [b0, b1) through the whole model; see gpt_step.
static void gpt_chunk(const GptStep& s, int64_t b0, int64_t b1) {
  const int64_t C = s.C, H = s.H, hs = C / H, Lq = s.Lq, n = (b1 - b0) * Lq, Tmax = s.Tmax;
  const int64_t per = s.B * C * Tmax;  // one layer's keys (or values)
  const float scale = 1.0f / std::sqrt((float)hs);
  thread_local std::vector<float> buf;
  const size_t need = (size_t)(n * 10 * C + kRowBlock * 4 * C + 4 * (Tmax + 32));
  if (buf.size() < need) buf.resize(need);
  float* x = buf.data();     // (n, C) the residual stream
  float* h = x + n * C;      // (n, C) layernorm output
  float* qkv = h + n * C;    // (n, 3C)
  float* att = qkv + n * 3 * C;  // (n, C) attention output
  float* fc = att + n * C;   // (n, 4C)
  float* tmp = fc + n * 4 * C;  // (kRowBlock, 4C) one block of a projection before the residual add
  float* e = tmp + kRowBlock * 4 * C;  // (4, Tmax + 32) attention scores
  float mean, rstd;

  // x = wte[id] + wpe[position]
  for (int64_t r = 0; r < n; r++) {
    const float* te = s.wte + (int64_t)s.ids[b0 * Lq + r] * C;
    const float* pe = s.wpe + (s.t0 + r % Lq) * C;
    for (int64_t j = 0; j < C; j++) x[r * C + j] = te[j] + pe[j];
  }
  for (int64_t l = 0; l < s.L; l++) {
    const BlockW w = block_weights(s.blocks + l * gpt_block_floats(C), C);
    for (int64_t r = 0; r < n; r++) layernorm_row(x + r * C, w.ln1w, w.ln1b, h + r * C, C, s.eps, &mean, &rstd);
    linear(h, w.wqkv, qkv, n, C, 3 * C, nullptr, [&](int64_t, int64_t m, float* y) { bias_rows(y, w.bqkv, m, 3 * C, false); });
    // keys and values of the new positions into the cache, then each query over positions 0..its own
    float* kl = s.kc + l * per;
    float* vl = s.vc + l * per;
    for (int64_t b = b0; b < b1; b++) {
      for (int64_t hd = 0; hd < H; hd++) {
        float* kb = kl + (b * H + hd) * hs * Tmax;  // (hs, Tmax)
        float* vb = vl + (b * H + hd) * Tmax * hs;  // (Tmax, hs)
        const float* q0 = qkv + (b - b0) * Lq * 3 * C + hd * hs;
        for (int64_t i = 0; i < Lq; i++) cache_write(q0 + i * 3 * C + C, q0 + i * 3 * C + 2 * C, kb, vb, s.t0 + i, hs, Tmax);
        float* o = att + (b - b0) * Lq * C + hd * hs;
        if (Lq == 1) attend(q0, kb, vb, o, s.t0, hs, Tmax, scale, e);
        else attend_queries(q0, 3 * C, Lq, s.t0, kb, vb, o, C, hs, Tmax, scale, e);
      }
    }
    linear(att, w.wproj, nullptr, n, C, C, tmp, [&](int64_t r, int64_t m, float* y) { residual_rows(x + r * C, y, w.bproj, m, C); });
    for (int64_t r = 0; r < n; r++) layernorm_row(x + r * C, w.ln2w, w.ln2b, h + r * C, C, s.eps, &mean, &rstd);
    linear(h, w.wfc, fc, n, C, 4 * C, nullptr, [&](int64_t, int64_t m, float* y) { bias_rows(y, w.bfc, m, 4 * C, true); });
    linear(fc, w.wfc2, nullptr, n, 4 * C, C, tmp, [&](int64_t r, int64_t m, float* y) { residual_rows(x + r * C, y, w.bfc2, m, C); });
  }
  // logits of each sequence's last new position: ln_f, then the tied head (wte transposed)
  for (int64_t b = b0; b < b1; b++) {
    const int64_t r = (b - b0) * Lq + Lq - 1;
    layernorm_row(x + r * C, s.lnf, s.lnf + C, h + (b - b0) * C, C, s.eps, &mean, &rstd);
  }
  const int64_t nb = b1 - b0;
  linear(h, s.wteT, s.logits + b0 * s.V, nb, C, s.V, nullptr, [](int64_t, int64_t, float*) {});
}

void gpt_step(const GptStep& s) {
  const int64_t nthreads = pool().size();
  // sequences per chunk: about kChunkRows rows, and at least one chunk per
  // thread; a multiple of kRowBlock, so every chunk starts at a multiple of
  // kRowBlock rows (and of kRowBlock sequences, for the head): its 8-row
  // blocks are then the blocks of 8 from row 0 of the whole pass, and each
  // row is computed in the same sgemm shape on any number of threads
  int64_t seqs = (kChunkRows + s.Lq - 1) / s.Lq;
  const int64_t even = (s.B + nthreads - 1) / nthreads;
  if (seqs > even) seqs = even;
  seqs = (seqs + kRowBlock - 1) / kRowBlock * kRowBlock;
  const int64_t nchunks = (s.B + seqs - 1) / seqs;
  pool().run(nchunks, [&](int64_t c) {
    const int64_t b0 = c * seqs, b1 = b0 + seqs < s.B ? b0 + seqs : s.B;
    gpt_chunk(s, b0, b1);
  });
}

}  // namespace fw
