// Fused causal self-attention over a packed qkv projection, forward and
// backward. There are B*H independent small problems (T = 64, hs = 16..32
// in our configs); the heads are spread over the pool, and each head runs
// as a handful of small matrix products on padded scratch copies:
//
//   forward   S = (scale Q) K^T,  P = causal softmax(S),  O = P V
//   backward  dP = dO V^T,  dS = P * (dP - rowsum(P * dP)) * scale,
//             dQ = dS K,  dK = dS^T Q,  dV = P^T dO
//
// S, P, dP and dS are kept transposed (keys by queries), so the softmax and
// the row sums run down columns, 16 queries per vector, with no horizontal
// reductions; att (queries by keys) is written by 16 x 16 transposes.
// Every product goes through one register-blocked micro-kernel (8 vector
// accumulators of 16 floats) and skips the blocks the causal mask zeroes.
// T is padded to Tp (a multiple of 16) and hs to hsp (a multiple of 16),
// with zeros, so the kernels need no edge cases.
//
// The same body runs over packed rows (attention_rows: sequences sharing a
// prefix, src/models/shared_prefix.ts): a sequence's positions are read
// from and written to the rows a map gives, and a sequence that shares its
// first q0 positions with the one before computes only the queries from
// q0 on (by 16-query blocks). The plain kernels are the identity layout.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"
#include "simd.h"

namespace fw {

static inline int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// C[r, 0:16*NV] = sum over k in [k0, k1) of a(r, k) * B[k, 0:16*NV], r in [0, R),
// where a(r, k) = A[r*lda + k], or A[k*lda + r] when TA.
template <int R, int NV, bool TA>
static inline void micro(const float* __restrict A, int64_t lda, const float* __restrict B, int64_t ldb,
                         float* __restrict C, int64_t ldc, int64_t k0, int64_t k1) {
  v16 c[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[r][v] = v16{};
  for (int64_t k = k0; k < k1; k++) {
    v16 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = load16(B + k * ldb + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const float a = TA ? A[k * lda + r] : A[r * lda + k];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[r][v] += a * b[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) store16(C + r * ldc + 16 * v, c[r][v]);
}

// C = a @ B over rows [r_begin, M) (both multiples of 8). For the block of 8
// rows at r0, only the 16-column vectors [v0, v1) = cols(r0) of C are
// computed, and k runs over krange(r0, rows) = [k0, k1).
template <bool TA, class Cols, class KRange>
static void tiles(int64_t M, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                  Cols cols, KRange krange, int64_t r_begin = 0) {
  for (int64_t r0 = r_begin; r0 < M; r0 += 8) {
    int64_t v, v1;
    cols(r0, v, v1);
    const float* Ar = TA ? A + r0 : A + r0 * lda;
    float* Cr = C + r0 * ldc;
    for (; v + 2 <= v1; v += 2) {
      for (int64_t h = 0; h < 8; h += 4) {
        int64_t k0, k1;
        krange(r0 + h, 4, k0, k1);
        micro<4, 2, TA>(TA ? Ar + h : Ar + h * lda, lda, B + 16 * v, ldb, Cr + h * ldc + 16 * v, ldc, k0, k1);
      }
    }
    if (v < v1) {
      int64_t k0, k1;
      krange(r0, 8, k0, k1);
      micro<8, 1, TA>(Ar, lda, B + 16 * v, ldb, Cr + 16 * v, ldc, k0, k1);
    }
  }
}

// Per-thread scratch, grown on demand and reused across calls.
static float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

static const v16i kIota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// dst[0, n) = src[0, n) * s, dst[n, np) = 0.
static inline void copy_pad(float* __restrict dst, const float* __restrict src, int64_t n, int64_t np, float s = 1.0f) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) store16(dst + i, load16(src + i) * s);
  for (; i < n; i++) dst[i] = src[i] * s;
  for (; i < np; i++) dst[i] = 0;
}

// dst[0, n) += src[0, n).
static inline void add_row(float* __restrict dst, const float* __restrict src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) store16(dst + i, load16(dst + i) + load16(src + i));
  for (; i < n; i++) dst[i] += src[i];
}

// One round of a 16x16 transpose: swaps the off-diagonal s x s blocks of
// every 2s x 2s block, for rows i and i+s.
#define FW_ROUND(s, lo0, lo1, lo2, lo3, lo4, lo5, lo6, lo7, lo8, lo9, lo10, lo11, lo12, lo13, lo14, lo15)  \
  for (int i = 0; i < 16; i++) {                                                                    \
    if (i & s) continue;                                                                            \
    v16 a = r[i], b = r[i + s];                                                                     \
    r[i] = __builtin_shufflevector(a, b, lo0, lo1, lo2, lo3, lo4, lo5, lo6, lo7, lo8, lo9, lo10, lo11, \
                                   lo12, lo13, lo14, lo15);                                         \
    r[i + s] = __builtin_shufflevector(a, b, lo0 + s, lo1 + s, lo2 + s, lo3 + s, lo4 + s, lo5 + s,  \
                                       lo6 + s, lo7 + s, lo8 + s, lo9 + s, lo10 + s, lo11 + s,      \
                                       lo12 + s, lo13 + s, lo14 + s, lo15 + s);                     \
  }

// dst (16 x 16, row stride ldd) = transpose of src (16 x 16, row stride lds).
static inline void transpose16(const float* __restrict src, int64_t lds, float* __restrict dst, int64_t ldd) {
  v16 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) r[i] = load16(src + i * lds);
  FW_ROUND(8, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
  FW_ROUND(4, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27)
  FW_ROUND(2, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)
  FW_ROUND(1, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30)
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) store16(dst + i * ldd, r[i]);
}
#undef FW_ROUND

