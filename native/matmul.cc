// Batched matmul over OpenBLAS sgemm.
//
// Threading: OpenBLAS runs single-threaded and our pool does the splitting,
// so one set of threads serves every kernel and nothing fights OpenBLAS's
// own spinning workers. A big product is cut into row (or column) panels,
// one sgemm each; a batch of small products is cut into sub-batches.
//
// The panels are a function of the product's shape, never of the thread
// count: OpenBLAS computes an element of C with the same operations only
// when it is called with the same panel (below 100^3 multiply-adds it takes
// its small-matrix kernels, which round differently), so one panel per
// thread would give different bits on different thread counts. On one
// thread the panels run in turn.
#include <cblas.h>

#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace fw {

// Below twice this many multiply-adds a product is one sgemm.
const int64_t kSplitMacs = 1 << 18;
// Panels per product: a power of two (so 2, 4 or 8 threads share them
// evenly), at most kMaxPanels, and no more than keep a panel kMinPanel rows
// (columns) long, beyond the first split: each panel repacks the operand the
// panels share (B for row panels), about 16/length of its multiply time.
#ifndef FW_MIN_PANEL
#define FW_MIN_PANEL 1024
#endif
#ifndef FW_MAX_PANELS
#define FW_MAX_PANELS 8
#endif
const int64_t kMinPanel = FW_MIN_PANEL;
const int64_t kMaxPanels = FW_MAX_PANELS;

// C (M, N, row stride ldc) = op(A) op(B) (+ C when beta = 1), one sgemm.
static inline void sgemm(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M,
                         int64_t N, int64_t K, bool transA, bool transB, float beta) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

// How a product is cut: row panels (rows of op(A)) when M >= N, else column
// panels (columns of op(B)), `per` long (a multiple of `align`; the last may
// be shorter), `count` of them. One panel: no split.
struct Panels {
  bool rows;
  int64_t per, count;
};

static Panels panels(int64_t M, int64_t N, int64_t K) {
  const bool rows = M >= N;
  const int64_t len = rows ? M : N, align = rows ? 16 : 32, macs = M * N * K;
  int64_t p = 1;
  while (2 * p <= kMaxPanels && len >= 2 * p * align && macs >= 2 * p * kSplitMacs && (p == 1 || len >= 2 * p * kMinPanel))
    p *= 2;
  const int64_t per = ((len + p - 1) / p + align - 1) / align * align;
  return {rows, per, (len + per - 1) / per};
}

// One product, cut into panels, one sgemm each, in parallel.
static void sgemm_split(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool transA,
                        bool transB, float beta, const Panels& P) {
  const int64_t lda = transA ? M : K, ldb = transB ? K : N;
  const int64_t len = P.rows ? M : N, per = P.per;
  pool().run(P.count, [&](int64_t p) {
    const int64_t i0 = p * per, n = len - i0 < per ? len - i0 : per;
    if (P.rows) sgemm(transA ? A + i0 : A + i0 * lda, lda, B, ldb, C + i0 * N, N, n, N, K, transA, transB, beta);
    else sgemm(A, lda, transB ? B + i0 * ldb : B + i0, ldb, C + i0, N, M, n, K, transA, transB, beta);
  });
}

void matmul(const float* A, const float* B, float* C, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA,
            bool transB, bool accumulate, int64_t strideA, int64_t strideB) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) std::memset(C, 0, (size_t)(batch * M * N) * sizeof(float));
    return;
  }
  const float beta = accumulate ? 1.0f : 0.0f;
  const int64_t macs = M * N * K;
  const Panels P = panels(M, N, K);
  if (P.count > 1) {
    for (int64_t b = 0; b < batch; b++)
      sgemm_split(A + b * strideA, B + b * strideB, C + b * M * N, M, N, K, transA, transB, beta, P);
    return;
  }
  // Small products: whole items per thread once the batch carries enough work.
  const int64_t grain = (kSplitMacs + macs - 1) / macs;
  parallel_for(batch, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++)
      sgemm(A + b * strideA, transA ? M : K, B + b * strideB, transB ? K : N, C + b * M * N, N, M, N, K, transA, transB,
            beta);
  });
}

}  // namespace fw
