#include "echoic/index/kernels.h"

#include <cstdlib>

#include "echoic/index/float16.h"
#include "echoic/runtime/system_info.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define ECHOIC_INDEX_HAVE_AVX2 1
#include <cpuid.h>
#include <immintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define ECHOIC_INDEX_HAVE_NEON 1
#include <arm_neon.h>
#endif

namespace echoic::index {
namespace {

float L2Scalar(const float* a, const float* b, size_t d) {
  float s = 0.f;
  for (size_t i = 0; i < d; ++i) {
    float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

float DotScalar(const float* a, const float* b, size_t d) {
  float s = 0.f;
  for (size_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

float AdcScalar(const float* lut, const uint8_t* code, size_t m) {
  // Independent partial sums: one chain of dependent adds would bound the loop.
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
  size_t j = 0;
  for (; j + 4 <= m; j += 4) {
    s0 += lut[j * 256 + code[j]];
    s1 += lut[(j + 1) * 256 + code[j + 1]];
    s2 += lut[(j + 2) * 256 + code[j + 2]];
    s3 += lut[(j + 3) * 256 + code[j + 3]];
  }
  for (; j < m; ++j) s0 += lut[j * 256 + code[j]];
  return (s0 + s1) + (s2 + s3);
}

// Four codes at a time with interleaved table loads. Measured on AMD EPYC (Zen):
// 6-8 ns per 32-byte code, against 14-15 ns for 8-wide AVX2 gathers, so both
// kernel tables scan batches this way; the AVX2 gather kernel serves single codes.
inline void AdcBatchInterleaved(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m, float* out) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t* a = codes + i * stride;
    const uint8_t* b = a + stride;
    const uint8_t* c = b + stride;
    const uint8_t* d = c + stride;
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f, t0 = 0.f, t1 = 0.f, t2 = 0.f, t3 = 0.f;
    size_t j = 0;
    for (; j + 2 <= m; j += 2) {
      const float* l = lut + j * 256;
      s0 += l[a[j]];
      s1 += l[b[j]];
      s2 += l[c[j]];
      s3 += l[d[j]];
      t0 += l[256 + a[j + 1]];
      t1 += l[256 + b[j + 1]];
      t2 += l[256 + c[j + 1]];
      t3 += l[256 + d[j + 1]];
    }
    for (; j < m; ++j) {
      const float* l = lut + j * 256;
      s0 += l[a[j]];
      s1 += l[b[j]];
      s2 += l[c[j]];
      s3 += l[d[j]];
    }
    out[i] = s0 + t0;
    out[i + 1] = s1 + t1;
    out[i + 2] = s2 + t2;
    out[i + 3] = s3 + t3;
  }
  for (; i < n; ++i) out[i] = AdcScalar(lut, codes + i * stride, m);
}

void AdcBatchScalar(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m, float* out) {
  AdcBatchInterleaved(lut, codes, n, stride, m, out);
}

void L2ManyScalar(const float* x, const float* ct, size_t d, size_t k, float* out) {
  for (size_t j = 0; j < k; ++j) out[j] = 0.f;
  for (size_t t = 0; t < d; ++t) {
    const float xv = x[t];
    const float* row = ct + t * k;
    for (size_t j = 0; j < k; ++j) {
      float diff = xv - row[j];
      out[j] += diff * diff;
    }
  }
}

void DotManyScalar(const float* x, const float* ct, size_t d, size_t k, float* out) {
  for (size_t j = 0; j < k; ++j) out[j] = 0.f;
  for (size_t t = 0; t < d; ++t) {
    const float xv = x[t];
    const float* row = ct + t * k;
    for (size_t j = 0; j < k; ++j) out[j] += xv * row[j];
  }
}

float Sq8DotScalar(const float* w, const uint8_t* code, size_t d) {
  float s = 0.f;
  for (size_t t = 0; t < d; ++t) s += w[t] * code[t];
  return s;
}

float Sq8L2Scalar(const float* q, const float* step, const uint8_t* code, size_t d) {
  float s = 0.f;
  for (size_t t = 0; t < d; ++t) {
    float diff = q[t] - step[t] * code[t];
    s += diff * diff;
  }
  return s;
}

void DotRowsScalar(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  for (size_t b = 0; b < nq; ++b) out[b] = DotScalar(x, qs + b * d, d);
}

void L2RowsScalar(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  for (size_t b = 0; b < nq; ++b) out[b] = L2Scalar(x, qs + b * d, d);
}

float F16L2Scalar(const float* q, const uint16_t* h, size_t d) {
  float s = 0.f;
  for (size_t t = 0; t < d; ++t) {
    float diff = q[t] - HalfToFloat(h[t]);
    s += diff * diff;
  }
  return s;
}

float F16DotScalar(const float* q, const uint16_t* h, size_t d) {
  float s = 0.f;
  for (size_t t = 0; t < d; ++t) s += q[t] * HalfToFloat(h[t]);
  return s;
}

#ifdef ECHOIC_INDEX_HAVE_AVX2
#define ECHOIC_AVX2 __attribute__((target("avx2,fma,f16c")))

ECHOIC_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

ECHOIC_AVX2 float L2Avx2(const float* a, const float* b, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(t0, t0, acc0);
    acc1 = _mm256_fmadd_ps(t1, t1, acc1);
  }
  for (; i + 8 <= d; i += 8) {
    __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(t, t, acc0);
  }
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < d; ++i) {
    float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

ECHOIC_AVX2 float DotAvx2(const float* a, const float* b, size_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= d; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < d; ++i) s += a[i] * b[i];
  return s;
}

// Eight sub-quantizers per step: widen 8 codes to int32, add the table offsets
// m*256, gather the 8 table entries.
ECHOIC_AVX2 float AdcAvx2(const float* lut, const uint8_t* code, size_t m) {
  const __m256i step = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
  __m256 acc = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    __m128i c8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + j));
    __m256i idx = _mm256_add_epi32(_mm256_cvtepu8_epi32(c8), step);
    acc = _mm256_add_ps(acc, _mm256_i32gather_ps(lut + j * 256, idx, 4));
  }
  float s = HorizontalSum(acc);
  for (; j < m; ++j) s += lut[j * 256 + code[j]];
  return s;
}

