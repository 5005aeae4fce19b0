// Product quantizer: the vector is cut into m sub-vectors, each replaced by the
// index of its nearest of 256 centroids (one byte). Distances to a query are
// computed asymmetrically from an m×256 lookup table (ADC).
#ifndef ECHOIC_INDEX_PRODUCT_QUANTIZER_H_
#define ECHOIC_INDEX_PRODUCT_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "echoic/index/bytes.h"
#include "echoic/index/kmeans.h"
#include "echoic/index/metric.h"

namespace echoic::index {

class ProductQuantizer {
 public:
  static constexpr size_t kCentroids = 256;

  ProductQuantizer() = default;
  ProductQuantizer(size_t d, size_t m);  // kInvalidArgument unless m divides d

  void Train(const float* x, size_t n, const KMeansOptions& opt);
  // More Lloyd steps from the current codebooks (must be trained, same d and m).
  void Refit(const float* x, size_t n, int iterations);
  bool trained() const { return !centroids_.empty(); }

  void Encode(const float* x, uint8_t* code) const;  // m bytes
  void Decode(const uint8_t* code, float* x) const;  // d floats
  // lut[j*256 + c] = distance contribution of sub-vector j with centroid c
  // (squared L2 for kL2, negated dot product otherwise).
  void ComputeLut(const float* q, Metric metric, float* lut) const;

  size_t d() const { return d_; }
  size_t m() const { return m_; }
  size_t dsub() const { return dsub_; }
  const std::vector<float>& centroids() const { return centroids_; }

  void Write(ByteWriter* w) const;
  void Read(ByteReader* r);

 private:
  void BuildTransposed();

  size_t d_ = 0, m_ = 0, dsub_ = 0;
  std::vector<float> centroids_;   // m × 256 × dsub
  std::vector<float> transposed_;  // m × dsub × 256: the layout the *_many kernels scan
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_PRODUCT_QUANTIZER_H_
