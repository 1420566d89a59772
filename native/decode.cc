// One decoding step of causal attention with a KV cache (sampling): B
// sequences at position t, each head attends its query over the cached keys
// and values of positions 0..t. Heads are independent and spread over the
// pool. Keys are cached transposed (hs, Tmax) so the scores are a sum of hs
// vector FMAs over positions, with no horizontal reductions; values stay
// (Tmax, hs) so the output is a sum of rows.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"
#include "simd.h"

namespace fw {

void attention_decode(const float* qkv, float* kc, float* vc, float* out, int64_t B, int64_t t, int64_t C, int64_t H,
                      int64_t Tmax) {
  const int64_t hs = C / H;
  const float scale = 1.0f / std::sqrt((float)hs);
  parallel_for(B * H, 8, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> e, acc;
    if ((int64_t)e.size() < t + 16) e.resize(t + 16);
    if ((int64_t)acc.size() < hs) acc.resize(hs);
    for (int64_t i = i0; i < i1; i++) {
      const int64_t b = i / H, h = i % H;
      const float* q = qkv + b * 3 * C + h * hs;
      float* kb = kc + i * Tmax * hs;  // (b, h, 0, 0)
      float* vb = vc + i * Tmax * hs;
      for (int64_t j = 0; j < hs; j++) kb[j * Tmax + t] = q[C + j];  // keys transposed: (hs, Tmax)
      std::memcpy(vb + t * hs, q + 2 * C, hs * sizeof(float));
      // scores e[s] = scale * sum_j q[j] kT[j][s], vectorized over positions s
      float* es = e.data();
      int64_t s0 = 0;
      // blocks of 16 positions with the accumulator in a register; a block may read
      // cache columns past t (never past Tmax): those lanes are ignored
      for (; s0 <= t && s0 + 16 <= Tmax; s0 += 16) {
        v16 acc = {};
        for (int64_t j = 0; j < hs; j++) acc += (q[j] * scale) * load16(kb + j * Tmax + s0);
        store16(es + s0, acc);
      }
      for (int64_t s = s0; s <= t; s++) {
        float acc = 0;
        for (int64_t j = 0; j < hs; j++) acc += q[j] * kb[j * Tmax + s];
        es[s] = acc * scale;
      }
      // softmax numerators, 16 positions per vector
      const float mx = row_max(e.data(), t + 1);
      int64_t s = 0;
      for (; s + 16 <= t + 1; s += 16) store16(e.data() + s, fexp(load16(e.data() + s) - mx));
      for (; s <= t; s++) e[s] = std::exp(e[s] - mx);
      const float inv = 1.0f / row_sum(e.data(), t + 1);
      // out = sum_s p[s] v[s]  (vectorizes over hs)
      float* a = acc.data();
      for (int64_t j = 0; j < hs; j++) a[j] = 0;
      for (int64_t s2 = 0; s2 <= t; s2++) {
        const float p = e[s2] * inv;
        const float* v = vb + s2 * hs;
        for (int64_t j = 0; j < hs; j++) a[j] += p * v[j];
      }
      std::memcpy(out + b * C + h * hs, a, hs * sizeof(float));
    }
  });
}

}  // namespace fw