ECHOIC_AVX2 void AdcBatchAvx2(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m, float* out) {
  AdcBatchInterleaved(lut, codes, n, stride, m, out);
}

// 32 centroids per pass: four independent accumulators hide the FMA latency, which
// bounds a single dependent chain over long d (IVF probing: d = 256, k = lists).
ECHOIC_AVX2 void L2ManyAvx2(const float* x, const float* ct, size_t d, size_t k, float* out) {
  size_t j = 0;
  for (; j + 32 <= k; j += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t t = 0; t < d; ++t) {
      const __m256 xv = _mm256_set1_ps(x[t]);
      const float* row = ct + t * k + j;
      __m256 e0 = _mm256_sub_ps(xv, _mm256_loadu_ps(row));
      __m256 e1 = _mm256_sub_ps(xv, _mm256_loadu_ps(row + 8));
      __m256 e2 = _mm256_sub_ps(xv, _mm256_loadu_ps(row + 16));
      __m256 e3 = _mm256_sub_ps(xv, _mm256_loadu_ps(row + 24));
      a0 = _mm256_fmadd_ps(e0, e0, a0);
      a1 = _mm256_fmadd_ps(e1, e1, a1);
      a2 = _mm256_fmadd_ps(e2, e2, a2);
      a3 = _mm256_fmadd_ps(e3, e3, a3);
    }
    _mm256_storeu_ps(out + j, a0);
    _mm256_storeu_ps(out + j + 8, a1);
    _mm256_storeu_ps(out + j + 16, a2);
    _mm256_storeu_ps(out + j + 24, a3);
  }
  for (; j + 8 <= k; j += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t t = 0; t < d; ++t) {
      __m256 diff = _mm256_sub_ps(_mm256_set1_ps(x[t]), _mm256_loadu_ps(ct + t * k + j));
      acc = _mm256_fmadd_ps(diff, diff, acc);
    }
    _mm256_storeu_ps(out + j, acc);
  }
  for (; j < k; ++j) {
    float s = 0.f;
    for (size_t t = 0; t < d; ++t) {
      float diff = x[t] - ct[t * k + j];
      s += diff * diff;
    }
    out[j] = s;
  }
}

