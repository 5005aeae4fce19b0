#include "echoic/vad/framed_vad.h"

#include <algorithm>

#include "echoic/runtime/error.h"

namespace echoic::vad {

FramedVad::FramedVad(std::string name, int32_t sample_rate, size_t frame_samples, const SmoothingOptions& smoothing)
    : name_(std::move(name)), sample_rate_(sample_rate), frame_(frame_samples), smoother_(smoothing) {
  ECHOIC_CHECK(sample_rate > 0 && frame_samples > 0, ErrorCode::kInvalidArgument, name_,
               ": sample rate and frame size must be positive");
  pending_.reserve(frame_);
}

void FramedVad::Accept(const float* samples, size_t n) {
  const double frame_seconds = static_cast<double>(frame_) / sample_rate_;
  size_t i = 0;
  while (i < n) {
    const float* frame;
    if (pending_.empty() && n - i >= frame_) {
      frame = samples + i;  // whole frame straight from the caller's buffer
      i += frame_;
    } else {
      size_t take = std::min(frame_ - pending_.size(), n - i);
      pending_.insert(pending_.end(), samples + i, samples + i + take);
      i += take;
      if (pending_.size() < frame_) break;
      frame = pending_.data();
    }
    float p = ScoreFrame(frame);
    pending_.clear();
    if (record_) probs_.push_back(p);
    smoother_.Push(p, frame_seconds);
  }
}

std::vector<float> FramedVad::TakeProbabilities() {
  std::vector<float> out;
  out.swap(probs_);
  return out;
}

}  // namespace echoic::vad
