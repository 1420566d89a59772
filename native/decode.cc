// One decoding step of causal attention with a KV cache (sampling): B
// sequences at position t, each head attends its query over the cached keys
// and values of positions 0..t. Heads are independent and spread over the
// pool; the inner loops run over hs contiguous floats and vectorize.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace fw {

void attention_decode(const float* qkv, float* kc, float* vc, float* out, int64_t B, int64_t t, int64_t C, int64_t H,
                      int64_t Tmax) {
  const int64_t hs = C / H;
  const float scale = 1.0f / std::sqrt((float)hs);
  parallel_for(B * H, 8, [&](int64_t i0, int64_t i1) {
    std::vector<float> e(t + 1);
    std::vector<float> acc(hs);
    for (int64_t i = i0; i < i1; i++) {
      const int64_t b = i / H, h = i % H;
      const float* q = qkv + b * 3 * C + h * hs;
      float* kb = kc + i * Tmax * hs;  // (b, h, 0, 0)
      float* vb = vc + i * Tmax * hs;
      std::memcpy(kb + t * hs, q + C, hs * sizeof(float));
      std::memcpy(vb + t * hs, q + 2 * C, hs * sizeof(float));
      float mx = -INFINITY;
      for (int64_t s = 0; s <= t; s++) {
        const float* k = kb + s * hs;
        float dot = 0;
        for (int64_t j = 0; j < hs; j++) dot += q[j] * k[j];
        e[s] = dot * scale;
        mx = e[s] > mx ? e[s] : mx;
      }
      float sum = 0;
      for (int64_t s = 0; s <= t; s++) {
        e[s] = std::exp(e[s] - mx);
        sum += e[s];
      }
      for (int64_t j = 0; j < hs; j++) acc[j] = 0;
      for (int64_t s = 0; s <= t; s++) {
        const float p = e[s];
        const float* v = vb + s * hs;
        for (int64_t j = 0; j < hs; j++) acc[j] += p * v[j];
      }
      const float inv = 1.0f / sum;
      float* o = out + b * C + h * hs;
      for (int64_t j = 0; j < hs; j++) o[j] = acc[j] * inv;
    }
  });
}

}  // namespace fw
