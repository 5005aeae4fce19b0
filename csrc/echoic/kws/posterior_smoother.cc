#include "echoic/kws/posterior_smoother.h"

#include "echoic/runtime/error.h"

namespace echoic::kws {

PosteriorSmoother::PosteriorSmoother(int32_t num_classes, int32_t hops)
    : num_classes_(num_classes), hops_(hops), sum_(num_classes > 0 ? num_classes : 0), out_(sum_.size()) {
  ECHOIC_CHECK(num_classes >= 1, ErrorCode::kInvalidArgument, "posterior smoother: num_classes must be >= 1, got ",
               num_classes);
  ECHOIC_CHECK(hops >= 1, ErrorCode::kInvalidArgument, "posterior smoother: smoothing hops must be >= 1, got ", hops);
}

const std::vector<float>& PosteriorSmoother::Push(const float* probs) {
  history_.emplace_back(probs, probs + num_classes_);
  for (int32_t c = 0; c < num_classes_; ++c) sum_[c] += probs[c];
  if (static_cast<int32_t>(history_.size()) > hops_) {
    for (int32_t c = 0; c < num_classes_; ++c) sum_[c] -= history_.front()[c];
    history_.pop_front();
  }
  // Recompute from the window itself (not the running sum) so rounding never drifts.
  for (int32_t c = 0; c < num_classes_; ++c) {
    double s = 0;
    for (const auto& h : history_) s += h[c];
    out_[c] = static_cast<float>(s / history_.size());
  }
  return out_;
}

void PosteriorSmoother::Reset() {
  history_.clear();
  std::fill(sum_.begin(), sum_.end(), 0.0);
}

}  // namespace echoic::kws