ECHOIC_AVX2 void DotManyAvx2(const float* x, const float* ct, size_t d, size_t k, float* out) {
  size_t j = 0;
  for (; j + 32 <= k; j += 32) {  // as L2ManyAvx2: four chains in flight
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t t = 0; t < d; ++t) {
      const __m256 xv = _mm256_set1_ps(x[t]);
      const float* row = ct + t * k + j;
      a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row), a0);
      a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 8), a1);
      a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 16), a2);
      a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row + 24), a3);
    }
    _mm256_storeu_ps(out + j, a0);
    _mm256_storeu_ps(out + j + 8, a1);
    _mm256_storeu_ps(out + j + 16, a2);
    _mm256_storeu_ps(out + j + 24, a3);
  }
  for (; j + 8 <= k; j += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t t = 0; t < d; ++t) acc = _mm256_fmadd_ps(_mm256_set1_ps(x[t]), _mm256_loadu_ps(ct + t * k + j), acc);
    _mm256_storeu_ps(out + j, acc);
  }
  for (; j < k; ++j) {
    float s = 0.f;
    for (size_t t = 0; t < d; ++t) s += x[t] * ct[t * k + j];
    out[j] = s;
  }
}

// Eight codes per step: widen u8 -> i32 -> float.
ECHOIC_AVX2 inline __m256 LoadCodes8(const uint8_t* code) {
  __m128i c8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(code));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c8));
}

ECHOIC_AVX2 float Sq8DotAvx2(const float* w, const uint8_t* code, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  size_t t = 0;
  for (; t + 8 <= d; t += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + t), LoadCodes8(code + t), acc);
  float s = HorizontalSum(acc);
  for (; t < d; ++t) s += w[t] * code[t];
  return s;
}

ECHOIC_AVX2 float Sq8L2Avx2(const float* q, const float* step, const uint8_t* code, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256 diff = _mm256_fnmadd_ps(_mm256_loadu_ps(step + t), LoadCodes8(code + t), _mm256_loadu_ps(q + t));
    acc = _mm256_fmadd_ps(diff, diff, acc);
  }
  float s = HorizontalSum(acc);
  for (; t < d; ++t) {
    float diff = q[t] - step[t] * code[t];
    s += diff * diff;
  }
  return s;
}

