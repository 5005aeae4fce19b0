#include "echoic/index/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "echoic/index/kernels.h"
#include "echoic/runtime/error.h"

namespace echoic::index {
namespace {

// Squared norms let the assignment use dot products: |x-c|^2 = |x|^2 - 2x.c + |c|^2.
std::vector<float> Norms(const float* x, size_t n, size_t d) {
  const Kernels& kern = ActiveKernels();
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = kern.dot(x + i * d, x + i * d, d);
  return out;
}

}  // namespace

void AssignNearest(const float* x, size_t n, size_t d, const float* c, size_t k, uint32_t* out) {
  const Kernels& kern = ActiveKernels();
  if (d <= 32) {
    // Short vectors (PQ sub-spaces): transpose the centroids and score all k at
    // once, vectorised across centroids.
    std::vector<float> ct(d * k), dist(k);
    for (size_t j = 0; j < k; ++j)
      for (size_t t = 0; t < d; ++t) ct[t * k + j] = c[j * d + t];
    for (size_t i = 0; i < n; ++i) {
      kern.l2sq_many(x + i * d, ct.data(), d, k, dist.data());
      out[i] = static_cast<uint32_t>(std::min_element(dist.begin(), dist.end()) - dist.begin());
    }
    return;
  }
  // Blocks of points: each centroid is read once per block instead of once per point
  // (at thousands of centroids they do not stay in cache). dot_rows gives each point
  // the same result whatever block it is in, so batching never changes an assignment.
  std::vector<float> cn = Norms(c, k, d);
  constexpr size_t kBlock = 16;
  std::vector<float> dots(kBlock), best(kBlock);
  for (size_t i0 = 0; i0 < n; i0 += kBlock) {
    const size_t nb = std::min(kBlock, n - i0);
    std::fill(best.begin(), best.end(), std::numeric_limits<float>::infinity());
    for (size_t j = 0; j < k; ++j) {
      kern.dot_rows(c + j * d, x + i0 * d, nb, d, dots.data());
      for (size_t b = 0; b < nb; ++b) {
        const float v = cn[j] - 2.f * dots[b];
        if (v < best[b]) {
          best[b] = v;
          out[i0 + b] = static_cast<uint32_t>(j);
        }
      }
    }
  }
}

std::vector<uint32_t> NearestCentroids(const float* x, size_t d, const float* c, size_t k, size_t count) {
  const Kernels& kern = ActiveKernels();
  std::vector<std::pair<float, uint32_t>> all(k);
  for (size_t j = 0; j < k; ++j) all[j] = {kern.l2sq(x, c + j * d, d), static_cast<uint32_t>(j)};
  count = std::min(count, k);
  std::partial_sort(all.begin(), all.begin() + count, all.end());
  std::vector<uint32_t> out(count);
  for (size_t j = 0; j < count; ++j) out[j] = all[j].second;
  return out;
}

std::vector<float> KMeans(const float* x_in, size_t n_in, size_t d, size_t k, const KMeansOptions& opt) {
  ECHOIC_CHECK(k >= 1 && d >= 1, ErrorCode::kInvalidArgument, "k-means: k and d must be positive");
  ECHOIC_CHECK(n_in >= k, ErrorCode::kInvalidArgument, "k-means needs at least ", k, " training vectors, got ", n_in);
  std::mt19937_64 rng(opt.seed);
  const float* x = x_in;
  size_t n = n_in;
  std::vector<float> sample;
  if (opt.max_points > 0 && n_in > opt.max_points && opt.max_points >= k) {
    std::vector<size_t> perm(n_in);
    std::iota(perm.begin(), perm.end(), size_t{0});
    for (size_t i = 0; i < opt.max_points; ++i) {  // partial Fisher-Yates
      std::uniform_int_distribution<size_t> pick(i, n_in - 1);
      std::swap(perm[i], perm[pick(rng)]);
    }
    n = opt.max_points;
    sample.resize(n * d);
    for (size_t i = 0; i < n; ++i) std::copy(x_in + perm[i] * d, x_in + perm[i] * d + d, &sample[i * d]);
    x = sample.data();
  }
  const Kernels& kern = ActiveKernels();

  // k-means++ seeding: each next centroid drawn with probability ~ D(x)^2.
  std::vector<float> c(k * d);
  std::vector<float> mind(n, std::numeric_limits<float>::infinity());
  size_t first = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  std::copy(x + first * d, x + first * d + d, c.begin());
  for (size_t j = 1; j < k; ++j) {
    const float* prev = &c[(j - 1) * d];
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      float dist;
      if (d <= 16) {  // inline: a call per point would dominate for PQ sub-vectors
        dist = 0.f;
        const float* xi = x + i * d;
        for (size_t t = 0; t < d; ++t) dist += (xi[t] - prev[t]) * (xi[t] - prev[t]);
      } else {
        dist = kern.l2sq(x + i * d, prev, d);
      }
      mind[i] = std::min(mind[i], dist);
      total += mind[i];
    }
    size_t pick = 0;
    if (total > 0) {
      double r = std::uniform_real_distribution<double>(0, total)(rng);
      double acc = 0;
      pick = n - 1;
      for (size_t i = 0; i < n; ++i) {
        acc += mind[i];
        if (acc >= r) {
          pick = i;
          break;
        }
      }
    } else {
      pick = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    }
    std::copy(x + pick * d, x + pick * d + d, &c[j * d]);
  }

  LloydSteps(x, n, d, k, opt.iterations, c.data(), opt.spherical);
  return c;
}

void LloydSteps(const float* x, size_t n, size_t d, size_t k, int iterations, float* centroids, bool spherical) {
  std::vector<uint32_t> assign(n);
  std::vector<double> sums(k * d);
  std::vector<size_t> counts(k);
  for (int it = 0; it < iterations; ++it) {
    AssignNearest(x, n, d, centroids, k, assign.data());
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      uint32_t a = assign[i];
      ++counts[a];
      for (size_t t = 0; t < d; ++t) sums[a * d + t] += x[i * d + t];
    }
    for (size_t j = 0; j < k; ++j) {
      if (counts[j] == 0) continue;
      for (size_t t = 0; t < d; ++t) centroids[j * d + t] = static_cast<float>(sums[j * d + t] / counts[j]);
    }
    // Empty cluster: split the largest one by placing a slightly shifted copy of it.
    for (size_t j = 0; j < k; ++j) {
      if (counts[j] != 0) continue;
      size_t big = static_cast<size_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
      for (size_t t = 0; t < d; ++t) {
        float eps = (t % 2 ? 1.f : -1.f) * 1e-4f * (1.f + std::abs(centroids[big * d + t]));
        centroids[j * d + t] = centroids[big * d + t] + eps;
        centroids[big * d + t] -= eps;
      }
      counts[big] /= 2;
      counts[j] = counts[big];
    }
    if (spherical) {
      for (size_t j = 0; j < k; ++j) {
        double norm = 0;
        for (size_t t = 0; t < d; ++t) norm += double(centroids[j * d + t]) * centroids[j * d + t];
        if (norm <= 0) continue;
        const float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (size_t t = 0; t < d; ++t) centroids[j * d + t] *= inv;
      }
    }
  }
}

}  // namespace echoic::index
