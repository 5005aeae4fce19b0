#include "echoic/index/product_quantizer.h"

#include <algorithm>
#include <limits>

#include "echoic/index/kernels.h"
#include "echoic/runtime/error.h"

namespace echoic::index {

ProductQuantizer::ProductQuantizer(size_t d, size_t m) : d_(d), m_(m) {
  ECHOIC_CHECK(m >= 1 && m <= d && d % m == 0, ErrorCode::kInvalidArgument, "product quantizer: m=", m,
               " sub-quantizers must divide the dimension d=", d);
  dsub_ = d / m;
}

void ProductQuantizer::Train(const float* x, size_t n, const KMeansOptions& opt) {
  ECHOIC_CHECK(m_ > 0, ErrorCode::kState, "product quantizer used before it was configured");
  ECHOIC_CHECK(n >= kCentroids, ErrorCode::kInvalidArgument, "training a product quantizer needs at least ", kCentroids,
               " vectors, got ", n);
  std::vector<float> centroids(m_ * kCentroids * dsub_);
  std::vector<float> sub(n * dsub_);
  for (size_t j = 0; j < m_; ++j) {
    for (size_t i = 0; i < n; ++i)
      for (size_t t = 0; t < dsub_; ++t) sub[i * dsub_ + t] = x[i * d_ + j * dsub_ + t];
    KMeansOptions o = opt;
    o.seed = opt.seed + 7919 * j;  // distinct but reproducible per sub-space
    std::vector<float> c = KMeans(sub.data(), n, dsub_, kCentroids, o);
    std::copy(c.begin(), c.end(), centroids.begin() + j * kCentroids * dsub_);
  }
  centroids_ = std::move(centroids);
  BuildTransposed();
}

void ProductQuantizer::Refit(const float* x, size_t n, int iterations) {
  ECHOIC_CHECK(trained(), ErrorCode::kState, "product quantizer refit before training");
  ECHOIC_CHECK(n >= 1, ErrorCode::kInvalidArgument, "product quantizer refit needs vectors");
  std::vector<float> sub(n * dsub_);
  for (size_t j = 0; j < m_; ++j) {
    for (size_t i = 0; i < n; ++i)
      for (size_t t = 0; t < dsub_; ++t) sub[i * dsub_ + t] = x[i * d_ + j * dsub_ + t];
    LloydSteps(sub.data(), n, dsub_, kCentroids, iterations, &centroids_[j * kCentroids * dsub_]);
  }
  BuildTransposed();
}

void ProductQuantizer::BuildTransposed() {
  transposed_.assign(centroids_.size(), 0.f);
  for (size_t j = 0; j < m_; ++j)
    for (size_t i = 0; i < kCentroids; ++i)
      for (size_t t = 0; t < dsub_; ++t)
        transposed_[(j * dsub_ + t) * kCentroids + i] = centroids_[(j * kCentroids + i) * dsub_ + t];
}

void ProductQuantizer::Encode(const float* x, uint8_t* code) const {
  const Kernels& k = ActiveKernels();
  float dist[kCentroids];
  for (size_t j = 0; j < m_; ++j) {
    k.l2sq_many(x + j * dsub_, &transposed_[j * dsub_ * kCentroids], dsub_, kCentroids, dist);
    code[j] = static_cast<uint8_t>(std::min_element(dist, dist + kCentroids) - dist);
  }
}

void ProductQuantizer::Decode(const uint8_t* code, float* x) const {
  for (size_t j = 0; j < m_; ++j) {
    const float* c = &centroids_[(j * kCentroids + code[j]) * dsub_];
    std::copy(c, c + dsub_, x + j * dsub_);
  }
}

void ProductQuantizer::ComputeLut(const float* q, Metric metric, float* lut) const {
  const Kernels& k = ActiveKernels();
  for (size_t j = 0; j < m_; ++j) {
    const float* ct = &transposed_[j * dsub_ * kCentroids];
    float* row = lut + j * kCentroids;
    if (metric == Metric::kL2) {
      k.l2sq_many(q + j * dsub_, ct, dsub_, kCentroids, row);
    } else {
      k.dot_many(q + j * dsub_, ct, dsub_, kCentroids, row);
      for (size_t i = 0; i < kCentroids; ++i) row[i] = -row[i];
    }
  }
}

void ProductQuantizer::Write(ByteWriter* w) const {
  w->Put<uint32_t>(static_cast<uint32_t>(d_));
  w->Put<uint32_t>(static_cast<uint32_t>(m_));
  w->PutVector(centroids_);
}

void ProductQuantizer::Read(ByteReader* r) {
  uint32_t d = r->Get<uint32_t>("pq dimension");
  uint32_t m = r->Get<uint32_t>("pq sub-quantizer count");
  if (m == 0 || d == 0 || d % m != 0 || d > 4096)
    Fail(ErrorCode::kCorruptData, "product quantizer header d=", d, " m=", m, " is invalid (offset ", r->offset() - 8,
         ")");
  d_ = d;
  m_ = m;
  dsub_ = d / m;
  centroids_ = r->GetVector<float>("pq codebooks", m_ * kCentroids * dsub_);
  BuildTransposed();
}

}  // namespace echoic::index
