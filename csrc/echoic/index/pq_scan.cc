#include "echoic/index/pq_scan.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace echoic::index {

void AdcBoundTable::Build(const float* lut, size_t m) {
  usable = false;
  if (m == 0 || m > 257) return;
  q.resize(m * 256);
  base = 0.f;
  float range = 0.f, magnitude = 0.f;
  std::vector<float> lo(m);
  bool nan = false;
  for (size_t j = 0; j < m; ++j) {
    const float* l = lut + j * 256;
    float mn = l[0], mx = l[0];
#if defined(__aarch64__) && defined(__ARM_NEON)
    // A table is built per query: at 20,000 codes a scalar build was a tenth of the scan.
    float32x4_t vmn = vld1q_f32(l), vmx = vmn;
    uint32x4_t bad = vdupq_n_u32(0);
    for (size_t c = 0; c < 256; c += 4) {
      const float32x4_t v = vld1q_f32(l + c);
      bad = vorrq_u32(bad, vmvnq_u32(vceqq_f32(v, v)));  // NaN
      vmn = vminq_f32(vmn, v);
      vmx = vmaxq_f32(vmx, v);
    }
    nan |= vmaxvq_u32(bad) != 0;
    mn = vminvq_f32(vmn);
    mx = vmaxvq_f32(vmx);
#else
    for (size_t c = 0; c < 256; ++c) {
      nan |= !(l[c] == l[c]);
      mn = l[c] < mn ? l[c] : mn;
      mx = l[c] > mx ? l[c] : mx;
    }
#endif
    lo[j] = mn;
    base += mn;
    range = std::max(range, mx - mn);
    magnitude += std::max(std::fabs(mn), std::fabs(mx));
  }
  if (nan || !std::isfinite(base) || !std::isfinite(range) || !std::isfinite(magnitude)) return;
  step = range > 0.f ? range / 255.f : 1.f;
  const float inv = 1.f / step;
  // Entries rounded down, so that a quantized entry does not exceed the true one (but for
  // the rounding of the product, a fraction of an ulp that the slack covers).
  for (size_t j = 0; j < m; ++j) {
    const float* l = lut + j * 256;
    uint8_t* qj = q.data() + j * 256;
#if defined(__aarch64__) && defined(__ARM_NEON)
    const float32x4_t vlo = vdupq_n_f32(lo[j]), vinv = vdupq_n_f32(inv), top = vdupq_n_f32(255.f);
    for (size_t c = 0; c < 256; c += 16) {
      uint32x4_t w[4];
      for (int h = 0; h < 4; ++h) {
        const float32x4_t v = vmulq_f32(vsubq_f32(vld1q_f32(l + c + 4 * h), vlo), vinv);
        w[h] = vcvtmq_u32_f32(vminq_f32(v, top));  // floor; negatives (none: l >= lo) would give 0
      }
      const uint16x8_t a = vcombine_u16(vmovn_u32(w[0]), vmovn_u32(w[1]));
      const uint16x8_t b = vcombine_u16(vmovn_u32(w[2]), vmovn_u32(w[3]));
      vst1q_u8(qj + c, vcombine_u8(vmovn_u16(a), vmovn_u16(b)));
    }
#else
    for (size_t c = 0; c < 256; ++c) {
      const float v = std::floor((l[c] - lo[j]) * inv);
      qj[c] = static_cast<uint8_t>(std::min(255.f, std::max(0.f, v)));
    }
#endif
  }
  // Rounding: each float sum of m terms is off by at most ~m ulps of its magnitude, each
  // quantized entry by a fraction of an ulp of a step: 1e-4 of the magnitude is far more.
  slack = 1e-4f * (magnitude + step * 255.f * static_cast<float>(m)) + 1e-30f;
  usable = true;
}

}  // namespace echoic::index
