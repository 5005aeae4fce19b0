// Turns smoothed posteriors into keyword events: per-keyword thresholds, a
// rising edge (the score must drop below threshold before the same keyword can
// fire again) and a refractory period after any event.
#ifndef ECHOIC_KWS_EVENT_DETECTOR_H_
#define ECHOIC_KWS_EVENT_DETECTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "echoic/kws/keyword_event.h"

namespace echoic::kws {

class EventDetector {
 public:
  // thresholds[i] for keywords[i], each in (0, 1]; refractory_s >= 0. kInvalidArgument otherwise.
  EventDetector(std::vector<std::string> keywords, std::vector<float> thresholds, double refractory_s);
  // smoothed: 1 + num_keywords posteriors (class 0 = filler) of the window ending at `time`.
  std::optional<KeywordEvent> Process(const float* smoothed, double time);
  void Reset();
  const std::vector<float>& thresholds() const { return thresholds_; }
  double refractory() const { return refractory_; }

 private:
  std::vector<std::string> keywords_;
  std::vector<float> thresholds_;
  double refractory_;
  double last_event_time_ = -1e30;
  std::vector<bool> armed_;
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_EVENT_DETECTOR_H_
