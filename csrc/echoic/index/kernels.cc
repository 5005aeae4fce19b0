#include "echoic/index/kernels.h"

#include <cstdlib>

#include "echoic/runtime/system_info.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define ECHOIC_INDEX_HAVE_AVX2 1
#include <immintrin.h>
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
  float s = 0.f;
  for (size_t j = 0; j < m; ++j) s += lut[j * 256 + code[j]];
  return s;
}

void AdcBatchScalar(const float* lut, const uint8_t* codes, size_t n, size_t stride, size_t m,
                    float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = AdcScalar(lut, codes + i * stride, m);
}

#ifdef ECHOIC_INDEX_HAVE_AVX2
#define ECHOIC_AVX2 __attribute__((target("avx2,fma")))

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

ECHOIC_AVX2 void AdcBatchAvx2(const float* lut, const uint8_t* codes, size_t n, size_t stride,
                              size_t m, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = AdcAvx2(lut, codes + i * stride, m);
}
#endif

const Kernels kScalar{"scalar", &L2Scalar, &DotScalar, &AdcScalar, &AdcBatchScalar};
#ifdef ECHOIC_INDEX_HAVE_AVX2
const Kernels kAvx2{"avx2", &L2Avx2, &DotAvx2, &AdcAvx2, &AdcBatchAvx2};
#endif

}  // namespace

const Kernels& ScalarKernels() { return kScalar; }

const Kernels* Avx2Kernels() {
#ifdef ECHOIC_INDEX_HAVE_AVX2
  const CpuFeatures& f = GetCpuFeatures();
  if (f.avx2 && f.fma) return &kAvx2;
#endif
  return nullptr;
}

const Kernels& ActiveKernels() {
  static const Kernels* active = [] {
    const char* off = std::getenv("ECHOIC_DISABLE_SIMD");
    const Kernels* k = (off && *off && *off != '0') ? nullptr : Avx2Kernels();
    return k ? k : &kScalar;
  }();
  return *active;
}

}  // namespace echoic::index