// Four queries per pass share each load of x.
template <bool kL2>
ECHOIC_AVX2 void RowsAvx2(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  size_t b = 0;
  for (; b + 4 <= nq; b += 4) {
    const float* q0 = qs + b * d;
    const float* q1 = q0 + d;
    const float* q2 = q1 + d;
    const float* q3 = q2 + d;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t t = 0;
    for (; t + 8 <= d; t += 8) {
      __m256 xv = _mm256_loadu_ps(x + t);
      if (kL2) {
        __m256 e0 = _mm256_sub_ps(xv, _mm256_loadu_ps(q0 + t));
        __m256 e1 = _mm256_sub_ps(xv, _mm256_loadu_ps(q1 + t));
        __m256 e2 = _mm256_sub_ps(xv, _mm256_loadu_ps(q2 + t));
        __m256 e3 = _mm256_sub_ps(xv, _mm256_loadu_ps(q3 + t));
        a0 = _mm256_fmadd_ps(e0, e0, a0);
        a1 = _mm256_fmadd_ps(e1, e1, a1);
        a2 = _mm256_fmadd_ps(e2, e2, a2);
        a3 = _mm256_fmadd_ps(e3, e3, a3);
      } else {
        a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(q0 + t), a0);
        a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(q1 + t), a1);
        a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(q2 + t), a2);
        a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(q3 + t), a3);
      }
    }
    float r[4] = {HorizontalSum(a0), HorizontalSum(a1), HorizontalSum(a2), HorizontalSum(a3)};
    const float* qq[4] = {q0, q1, q2, q3};
    for (; t < d; ++t)
      for (int i = 0; i < 4; ++i) r[i] += kL2 ? (x[t] - qq[i][t]) * (x[t] - qq[i][t]) : x[t] * qq[i][t];
    for (int i = 0; i < 4; ++i) out[b + i] = r[i];
  }
  // The remaining queries take the same arithmetic as one lane above (not L2Avx2/
  // DotAvx2, which sum in another order): a query's result never depends on its
  // position in the block, so batching does not change IVF assignments or probes.
  for (; b < nq; ++b) {
    const float* q = qs + b * d;
    __m256 a = _mm256_setzero_ps();
    size_t t = 0;
    for (; t + 8 <= d; t += 8) {
      __m256 xv = _mm256_loadu_ps(x + t);
      if (kL2) {
        __m256 e = _mm256_sub_ps(xv, _mm256_loadu_ps(q + t));
        a = _mm256_fmadd_ps(e, e, a);
      } else {
        a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(q + t), a);
      }
    }
    float r = HorizontalSum(a);
    for (; t < d; ++t) r += kL2 ? (x[t] - q[t]) * (x[t] - q[t]) : x[t] * q[t];
    out[b] = r;
  }
}

ECHOIC_AVX2 void DotRowsAvx2(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  RowsAvx2<false>(x, qs, nq, d, out);
}
ECHOIC_AVX2 void L2RowsAvx2(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  RowsAvx2<true>(x, qs, nq, d, out);
}

ECHOIC_AVX2 float F16L2Avx2(const float* q, const uint16_t* h, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + t)));
    __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(q + t), v);
    acc = _mm256_fmadd_ps(diff, diff, acc);
  }
  float s = HorizontalSum(acc);
  for (; t < d; ++t) {
    float diff = q[t] - HalfToFloat(h[t]);
    s += diff * diff;
  }
  return s;
}

ECHOIC_AVX2 float F16DotAvx2(const float* q, const uint16_t* h, size_t d) {
  __m256 acc = _mm256_setzero_ps();
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + t)));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + t), v, acc);
  }
  float s = HorizontalSum(acc);
  for (; t < d; ++t) s += q[t] * HalfToFloat(h[t]);
  return s;
}
#endif

#ifdef ECHOIC_INDEX_HAVE_NEON
// AArch64 Advanced SIMD: baseline on every AArch64 CPU (ARMv8-A), FMA and float16
// conversion included, so no target attributes. Four-lane registers; the loops keep
// four accumulators in flight where AVX2 keeps two eight-lane ones.

