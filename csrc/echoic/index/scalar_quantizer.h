// 8-bit scalar quantizer: each dimension mapped linearly from its trained
// [min, max] range onto 0..255.
#ifndef ECHOIC_INDEX_SCALAR_QUANTIZER_H_
#define ECHOIC_INDEX_SCALAR_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "echoic/index/bytes.h"

namespace echoic::index {

class ScalarQuantizer {
 public:
  ScalarQuantizer() = default;
  explicit ScalarQuantizer(size_t d) : d_(d) {}

  void Train(const float* x, size_t n);
  bool trained() const { return !vmin_.empty(); }
  void Encode(const float* x, uint8_t* code) const;  // d bytes
  void Decode(const uint8_t* code, float* x) const;  // d floats

  size_t d() const { return d_; }
  const std::vector<float>& vmin() const { return vmin_; }
  const std::vector<float>& step() const { return step_; }
  void Write(ByteWriter* w) const;
  void Read(ByteReader* r, size_t d);

 private:
  size_t d_ = 0;
  std::vector<float> vmin_, step_;  // value = vmin + code * step
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_SCALAR_QUANTIZER_H_
