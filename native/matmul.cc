// Batched matmul over OpenBLAS sgemm.
//
// Threading: OpenBLAS runs single-threaded and our pool does the splitting,
// so one set of threads serves every kernel and nothing fights OpenBLAS's
// own spinning workers. A big product is cut into row (or column) panels,
// one sgemm per thread; a batch of small products is cut into sub-batches.
#include <cblas.h>

#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace fw {

// Below this many multiply-adds one sgemm runs on the caller alone.
const int64_t kSplitMacs = 1 << 18;

// C (M, N, row stride ldc) = op(A) op(B) (+ C when beta = 1), one sgemm.
static inline void sgemm(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, int64_t M,
                         int64_t N, int64_t K, bool transA, bool transB, float beta) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

// One product, cut into panels of C, one sgemm per thread: row panels
// (rows of op(A)) when M >= N, else column panels (columns of op(B)).
static void sgemm_split(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool transA,
                        bool transB, float beta, int64_t nthreads) {
  const int64_t lda = transA ? M : K, ldb = transB ? K : N;
  const bool rows = M >= N;
  const int64_t len = rows ? M : N, align = rows ? 16 : 32;
  const int64_t per = ((len + nthreads - 1) / nthreads + align - 1) / align * align;
  pool().run((len + per - 1) / per, [&](int64_t p) {
    const int64_t i0 = p * per, n = len - i0 < per ? len - i0 : per;
    if (rows) sgemm(transA ? A + i0 : A + i0 * lda, lda, B, ldb, C + i0 * N, N, n, N, K, transA, transB, beta);
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
  const int64_t nthreads = pool().size();
  const int64_t macs = M * N * K;
  if (nthreads > 1 && macs >= kSplitMacs) {
    for (int64_t b = 0; b < batch; b++)
      sgemm_split(A + b * strideA, B + b * strideB, C + b * M * N, M, N, K, transA, transB, beta, nthreads);
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