float L2Neon(const float* a, const float* b, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    float32x4_t t0 = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
    float32x4_t t1 = vsubq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    float32x4_t t2 = vsubq_f32(vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    float32x4_t t3 = vsubq_f32(vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    acc0 = vfmaq_f32(acc0, t0, t0);
    acc1 = vfmaq_f32(acc1, t1, t1);
    acc2 = vfmaq_f32(acc2, t2, t2);
    acc3 = vfmaq_f32(acc3, t3, t3);
  }
  for (; i + 4 <= d; i += 4) {
    float32x4_t t = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
    acc0 = vfmaq_f32(acc0, t, t);
  }
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < d; ++i) {
    float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

float DotNeon(const float* a, const float* b, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    acc2 = vfmaq_f32(acc2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    acc3 = vfmaq_f32(acc3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
  }
  for (; i + 4 <= d; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < d; ++i) s += a[i] * b[i];
  return s;
}

// NEON has no gather: table look-ups stay scalar loads. A single code takes the
// four-chain scalar loop; batches take the interleaved loop, as on x86.
void AdcBatchNeon(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m, float* out) {
  AdcBatchInterleaved(lut, codes, n, stride, m, out);
}

// 16 rows by 16 one-byte codes, transposed: col[j] holds code j of the 16 rows (four
// rounds of TRN at 8, 16, 32 and 64 bits).
inline void Transpose16x16(const uint8_t* p, size_t stride, uint8x16_t* col) {
  uint8x16_t a[16], b[16];
  for (int r = 0; r < 16; ++r) a[r] = vld1q_u8(p + r * stride);
  for (int r = 0; r < 16; r += 2) {
    b[r] = vtrn1q_u8(a[r], a[r + 1]);
    b[r + 1] = vtrn2q_u8(a[r], a[r + 1]);
  }
  uint16x8_t c[16];
  for (int r = 0; r < 16; r += 4)
    for (int s = 0; s < 2; ++s) {
      c[r + s] = vtrn1q_u16(vreinterpretq_u16_u8(b[r + s]), vreinterpretq_u16_u8(b[r + s + 2]));
      c[r + s + 2] = vtrn2q_u16(vreinterpretq_u16_u8(b[r + s]), vreinterpretq_u16_u8(b[r + s + 2]));
    }
  uint32x4_t d[16];
  for (int r = 0; r < 16; r += 8)
    for (int s = 0; s < 4; ++s) {
      d[r + s] = vtrn1q_u32(vreinterpretq_u32_u16(c[r + s]), vreinterpretq_u32_u16(c[r + s + 4]));
      d[r + s + 4] = vtrn2q_u32(vreinterpretq_u32_u16(c[r + s]), vreinterpretq_u32_u16(c[r + s + 4]));
    }
  for (int s = 0; s < 8; ++s) {
    col[s] = vreinterpretq_u8_u64(vtrn1q_u64(vreinterpretq_u64_u32(d[s]), vreinterpretq_u64_u32(d[s + 8])));
    col[s + 8] = vreinterpretq_u8_u64(vtrn2q_u64(vreinterpretq_u64_u32(d[s]), vreinterpretq_u64_u32(d[s + 8])));
  }
}

// 32 codes per sub-quantizer: its 256-byte table is loaded once into 16 registers and
// looked up with four TBL/TBX (64 bytes each; TBX leaves out-of-range lanes alone).
void AdcBoundBatchNeon(const uint8_t* qlut, const uint8_t* codes, size_t n, size_t stride, size_t m, uint16_t* out) {
  const uint8x16_t k64 = vdupq_n_u8(64);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint16x8_t acc[4] = {vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0), vdupq_n_u16(0)};
    size_t j0 = 0;
    for (; j0 + 16 <= m; j0 += 16) {
      uint8x16_t lo[16], hi[16];
      Transpose16x16(codes + i * stride + j0, stride, lo);
      Transpose16x16(codes + (i + 16) * stride + j0, stride, hi);
      for (int jj = 0; jj < 16; ++jj) {
        const uint8_t* t = qlut + (j0 + jj) * 256;
        const uint8x16x4_t t0 = vld1q_u8_x4(t), t1 = vld1q_u8_x4(t + 64), t2 = vld1q_u8_x4(t + 128),
                           t3 = vld1q_u8_x4(t + 192);
        uint8x16_t x = lo[jj], y = hi[jj];
        uint8x16_t rx = vqtbl4q_u8(t0, x), ry = vqtbl4q_u8(t0, y);
        x = vsubq_u8(x, k64);
        y = vsubq_u8(y, k64);
        rx = vqtbx4q_u8(rx, t1, x);
        ry = vqtbx4q_u8(ry, t1, y);
        x = vsubq_u8(x, k64);
        y = vsubq_u8(y, k64);
        rx = vqtbx4q_u8(rx, t2, x);
        ry = vqtbx4q_u8(ry, t2, y);
        x = vsubq_u8(x, k64);
        y = vsubq_u8(y, k64);
        rx = vqtbx4q_u8(rx, t3, x);
        ry = vqtbx4q_u8(ry, t3, y);
        acc[0] = vaddw_u8(acc[0], vget_low_u8(rx));
        acc[1] = vaddw_high_u8(acc[1], rx);
        acc[2] = vaddw_u8(acc[2], vget_low_u8(ry));
        acc[3] = vaddw_high_u8(acc[3], ry);
      }
    }
    for (int h = 0; h < 4; ++h) vst1q_u16(out + i + 8 * h, acc[h]);
    for (size_t j = j0; j < m; ++j)  // sub-quantizers past the last multiple of 16
      for (size_t r = 0; r < 32; ++r)
        out[i + r] = static_cast<uint16_t>(out[i + r] + qlut[j * 256 + codes[(i + r) * stride + j]]);
  }
  if (i < n) AdcBoundBatchScalar(qlut, codes + i * stride, n - i, stride, m, out + i);
}

// 16 centroids per pass (four accumulators), then 4, then one at a time.
template <bool kL2>
void ManyNeon(const float* x, const float* ct, size_t d, size_t k, float* out) {
  size_t j = 0;
  for (; j + 16 <= k; j += 16) {
    float32x4_t a0 = vdupq_n_f32(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (size_t t = 0; t < d; ++t) {
      const float32x4_t xv = vdupq_n_f32(x[t]);
      const float* row = ct + t * k + j;
      if (kL2) {
        float32x4_t e0 = vsubq_f32(xv, vld1q_f32(row));
        float32x4_t e1 = vsubq_f32(xv, vld1q_f32(row + 4));
        float32x4_t e2 = vsubq_f32(xv, vld1q_f32(row + 8));
        float32x4_t e3 = vsubq_f32(xv, vld1q_f32(row + 12));
        a0 = vfmaq_f32(a0, e0, e0);
        a1 = vfmaq_f32(a1, e1, e1);
        a2 = vfmaq_f32(a2, e2, e2);
        a3 = vfmaq_f32(a3, e3, e3);
      } else {
        a0 = vfmaq_f32(a0, xv, vld1q_f32(row));
        a1 = vfmaq_f32(a1, xv, vld1q_f32(row + 4));
        a2 = vfmaq_f32(a2, xv, vld1q_f32(row + 8));
        a3 = vfmaq_f32(a3, xv, vld1q_f32(row + 12));
      }
    }
    vst1q_f32(out + j, a0);
    vst1q_f32(out + j + 4, a1);
    vst1q_f32(out + j + 8, a2);
    vst1q_f32(out + j + 12, a3);
  }
  for (; j + 4 <= k; j += 4) {
    float32x4_t acc = vdupq_n_f32(0.f);
    for (size_t t = 0; t < d; ++t) {
      const float32x4_t xv = vdupq_n_f32(x[t]);
      const float32x4_t c = vld1q_f32(ct + t * k + j);
      if (kL2) {
        float32x4_t e = vsubq_f32(xv, c);
        acc = vfmaq_f32(acc, e, e);
      } else {
        acc = vfmaq_f32(acc, xv, c);
      }
    }
    vst1q_f32(out + j, acc);
  }
  for (; j < k; ++j) {
    float s = 0.f;
    for (size_t t = 0; t < d; ++t) {
      const float c = ct[t * k + j];
      s += kL2 ? (x[t] - c) * (x[t] - c) : x[t] * c;
    }
    out[j] = s;
  }
}

void L2ManyNeon(const float* x, const float* ct, size_t d, size_t k, float* out) { ManyNeon<true>(x, ct, d, k, out); }
void DotManyNeon(const float* x, const float* ct, size_t d, size_t k, float* out) { ManyNeon<false>(x, ct, d, k, out); }

// Eight codes per step, widened u8 -> u16 -> u32 -> float in two halves.
inline void LoadCodes8Neon(const uint8_t* code, float32x4_t* lo, float32x4_t* hi) {
  const uint16x8_t c16 = vmovl_u8(vld1_u8(code));
  *lo = vcvtq_f32_u32(vmovl_u16(vget_low_u16(c16)));
  *hi = vcvtq_f32_u32(vmovl_u16(vget_high_u16(c16)));
}

float Sq8DotNeon(const float* w, const uint8_t* code, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0;
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    float32x4_t lo, hi;
    LoadCodes8Neon(code + t, &lo, &hi);
    acc0 = vfmaq_f32(acc0, vld1q_f32(w + t), lo);
    acc1 = vfmaq_f32(acc1, vld1q_f32(w + t + 4), hi);
  }
  float s = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; t < d; ++t) s += w[t] * code[t];
  return s;
}

