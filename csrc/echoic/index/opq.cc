#include "echoic/index/opq.h"

#include "echoic/index/linalg.h"
#include "echoic/index/product_quantizer.h"

namespace echoic::index {

void ApplyRotation(const std::vector<float>& r, const float* x, size_t n, size_t d, float* y) {
  for (size_t i = 0; i < n; ++i) {
    float* yi = y + i * d;
    std::fill(yi, yi + d, 0.f);
    const float* xi = x + i * d;
    for (size_t k = 0; k < d; ++k) {
      float xk = xi[k];
      const float* rk = &r[k * d];
      for (size_t j = 0; j < d; ++j) yi[j] += xk * rk[j];
    }
  }
}

std::vector<float> TrainOpqRotation(const float* x, size_t n, size_t d, size_t m, const OpqOptions& opt) {
  std::vector<float> r(d * d, 0.f);
  for (size_t i = 0; i < d; ++i) r[i * d + i] = 1.f;
  std::vector<float> xr(n * d), y(n * d);
  std::vector<uint8_t> code(m);
  for (int it = 0; it < opt.outer_iterations; ++it) {
    ApplyRotation(r, x, n, d, xr.data());
    ProductQuantizer pq(d, m);
    KMeansOptions ko;
    ko.iterations = opt.pq_iterations;
    ko.seed = opt.seed + it;
    pq.Train(xr.data(), n, ko);
    for (size_t i = 0; i < n; ++i) {
      pq.Encode(&xr[i * d], code.data());
      pq.Decode(code.data(), &y[i * d]);
    }
    // M = X^T Y (d×d), accumulated in double.
    std::vector<double> mtx(d * d, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const float* xi = x + i * d;
      const float* yi = &y[i * d];
      for (size_t a = 0; a < d; ++a) {
        double xa = xi[a];
        double* row = &mtx[a * d];
        for (size_t b = 0; b < d; ++b) row[b] += xa * yi[b];
      }
    }
    std::vector<double> rd = ProcrustesRotation(mtx, d);
    for (size_t i = 0; i < d * d; ++i) r[i] = static_cast<float>(rd[i]);
  }
  return r;
}

}  // namespace echoic::index
