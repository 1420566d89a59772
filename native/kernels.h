// The native kernels, on raw pointers, with the semantics of the `Kernels`
// interface in src/tensor/kernels/types.ts (same argument order). Backward
// kernels accumulate into their gradient outputs. Callers (addon.cc) check
// array lengths; these functions trust their sizes.
#pragma once

#include <cstdint>

namespace fw {

// Unary op codes, in the order of UNARY_OPS in types.ts.
enum UnaryOp { kGelu = 0, kRelu, kTanh, kExp, kLog, kNeg, kSqrt, kSquare, kNumUnary };
// Binary op codes, in the order of BINARY_OPS in types.ts.
enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kNumBinary };

// ---------------------------------------------------------------- matmul.cc
void matmul(const float* A, const float* B, float* C, int64_t batch, int64_t M, int64_t N, int64_t K,
            bool transA, bool transB, bool accumulate, int64_t strideA, int64_t strideB);

// ---------------------------------------------------------------- attention.cc
void attention(const float* qkv, float* out, float* att, int64_t B, int64_t T, int64_t C, int64_t H);
void attention_backward(const float* qkv, const float* att, const float* dout, float* dqkv,
                        int64_t B, int64_t T, int64_t C, int64_t H);
// Over packed rows: sequence s's position t is row rows[s*T + t] of qkv (R, 3C) and out (R, C);
// s computes its queries from q0[s] on (earlier positions are rows it shares with s-1).
void attention_rows(const float* qkv, float* out, float* att, const int32_t* rows, const int32_t* q0, int64_t B,
                    int64_t T, int64_t C, int64_t H);
// dqkv (R, 3C) += (or = without accumulate) the gradient.
void attention_rows_backward(const float* qkv, const float* att, const float* dout, float* dqkv, const int32_t* rows,
                             const int32_t* q0, int64_t B, int64_t T, int64_t C, int64_t H, bool accumulate);

// ---------------------------------------------------------------- decode.cc
void attention_decode(const float* qkv, float* kc, float* vc, float* out, int64_t B, int64_t t, int64_t C, int64_t H,
                      int64_t Tmax);

// One no-grad GPT pass over a KV cache (the optional gptStep kernel of
// types.ts): Lq new tokens for each of B sequences at positions t0..t0+Lq-1.
struct GptStep {
  const int32_t* ids;   // (B, Lq) token ids
  const float* wte;     // (V, C) token embeddings
  const float* wpe;     // (>= t0 + Lq, C) position embeddings
  const float* blocks;  // (L, gpt_block_floats(C)) packed block weights, layout in decode.cc (BlockW)
  const float* lnf;     // (2C) final LayerNorm weight, then bias
  const float* wteT;    // (C, V) the tied head, transposed
  float* kc;            // (L, B, H, hs, Tmax) cached keys, transposed per head
  float* vc;            // (L, B, H, Tmax, hs) cached values
  float* logits;        // (B, V) out: next-token logits at each sequence's last new position
  int64_t B, Lq, t0, C, H, L, V, Tmax;
  float eps;            // every LayerNorm's
};
int64_t gpt_block_floats(int64_t C);
void gpt_step(const GptStep& s);

// ---------------------------------------------------------------- kernels.cc
void unary(int op, const float* x, float* y, int64_t n);
void unary_backward(int op, const float* x, const float* y, const float* dy, float* dx, int64_t n);
// out = a (op) b where b repeats with period nb (nb divides n; nb == n is the same-shape case).
void binary_row(int op, const float* a, const float* b, float* out, int64_t n, int64_t nb);
// out = a (op) b where a repeats with period na.
void binary_row_a(int op, const float* a, const float* b, float* out, int64_t n, int64_t na);
void transpose(const float* x, float* out, int64_t rows, int64_t cols);
void scale(const float* x, float s, float* y, int64_t n);
void axpy(const float* dy, float s, float* dx, int64_t n);
void add_bias(float* y, const float* bias, int64_t rows, int64_t n);
void bias_backward(const float* dy, float* dBias, int64_t rows, int64_t n);
// y = gelu(x + bias); dgelu = gelu'(x + bias) when not null (may be x itself).
void bias_gelu(const float* x, const float* bias, float* y, float* dgelu, int64_t rows, int64_t n);
// dx = dy * dgelu (dx may be dy itself); dBias += sums of dx over rows.
void bias_gelu_backward(const float* dgelu, const float* dy, float* dx, float* dBias, int64_t rows, int64_t n);
// One row of layernorm, serial (gpt_step runs it inside its own chunks).
void layernorm_row(const float* xr, const float* w, const float* b, float* yr, int64_t n, float eps, float* mean,
                   float* rstd);
void layernorm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
               int64_t rows, int64_t n, float eps);
void layernorm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* dy,
                        float* dx, float* dw, float* db, int64_t rows, int64_t n);
void softmax(const float* x, float* y, int64_t rows, int64_t n, bool log);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n, bool log);
void embedding(const float* table, const int32_t* ids, float* out, int64_t n, int64_t dim);
void embedding_backward(const float* dOut, const int32_t* ids, float* dTable, int64_t n, int64_t dim);
void cross_entropy(const float* logits, const int32_t* targets, float* losses, int64_t rows, int64_t V,
                   float* dLogits, const float* gradScale, float* entropy);
void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double b1, double b2,
           double eps, double wd, double t);

}  // namespace fw