float Sq8L2Neon(const float* q, const float* step, const uint8_t* code, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0;
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    float32x4_t lo, hi;
    LoadCodes8Neon(code + t, &lo, &hi);
    // q - step * code, fused as on x86 (fnmadd).
    float32x4_t e0 = vfmsq_f32(vld1q_f32(q + t), vld1q_f32(step + t), lo);
    float32x4_t e1 = vfmsq_f32(vld1q_f32(q + t + 4), vld1q_f32(step + t + 4), hi);
    acc0 = vfmaq_f32(acc0, e0, e0);
    acc1 = vfmaq_f32(acc1, e1, e1);
  }
  float s = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; t < d; ++t) {
    float diff = q[t] - step[t] * code[t];
    s += diff * diff;
  }
  return s;
}

// Four queries per pass share each load of x. As in RowsAvx2, a query's arithmetic
// (one accumulator, horizontal sum, scalar tail) is the same in the block of four and
// in the remainder, so results never depend on nq or on the query's position.
template <bool kL2>
inline float32x4_t RowStepNeon(float32x4_t acc, float32x4_t xv, const float* q) {
  if (kL2) {
    float32x4_t e = vsubq_f32(xv, vld1q_f32(q));
    return vfmaq_f32(acc, e, e);
  }
  return vfmaq_f32(acc, xv, vld1q_f32(q));
}

