// Moving average of per-class posteriors over the last N hops: a single noisy
// window should not fire a keyword.
#ifndef ECHOIC_KWS_POSTERIOR_SMOOTHER_H_
#define ECHOIC_KWS_POSTERIOR_SMOOTHER_H_

#include <cstdint>
#include <deque>
#include <vector>

namespace echoic::kws {

class PosteriorSmoother {
 public:
  PosteriorSmoother(int32_t num_classes, int32_t hops);  // kInvalidArgument if either < 1
  // Adds one window's posteriors; returns the mean over the last `hops` windows
  // (fewer at stream start).
  const std::vector<float>& Push(const float* probs);
  void Reset();

 private:
  int32_t num_classes_, hops_;
  std::deque<std::vector<float>> history_;
  std::vector<double> sum_;
  std::vector<float> out_;
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_POSTERIOR_SMOOTHER_H_
