#include "echoic/index/opq.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

std::vector<float> EigenAllocationRotation(const float* x, size_t n, size_t d, size_t m) {
  // Covariance in double; its SVD gives the eigenvectors (columns of u), eigenvalues descending.
  std::vector<double> mean(d, 0.0), cov(d * d, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < d; ++a) mean[a] += x[i * d + a];
  for (double& v : mean) v /= static_cast<double>(std::max<size_t>(n, 1));
  std::vector<double> xc(d);
  for (size_t i = 0; i < n; ++i) {
    for (size_t a = 0; a < d; ++a) xc[a] = x[i * d + a] - mean[a];
    for (size_t a = 0; a < d; ++a) {
      double* row = &cov[a * d];
      for (size_t b = a; b < d; ++b) row[b] += xc[a] * xc[b];
    }
  }
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b < a; ++b) cov[a * d + b] = cov[b * d + a];
  std::vector<double> u, sv, v;
  JacobiSvd(cov, d, &u, &sv, &v);
  // Deal directions, largest variance first, to the open sub-space whose product of
  // variances (sum of logs) is smallest so far.
  const size_t dsub = d / m;
  const double floor = std::max(sv[0] * 1e-12, std::numeric_limits<double>::min());
  std::vector<double> log_product(m, 0.0);
  std::vector<size_t> filled(m, 0);
  std::vector<float> r(d * d, 0.f);
  for (size_t e = 0; e < d; ++e) {
    size_t best = m;
    for (size_t j = 0; j < m; ++j)
      if (filled[j] < dsub && (best == m || log_product[j] < log_product[best])) best = j;
    const size_t out = best * dsub + filled[best]++;
    log_product[best] += std::log(std::max(sv[e], floor));
    for (size_t k = 0; k < d; ++k) r[k * d + out] = static_cast<float>(u[k * d + e]);
  }
  return r;
}

std::vector<float> TrainOpqRotation(const float* x, size_t n, size_t d, size_t m, const OpqOptions& opt) {
  std::vector<float> r = EigenAllocationRotation(x, n, d, m);
  std::vector<float> xr(n * d), y(n * d);
  std::vector<uint8_t> code(m);
  ProductQuantizer pq(d, m);
  for (int it = 0; it < opt.outer_iterations; ++it) {
    ApplyRotation(r, x, n, d, xr.data());
    if (it == 0) {
      KMeansOptions ko;
      ko.iterations = opt.first_pq_iterations;
      ko.seed = opt.seed;
      pq.Train(xr.data(), n, ko);
    } else {
      pq.Refit(xr.data(), n, opt.pq_iterations);
    }
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
