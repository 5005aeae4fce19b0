#include "echoic/index/scalar_quantizer.h"

#include <algorithm>
#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::index {

void ScalarQuantizer::Train(const float* x, size_t n) {
  ECHOIC_CHECK(n >= 1, ErrorCode::kInvalidArgument, "training the int8 quantizer needs at least 1 vector");
  std::vector<float> lo(d_, x[0]), hi(d_, x[0]);
  for (size_t t = 0; t < d_; ++t) lo[t] = hi[t] = x[t];
  for (size_t i = 1; i < n; ++i)
    for (size_t t = 0; t < d_; ++t) {
      lo[t] = std::min(lo[t], x[i * d_ + t]);
      hi[t] = std::max(hi[t], x[i * d_ + t]);
    }
  vmin_ = lo;
  step_.resize(d_);
  for (size_t t = 0; t < d_; ++t) step_[t] = hi[t] > lo[t] ? (hi[t] - lo[t]) / 255.f : 1.f;
}

void ScalarQuantizer::Encode(const float* x, uint8_t* code) const {
  for (size_t t = 0; t < d_; ++t) {
    float v = std::nearbyint((x[t] - vmin_[t]) / step_[t]);
    code[t] = static_cast<uint8_t>(std::clamp(v, 0.f, 255.f));  // values outside the trained range saturate
  }
}

void ScalarQuantizer::Decode(const uint8_t* code, float* x) const {
  for (size_t t = 0; t < d_; ++t) x[t] = vmin_[t] + code[t] * step_[t];
}

void ScalarQuantizer::Write(ByteWriter* w) const {
  w->PutVector(vmin_);
  w->PutVector(step_);
}

void ScalarQuantizer::Read(ByteReader* r, size_t d) {
  d_ = d;
  vmin_ = r->GetVector<float>("sq8 minimum", d);
  step_ = r->GetVector<float>("sq8 step", d);
}

}  // namespace echoic::index