template <bool kL2>
void RowsNeon(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  const size_t d4 = d & ~size_t{3};
  size_t b = 0;
  for (; b + 4 <= nq; b += 4) {
    const float* q0 = qs + b * d;
    const float* q1 = q0 + d;
    const float* q2 = q1 + d;
    const float* q3 = q2 + d;
    float32x4_t a0 = vdupq_n_f32(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (size_t t = 0; t < d4; t += 4) {
      const float32x4_t xv = vld1q_f32(x + t);
      a0 = RowStepNeon<kL2>(a0, xv, q0 + t);
      a1 = RowStepNeon<kL2>(a1, xv, q1 + t);
      a2 = RowStepNeon<kL2>(a2, xv, q2 + t);
      a3 = RowStepNeon<kL2>(a3, xv, q3 + t);
    }
    float r[4] = {vaddvq_f32(a0), vaddvq_f32(a1), vaddvq_f32(a2), vaddvq_f32(a3)};
    const float* qq[4] = {q0, q1, q2, q3};
    for (size_t t = d4; t < d; ++t)
      for (int i = 0; i < 4; ++i) r[i] += kL2 ? (x[t] - qq[i][t]) * (x[t] - qq[i][t]) : x[t] * qq[i][t];
    for (int i = 0; i < 4; ++i) out[b + i] = r[i];
  }
  for (; b < nq; ++b) {
    const float* q = qs + b * d;
    float32x4_t a = vdupq_n_f32(0.f);
    for (size_t t = 0; t < d4; t += 4) a = RowStepNeon<kL2>(a, vld1q_f32(x + t), q + t);
    float r = vaddvq_f32(a);
    for (size_t t = d4; t < d; ++t) r += kL2 ? (x[t] - q[t]) * (x[t] - q[t]) : x[t] * q[t];
    out[b] = r;
  }
}

void DotRowsNeon(const float* x, const float* qs, size_t nq, size_t d, float* out) {
  RowsNeon<false>(x, qs, nq, d, out);
}
void L2RowsNeon(const float* x, const float* qs, size_t nq, size_t d, float* out) { RowsNeon<true>(x, qs, nq, d, out); }

// float16 -> float32 with the AArch64 conversion instruction (exact, like HalfToFloat).
inline float32x4_t LoadHalves4(const uint16_t* h) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h))); }

