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

extern "C" void openblas_set_num_threads(int);

namespace fw {

// Below this many multiply-adds one sgemm runs on the caller alone.
const int64_t kSplitMacs = 1 << 18;

static inline void sgemm(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool transA,
                         bool transB, float beta) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, 1.0f, A, transA ? (int)M : (int)K, B, transB ? (int)K : (int)N, beta, C, (int)N);
}

// One product, split into panels over the pool.
static void sgemm_split(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, bool transA,
                        bool transB, float beta, int64_t nthreads) {
  const int64_t lda = transA ? M : K, ldb = transB ? K : N;
  if (M >= N) {
    // Row panels: rows [m0, m1) of op(A) and C.
    int64_t per = ((M + nthreads - 1) / nthreads + 15) & ~(int64_t)15;
    int64_t parts = (M + per - 1) / per;
    pool().run(parts, [&](int64_t p) {
      int64_t m0 = p * per, m = M - m0 < per ? M - m0 : per;
      const float* Ap = transA ? A + m0 : A + m0 * lda;
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)m,
                  (int)N, (int)K, 1.0f, Ap, (int)lda, B, (int)ldb, beta, C + m0 * N, (int)N);
    });
  } else {
    // Column panels: columns [n0, n1) of op(B) and C.
    int64_t per = ((N + nthreads - 1) / nthreads + 31) & ~(int64_t)31;
    int64_t parts = (N + per - 1) / per;
    pool().run(parts, [&](int64_t p) {
      int64_t n0 = p * per, n = N - n0 < per ? N - n0 : per;
      const float* Bp = transB ? B + n0 * ldb : B + n0;
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M,
                  (int)n, (int)K, 1.0f, A, (int)lda, Bp, (int)ldb, beta, C + n0, (int)N);
    });
  }
}

void matmul_set_threads(int n) {
  (void)n;
  openblas_set_num_threads(1);
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
    for (int64_t b = b0; b < b1; b++) sgemm(A + b * strideA, B + b * strideB, C + b * M * N, M, N, K, transA, transB, beta);
  });
}

}  // namespace fw
