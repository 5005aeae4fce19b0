// Inner loops of the index (distances, ADC accumulation) with a scalar version, an
// AVX2+FMA version (x86-64) and a NEON version (AArch64), picked once at run time from
// echoic::GetCpuFeatures().
#ifndef ECHOIC_INDEX_KERNELS_H_
#define ECHOIC_INDEX_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace echoic::index {

struct Kernels {
  const char* name;
  float (*l2sq)(const float* a, const float* b, size_t d);
  float (*dot)(const float* a, const float* b, size_t d);
  // Sum over m of lut[m * 256 + code[m]] (8-bit PQ codes, M sub-quantizers).
  float (*adc)(const float* lut, const uint8_t* code, size_t m);
  // adc() for n codes stored back to back with the given stride (bytes).
  void (*adc_batch)(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m, float* out);
  // One point against k centroids stored transposed (ct[t * k + j] = centroid j, dim t):
  // out[j] = |x - c_j|^2, or x . c_j. The layout vectorises across centroids, which
  // is what short PQ sub-vectors need.
  void (*l2sq_many)(const float* x, const float* ct, size_t d, size_t k, float* out);
  void (*dot_many)(const float* x, const float* ct, size_t d, size_t k, float* out);
  // 8-bit scalar codes: sum_t w[t] * code[t] (inner product after folding the step
  // into w) and sum_t (q[t] - step[t] * code[t])^2 (L2 after subtracting the minimum).
  float (*sq8_dot)(const float* w, const uint8_t* code, size_t d);
  float (*sq8_l2)(const float* q, const float* step, const uint8_t* code, size_t d);
  // One stored vector x against nq queries stored back to back (nq × d): x is loaded
  // once for several queries. out[b] = x . q_b, or |x - q_b|^2, bit-identical whatever
  // nq and b are (batched IVF assignment and probing rely on it).
  void (*dot_rows)(const float* x, const float* qs, size_t nq, size_t d, float* out);
  void (*l2sq_rows)(const float* x, const float* qs, size_t nq, size_t d, float* out);
  // Query against a stored float16 vector (exact re-ranking).
  float (*f16_l2sq)(const float* q, const uint16_t* h, size_t d);
  float (*f16_dot)(const float* q, const uint16_t* h, size_t d);
  // adc_batch over a one-byte table (qlut[j * 256 + c], m <= 257): out[i] = sum_j
  // qlut[j * 256 + code_i[j]]. Set only where it is much cheaper than adc_batch (NEON's
  // TBL looks up 16 codes per instruction; AVX2 has no 256-entry byte shuffle): scans
  // then use it as a lower bound to skip codes (pq_scan.h). nullptr elsewhere.
  void (*adc_bound_batch)(const uint8_t* qlut, const uint8_t* codes, size_t n, size_t stride, size_t m, uint16_t* out);
};

// The portable adc_bound_batch (tests give it to a copy of ScalarKernels() to run the
// bounded scan on any CPU).
void AdcBoundBatchScalar(const uint8_t* qlut, const uint8_t* codes, size_t n, size_t stride, size_t m, uint16_t* out);

const Kernels& ScalarKernels();
// nullptr when the CPU (or the compiler) lacks AVX2+FMA+F16C.
const Kernels* Avx2Kernels();
// nullptr unless compiled for AArch64 (where Advanced SIMD is baseline).
const Kernels* NeonKernels();
// The SIMD set this build and CPU offer (AVX2 or NEON), or nullptr.
const Kernels* SimdKernels();
// The kernels searches use: SimdKernels() when available unless ECHOIC_DISABLE_SIMD is
// set (then ScalarKernels()). Its name is what `echoic info` reports.
const Kernels& ActiveKernels();

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_KERNELS_H_
