#include "echoic/index/linalg.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace echoic::index {

void JacobiSvd(const std::vector<double>& a, size_t n, std::vector<double>* u_out, std::vector<double>* s_out,
               std::vector<double>* v_out) {
  // Columns stored contiguously (w[j*n + i] = column j, row i) so rotations stream.
  std::vector<double> w(n * n), v(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) w[j * n + i] = a[i * n + j];
  for (size_t j = 0; j < n; ++j) v[j * n + j] = 1.0;

  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0.0;
    for (size_t p = 0; p + 1 < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        double* wp = &w[p * n];
        double* wq = &w[q * n];
        double alpha = 0, beta = 0, gamma = 0;
        for (size_t i = 0; i < n; ++i) {
          alpha += wp[i] * wp[i];
          beta += wq[i] * wq[i];
          gamma += wp[i] * wq[i];
        }
        if (gamma == 0.0 || std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        off = std::max(off, std::abs(gamma) / std::sqrt(alpha * beta));
        double zeta = (beta - alpha) / (2.0 * gamma);
        double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
        double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (size_t i = 0; i < n; ++i) {
          double x = wp[i], y = wq[i];
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        double* vp = &v[p * n];
        double* vq = &v[q * n];
        for (size_t i = 0; i < n; ++i) {
          double x = vp[i], y = vq[i];
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (off < 1e-12) break;
  }

  std::vector<double> sv(n);
  for (size_t j = 0; j < n; ++j) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += w[j * n + i] * w[j * n + i];
    sv[j] = std::sqrt(s);
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return sv[x] > sv[y]; });

  // U columns = W columns / sigma; columns with ~0 sigma are completed by Gram-Schmidt
  // against the standard basis so U stays orthogonal (Procrustes needs a full U).
  std::vector<double> ucols(n * n, 0.0);
  double tol = (sv.empty() ? 0.0 : sv[order[0]]) * 1e-12 + 1e-300;
  std::vector<bool> filled(n, false);
  for (size_t r = 0; r < n; ++r) {
    size_t j = order[r];
    if (sv[j] > tol) {
      for (size_t i = 0; i < n; ++i) ucols[r * n + i] = w[j * n + i] / sv[j];
      filled[r] = true;
    }
  }
  size_t basis = 0;
  for (size_t r = 0; r < n; ++r) {
    if (filled[r]) continue;
    while (basis < n) {
      std::vector<double> e(n, 0.0);
      e[basis++] = 1.0;
      for (size_t k = 0; k < n; ++k) {
        if (!filled[k]) continue;
        double dot = 0;
        for (size_t i = 0; i < n; ++i) dot += ucols[k * n + i] * e[i];
        for (size_t i = 0; i < n; ++i) e[i] -= dot * ucols[k * n + i];
      }
      double norm = std::sqrt(std::inner_product(e.begin(), e.end(), e.begin(), 0.0));
      if (norm > 1e-6) {
        for (size_t i = 0; i < n; ++i) ucols[r * n + i] = e[i] / norm;
        filled[r] = true;
        break;
      }
    }
  }

  u_out->assign(n * n, 0.0);
  v_out->assign(n * n, 0.0);
  s_out->assign(n, 0.0);
  for (size_t r = 0; r < n; ++r) {
    size_t j = order[r];
    (*s_out)[r] = sv[j];
    for (size_t i = 0; i < n; ++i) {
      (*u_out)[i * n + r] = ucols[r * n + i];
      (*v_out)[i * n + r] = v[j * n + i];
    }
  }
}

std::vector<double> ProcrustesRotation(const std::vector<double>& m, size_t n) {
  std::vector<double> u, s, v;
  JacobiSvd(m, n, &u, &s, &v);
  std::vector<double> r(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < n; ++k) {
      double uik = u[i * n + k];
      for (size_t j = 0; j < n; ++j) r[i * n + j] += uik * v[j * n + k];
    }
  return r;
}

}  // namespace echoic::index