// dst (cols, ldd) = transpose of src (rows, cols), row stride lds; rows and
// cols are multiples of 16.
static inline void transpose(const float* __restrict src, int64_t rows, int64_t cols, int64_t lds, float* __restrict dst,
                             int64_t ldd) {
  for (int64_t r = 0; r < rows; r += 16)
    for (int64_t c = 0; c < cols; c += 16) transpose16(src + r * lds + c, lds, dst + c * ldd + r, ldd);
}

// Column vectors [v0, v1) of the transposed scores a block of 8 rows (keys)
// at r0 needs: queries from the key's own 16-block (and from block j0) on.
static inline void upper_cols(int64_t r0, int64_t Tp, int64_t j0, int64_t& v0, int64_t& v1) {
  v0 = r0 / 16 > j0 ? r0 / 16 : j0;
  v1 = Tp / 16;
}

// Where sequence s's position t lives: row rows[s*T + t] of qkv / out (row
// s*T + t without a map), and the first position whose query s computes
// (q0[s]; 0 without q0). Positions before q0[s] are rows s shares with
// sequence s-1 (a group's shared prefix, computed by the group's first
// sequence); its keys and values are read, its queries are not s's.
struct Layout {
  const int32_t* rows;
  const int32_t* q0;
  int64_t T;
  int64_t row(int64_t s, int64_t t) const { return rows ? rows[s * T + t] : s * T + t; }
  int64_t first(int64_t s) const { return q0 ? q0[s] : 0; }
};

// The first sequence of each group (a run of sequences from one with q0 = 0
// to before the next), then B. A group's sequences share rows, so one task
// runs them in order (one head at a time): the backward sums the shared
// rows' gradients without races, and each sequence reuses the keys and
// values it shares with the one before, already in the task's scratch.
static std::vector<int64_t> groups(const Layout& L, int64_t B) {
  std::vector<int64_t> starts;
  for (int64_t s = 0; s < B; s++)
    if (s == 0 || L.first(s) == 0) starts.push_back(s);
  starts.push_back(B);
  return starts;
}