float F16L2Neon(const float* q, const uint16_t* h, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0;
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    float32x4_t e0 = vsubq_f32(vld1q_f32(q + t), LoadHalves4(h + t));
    float32x4_t e1 = vsubq_f32(vld1q_f32(q + t + 4), LoadHalves4(h + t + 4));
    acc0 = vfmaq_f32(acc0, e0, e0);
    acc1 = vfmaq_f32(acc1, e1, e1);
  }
  float s = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; t < d; ++t) {
    float diff = q[t] - HalfToFloat(h[t]);
    s += diff * diff;
  }
  return s;
}

float F16DotNeon(const float* q, const uint16_t* h, size_t d) {
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0;
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(q + t), LoadHalves4(h + t));
    acc1 = vfmaq_f32(acc1, vld1q_f32(q + t + 4), LoadHalves4(h + t + 4));
  }
  float s = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; t < d; ++t) s += q[t] * HalfToFloat(h[t]);
  return s;
}
#endif

const Kernels kScalar{"scalar",      &L2Scalar,      &DotScalar,    &AdcScalar,   &AdcBatchScalar,
                      &L2ManyScalar, &DotManyScalar, &Sq8DotScalar, &Sq8L2Scalar, &DotRowsScalar,
                      &L2RowsScalar, &F16L2Scalar,   &F16DotScalar, nullptr};
#ifdef ECHOIC_INDEX_HAVE_AVX2
const Kernels kAvx2{"avx2",      &L2Avx2,    &DotAvx2,     &AdcAvx2,    &AdcBatchAvx2, &L2ManyAvx2, &DotManyAvx2,
                    &Sq8DotAvx2, &Sq8L2Avx2, &DotRowsAvx2, &L2RowsAvx2, &F16L2Avx2,    &F16DotAvx2, nullptr};
#endif
#ifdef ECHOIC_INDEX_HAVE_NEON
const Kernels kNeon{"neon",      &L2Neon,    &DotNeon,     &AdcScalar,  &AdcBatchNeon, &L2ManyNeon, &DotManyNeon,
                    &Sq8DotNeon, &Sq8L2Neon, &DotRowsNeon, &L2RowsNeon, &F16L2Neon,    &F16DotNeon, &AdcBoundBatchNeon};
#endif

}  // namespace

void AdcBoundBatchScalar(const uint8_t* qlut, const uint8_t* codes, size_t n, size_t stride, size_t m, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* c = codes + i * stride;
    unsigned s = 0;
    for (size_t j = 0; j < m; ++j) s += qlut[j * 256 + c[j]];
    out[i] = static_cast<uint16_t>(s);
  }
}

const Kernels& ScalarKernels() { return kScalar; }

const Kernels* Avx2Kernels() {
#ifdef ECHOIC_INDEX_HAVE_AVX2
  const CpuFeatures& f = GetCpuFeatures();
  // F16C is not in CpuFeatures; every AVX2 CPU has it, but check rather than assume (CPUID
  // leaf 1, ECX bit 29; clang 14's __builtin_cpu_supports does not know "f16c").
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
  if (f.avx2 && f.fma && f16c) return &kAvx2;
#endif
  return nullptr;
}

const Kernels* NeonKernels() {
#ifdef ECHOIC_INDEX_HAVE_NEON
  if (GetCpuFeatures().neon) return &kNeon;
#endif
  return nullptr;
}

const Kernels* SimdKernels() {
  if (const Kernels* k = Avx2Kernels()) return k;
  return NeonKernels();
}

const Kernels& ActiveKernels() {
  static const Kernels* active = [] {
    const char* off = std::getenv("ECHOIC_DISABLE_SIMD");
    const Kernels* k = (off && *off && *off != '0') ? nullptr : SimdKernels();
    return k ? k : &kScalar;
  }();
  return *active;
}

}  // namespace echoic::index
