// Vector helpers and vectorizable math for the native kernels.
//
// v16 is a GCC vector of 16 floats: one AVX-512 register here (GCC splits
// it into narrower registers on machines without AVX-512). The scalar math
// functions below are branch-free so GCC vectorizes loops that call them;
// std::exp and std::erf would not vectorize without -ffast-math, which we
// do not use (softmax relies on -inf).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace fw {

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

static inline v16 load16(const float* p) { v16 v; std::memcpy(&v, p, sizeof v); return v; }
static inline void store16(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
static inline v16 splat16(float x) { return v16{} + x; }

// Horizontal sum and max as trees of shuffles: 4 dependent steps instead
// of 15, which matters in the attention softmax (one of each per row).
static inline v16 fold8(v16 v) { return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7); }
static inline v16 fold4(v16 v) { return __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11); }
static inline v16 fold2(v16 v) { return __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13); }
static inline v16 fold1(v16 v) { return __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14); }
static inline float hsum16(v16 v) {
  v += fold8(v);
  v += fold4(v);
  v += fold2(v);
  v += fold1(v);
  return v[0];
}
static inline v16 vmax(v16 a, v16 b) { return a > b ? a : b; }
static inline float hmax16(v16 v) {
  v = vmax(v, fold8(v));
  v = vmax(v, fold4(v));
  v = vmax(v, fold2(v));
  v = vmax(v, fold1(v));
  return v[0];
}

// The math below is written once for float and for v16 (GCC's vector
// extensions accept the same operators, including ?: on comparisons).
template <class F> static inline F cst(float c) { return F{} + c; }
static inline int32_t to_int(float x) { return (int32_t)x; }
static inline v16i to_int(v16 x) { return __builtin_convertvector(x, v16i); }
static inline float as_float(int32_t i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline v16 as_float(v16i i) { v16 f; std::memcpy(&f, &i, sizeof f); return f; }
template <class F> static inline F fabs_(F x) { return x < 0 ? -x : x; }

/**
 * exp(x) in float, about 1 ulp (Cephes expf polynomial). Returns 0 below
 * -87.3 (where exp(x) < 1.2e-38: no subnormals, which cost microcode
 * assists), +inf above 88.72, NaN for NaN.
 */
template <class F>
static inline F fexp(F x) {
  const float lo = -87.3f, hi = 88.72284f;
  F xc = x < lo ? cst<F>(lo) : x;
  xc = xc > hi ? cst<F>(hi) : xc;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (valid for |n| < 2^22).
  const float magic = 12582912.0f;
  F n = (xc * 1.44269504088896341f + magic) - magic;
  F r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  F p = cst<F>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n for n in [-126, 128] as 2^n1 * 2^n2, both factors normal floats.
  auto ni = to_int(n);
  auto n1 = ni >> 1, n2 = ni - n1;
  F y = p * as_float((n1 + 127) << 23) * as_float((n2 + 127) << 23);
  y = x < lo ? cst<F>(0.0f) : y;
  return x > hi ? cst<F>(INFINITY) : y;  // NaN falls through every test and stays NaN
}

const float kInvSqrt2 = 0.70710678118654752f;
const float kInvSqrt2Pi = 0.39894228040143268f;

/**
 * erfc(a) for a >= 0, Abramowitz & Stegun 7.1.26 (|erf error| < 1.5e-7, the
 * same formula as the reference kernels), given e = exp(-a*a).
 */
template <class F>
static inline F erfc_as(F a, F e) {
  F t = 1.0f / (1.0f + 0.3275911f * a);
  F p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  return p * e;
}

/** Phi(x), the standard normal CDF, without cancellation for x < 0; e = exp(-x*x/2). */
template <class F>
static inline F norm_cdf(F x, F e) {
  F c = 0.5f * erfc_as(fabs_(x) * kInvSqrt2, e);
  return x < 0 ? c : 1.0f - c;
}

/** Exact (erf) GELU: x * Phi(x). */
template <class F>
static inline F gelu(F x) {
  F e = fexp(-0.5f * x * x);
  return x * norm_cdf(x, e);
}

/** d/dx GELU = Phi(x) + x * phi(x). */
template <class F>
static inline F gelu_grad(F x) {
  F e = fexp(-0.5f * x * x);
  return norm_cdf(x, e) + x * kInvSqrt2Pi * e;
}

// ---------------------------------------------------------------- row reductions

static inline float row_max(const float* x, int64_t n) {
  int64_t j = 0;
  float m = -INFINITY;
  if (n >= 16) {
    v16 vm = load16(x);
    for (j = 16; j + 16 <= n; j += 16) {
      v16 v = load16(x + j);
      vm = v > vm ? v : vm;
    }
    m = hmax16(vm);
  }
  for (; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
}

static inline float row_sum(const float* x, int64_t n) {
  v16 a = {}, b = {};
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) { a += load16(x + j); b += load16(x + j + 16); }
  for (; j + 16 <= n; j += 16) a += load16(x + j);
  float s = hsum16(a + b);
  for (; j < n; j++) s += x[j];
  return s;
}

static inline float row_dot(const float* x, const float* y, int64_t n) {
  v16 a = {}, b = {};
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    a += load16(x + j) * load16(y + j);
    b += load16(x + j + 16) * load16(y + j + 16);
  }
  for (; j + 16 <= n; j += 16) a += load16(x + j) * load16(y + j);
  float s = hsum16(a + b);
  for (; j < n; j++) s += x[j] * y[j];
  return s;
}

}  // namespace fw