// Forward for sequence s, head h; scratch from attention_layout. The
// scratch keys and values of positions before `reuse` are already s's (the
// sequence before, run last on this scratch, shares them).
static void attention_head(const float* qkv, float* out, float* att, const Layout& L, int64_t s, int64_t h, int64_t H,
                           int64_t C, float* Q, int64_t reuse) {
  const int64_t T = L.T, hs = C / H, C3 = 3 * C, Tp = round16(T), hsp = round16(hs);
  const float scale = 1.0f / std::sqrt((float)hs);
  float* K = Q + Tp * hsp;    // (Tp, hsp)
  float* V = K + Tp * hsp;    // (Tp, hsp)
  float* Qt = V + Tp * hsp;   // (hsp, Tp)
  float* O = Qt + hsp * Tp;   // (Tp, hsp)
  float* St = O + Tp * hsp;   // (Tp keys, Tp queries): scores, then probabilities
  float* Pa = St + Tp * Tp;   // (Tp, Tp) probabilities by query, when T is not a multiple of 16
  const int64_t qs = L.first(s), j0 = qs / 16;  // queries from qs on, by 16-blocks from j0
  float* a = att + (s * H + h) * T * T;
  if (qs >= T) {
    std::memset(a, 0, (size_t)(T * T) * sizeof(float));
    return;
  }
  for (int64_t t = 0; t < T; t++) {
    const float* q = qkv + L.row(s, t) * C3 + h * hs;
    if (t >= 16 * j0) copy_pad(Q + t * hsp, q, hs, hsp, scale);  // earlier queries are not computed
    if (t < reuse) continue;
    copy_pad(K + t * hsp, q + C, hs, hsp);
    copy_pad(V + t * hsp, q + 2 * C, hs, hsp);
  }
  transpose(Q, Tp, hsp, hsp, Qt, Tp);
  // St = K (scale Q)^T: keys by queries, upper block triangle only.
  tiles<false>(Tp, K, hsp, Qt, Tp, St, Tp, [&](int64_t r0, int64_t& v0, int64_t& v1) { upper_cols(r0, Tp, j0, v0, v1); },
               [&](int64_t, int64_t, int64_t& k0, int64_t& k1) { k0 = 0; k1 = hs; });
  // Causal softmax down each column (query) of St, 16 queries at a time:
  // all vertical vector ops, no horizontal reductions.
  const v16 ninf = splat16(-INFINITY);
  for (int64_t j = j0; j < Tp / 16; j++) {
    const int64_t c = 16 * j, n = min64(c + 16, T);  // keys 0..n-1 can be seen by these queries
    const v16i q = kIota + (int32_t)c;                // query index per lane
    v16 mv = ninf;
    for (int64_t k = 0; k < n; k++) {
      v16 x = load16(St + k * Tp + c);
      if (k >= c) x = q >= (int32_t)k ? x : ninf;
      mv = vmax(mv, x);
    }
    v16 sum = {};
    for (int64_t k = 0; k < n; k++) {
      v16 e = fexp(load16(St + k * Tp + c) - mv);
      if (k >= c) e = q >= (int32_t)k ? e : v16{};
      store16(St + k * Tp + c, e);
      sum += e;
    }
    const v16 inv = 1.0f / sum;
    for (int64_t k = 0; k < n; k++) store16(St + k * Tp + c, load16(St + k * Tp + c) * inv);
  }
  // att (queries by keys) = St^T, by 16 x 16 blocks; blocks past the diagonal
  // and rows of queries before qs are 0.
  const bool direct = T % 16 == 0;
  float* dst = direct ? a : Pa;
  const int64_t ldd = direct ? T : Tp;
  for (int64_t j = 0; j < Tp / 16; j++)
    for (int64_t i = 0; i < Tp / 16; i++) {
      if (i <= j && j >= j0) transpose16(St + 16 * i * Tp + 16 * j, Tp, dst + 16 * j * ldd + 16 * i, ldd);
      else
        for (int64_t r = 0; r < 16; r++) store16(dst + (16 * j + r) * ldd + 16 * i, v16{});
    }
  for (int64_t t = 16 * j0; t < qs; t++) std::memset(dst + t * ldd, 0, (size_t)T * sizeof(float));
  if (!direct)
    for (int64_t t = 0; t < T; t++) copy_pad(a + t * T, Pa + t * Tp, T, T);
  // O = P V with P read from St (transposed); query t needs keys <= t.
  tiles<true>(Tp, St, Tp, V, hsp, O, hsp, [&](int64_t, int64_t& v0, int64_t& v1) { v0 = 0; v1 = hsp / 16; },
              [&](int64_t r0, int64_t rows, int64_t& k0, int64_t& k1) { k0 = 0; k1 = min64(r0 + rows, T); }, 16 * j0);
  for (int64_t t = qs; t < T; t++) copy_pad(out + L.row(s, t) * C + h * hs, O + t * hsp, hs, hs);
}

static void attention_layout(const float* qkv, float* out, float* att, const Layout& L, int64_t B, int64_t C,
                             int64_t H) {
  const int64_t Tp = round16(L.T), hsp = round16(C / H);
  const std::vector<int64_t> starts = groups(L, B);
  const int64_t G = (int64_t)starts.size() - 1;
  parallel_for(G * H, 1, [&](int64_t gh0, int64_t gh1) {
    float* Q = scratch((size_t)(5 * Tp * hsp + 2 * Tp * Tp));
    // Padding rows stay zero across heads.
    for (int m = 0; m < 3; m++) std::memset(Q + m * Tp * hsp + L.T * hsp, 0, (size_t)((Tp - L.T) * hsp) * sizeof(float));
    for (int64_t gh = gh0; gh < gh1; gh++) {
      const int64_t g = gh / H, h = gh % H;
      for (int64_t s = starts[g]; s < starts[g + 1]; s++)
        attention_head(qkv, out, att, L, s, h, H, C, Q, s == starts[g] ? 0 : L.first(s));
    }
  });
}

void attention(const float* qkv, float* out, float* att, int64_t B, int64_t T, int64_t C, int64_t H) {
  attention_layout(qkv, out, att, Layout{nullptr, nullptr, T}, B, C, H);
}

void attention_rows(const float* qkv, float* out, float* att, const int32_t* rows, const int32_t* q0, int64_t B,
                    int64_t T, int64_t C, int64_t H) {
  attention_layout(qkv, out, att, Layout{rows, q0, T}, B, C, H);
}

// Backward for sequence s, head h, accumulating into dqkv; scratch from
// attention_backward_layout. Query positions before q0[s] are not s's: their
// dO is taken as 0, so they add nothing, and their dq is left alone.
static void attention_head_backward(const float* qkv, const float* att, const float* dout, float* dqkv,
                                    const Layout& L, int64_t s, int64_t h, int64_t H, int64_t C, float* Q, int64_t reuse) {
  const int64_t T = L.T, hs = C / H, C3 = 3 * C, Tp = round16(T), hsp = round16(hs);
  const float scale = 1.0f / std::sqrt((float)hs);
  float* K = Q + Tp * hsp;     // (Tp, hsp)
  float* V = K + Tp * hsp;     // (Tp, hsp)
  float* dO = V + Tp * hsp;    // (Tp, hsp)
  float* dQ = dO + Tp * hsp;   // (Tp, hsp)
  float* dK = dQ + Tp * hsp;   // (Tp, hsp)
  float* dV = dK + Tp * hsp;   // (Tp, hsp)
  float* dOt = dV + Tp * hsp;  // (hsp, Tp)
  float* Pt = dOt + hsp * Tp;  // (Tp keys, Tp queries)
  float* dSt = Pt + Tp * Tp;   // (Tp keys, Tp queries): dP^T, then dS^T
  float* Pa = dSt + Tp * Tp;   // (Tp, Tp) padded copy of att, when T is not a multiple of 16
  const int64_t qs = L.first(s), j0 = qs / 16;
  if (qs >= T) return;
  for (int64_t t = 0; t < T; t++) {
    const float* q = qkv + L.row(s, t) * C3 + h * hs;
    if (t >= 16 * j0) copy_pad(Q + t * hsp, q, hs, hsp);  // only computed queries' rows are read
    if (t >= reuse) {
      copy_pad(K + t * hsp, q + C, hs, hsp);
      copy_pad(V + t * hsp, q + 2 * C, hs, hsp);
    }
    if (t >= qs) copy_pad(dO + t * hsp, dout + L.row(s, t) * C + h * hs, hs, hsp);
    else std::memset(dO + t * hsp, 0, (size_t)hsp * sizeof(float));
  }
  transpose(dO, Tp, hsp, hsp, dOt, Tp);
  const float* a = att + (s * H + h) * T * T;
  if (T % 16 == 0) {
    transpose(a, T, T, T, Pt, Tp);
  } else {
    for (int64_t t = 0; t < T; t++) copy_pad(Pa + t * Tp, a + t * T, T, Tp);
    transpose(Pa, Tp, Tp, Tp, Pt, Tp);
  }
  // dP^T = V dO^T: keys by queries, upper block triangle only.
  tiles<false>(Tp, V, hsp, dOt, Tp, dSt, Tp, [&](int64_t r0, int64_t& v0, int64_t& v1) { upper_cols(r0, Tp, j0, v0, v1); },
               [&](int64_t, int64_t, int64_t& k0, int64_t& k1) { k0 = 0; k1 = hs; });
  // dS = P * (dP - sum over keys of P * dP) * scale, down each column of
  // the transposed matrices, 16 queries at a time. P^T is 0 below the diagonal.
  for (int64_t j = j0; j < Tp / 16; j++) {
    const int64_t c = 16 * j, n = min64(c + 16, T);
    v16 dot = {};
    for (int64_t k = 0; k < n; k++) dot += load16(Pt + k * Tp + c) * load16(dSt + k * Tp + c);
    for (int64_t k = 0; k < n; k++)
      store16(dSt + k * Tp + c, load16(Pt + k * Tp + c) * (load16(dSt + k * Tp + c) - dot) * scale);
  }
  const int64_t c0 = 16 * j0;  // the first query column computed
  const auto allCols = [&](int64_t, int64_t& v0, int64_t& v1) { v0 = 0; v1 = hsp / 16; };
  const auto upToDiag = [&](int64_t r0, int64_t rows, int64_t& k0, int64_t& k1) { k0 = 0; k1 = min64(r0 + rows, T); };
  const auto fromDiag = [&](int64_t r0, int64_t, int64_t& k0, int64_t& k1) { k0 = r0 > c0 ? r0 : c0; k1 = T; };
  tiles<true>(Tp, dSt, Tp, K, hsp, dQ, hsp, allCols, upToDiag, c0);  // dQ = dS K
  tiles<false>(Tp, dSt, Tp, Q, hsp, dK, hsp, allCols, fromDiag);     // dK = dS^T Q
  tiles<false>(Tp, Pt, Tp, dO, hsp, dV, hsp, allCols, fromDiag);     // dV = P^T dO
  for (int64_t t = 0; t < T; t++) {
    float* g = dqkv + L.row(s, t) * C3 + h * hs;
    if (t >= qs) add_row(g, dQ + t * hsp, hs);
    add_row(g + C, dK + t * hsp, hs);
    add_row(g + 2 * C, dV + t * hsp, hs);
  }
}

// Groups and heads run in parallel (see groups()). Without accumulate, a
// task first zeroes its head's columns of the rows its sequences own
// (positions from q0 on): every row is owned once.
static void attention_backward_layout(const float* qkv, const float* att, const float* dout, float* dqkv,
                                      const Layout& L, int64_t B, int64_t C, int64_t H, bool accumulate) {
  const int64_t T = L.T, hs = C / H, C3 = 3 * C, Tp = round16(T), hsp = round16(hs);
  const std::vector<int64_t> starts = groups(L, B);
  const int64_t G = (int64_t)starts.size() - 1;
  parallel_for(G * H, 1, [&](int64_t gh0, int64_t gh1) {
    float* Q = scratch((size_t)(8 * Tp * hsp + 3 * Tp * Tp));
    // Padding rows stay zero across heads.
    for (int m = 0; m < 4; m++) std::memset(Q + m * Tp * hsp + T * hsp, 0, (size_t)((Tp - T) * hsp) * sizeof(float));
    float* Pa = Q + 8 * Tp * hsp + 2 * Tp * Tp;
    std::memset(Pa + T * Tp, 0, (size_t)((Tp - T) * Tp) * sizeof(float));
    for (int64_t gh = gh0; gh < gh1; gh++) {
      const int64_t g = gh / H, h = gh % H;
      if (!accumulate)
        for (int64_t s = starts[g]; s < starts[g + 1]; s++)
          for (int64_t t = L.first(s); t < T; t++) {
            float* r = dqkv + L.row(s, t) * C3 + h * hs;
            for (int64_t part = 0; part < 3; part++) std::memset(r + part * C, 0, (size_t)hs * sizeof(float));
          }
      for (int64_t s = starts[g]; s < starts[g + 1]; s++)
        attention_head_backward(qkv, att, dout, dqkv, L, s, h, H, C, Q, s == starts[g] ? 0 : L.first(s));
    }
  });
}

void attention_backward(const float* qkv, const float* att, const float* dout, float* dqkv, int64_t B, int64_t T,
                        int64_t C, int64_t H) {
  attention_backward_layout(qkv, att, dout, dqkv, Layout{nullptr, nullptr, T}, B, C, H, true);
}

void attention_rows_backward(const float* qkv, const float* att, const float* dout, float* dqkv, const int32_t* rows,
                             const int32_t* q0, int64_t B, int64_t T, int64_t C, int64_t H, bool accumulate) {
  attention_backward_layout(qkv, att, dout, dqkv, Layout{rows, q0, T}, B, C, H, accumulate);
}

}  // namespace fw
