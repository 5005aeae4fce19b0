#include "echoic/kws/event_detector.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::kws {

EventDetector::EventDetector(std::vector<std::string> keywords, std::vector<float> thresholds, double refractory_s)
    : keywords_(std::move(keywords)), thresholds_(std::move(thresholds)), refractory_(refractory_s) {
  ECHOIC_CHECK(thresholds_.size() == keywords_.size(), ErrorCode::kInvalidArgument,
               "keyword detector: ", thresholds_.size(), " thresholds for ", keywords_.size(), " keywords");
  for (size_t i = 0; i < thresholds_.size(); ++i)
    ECHOIC_CHECK(std::isfinite(thresholds_[i]) && thresholds_[i] > 0.f && thresholds_[i] <= 1.f,
                 ErrorCode::kInvalidArgument, "keyword detector: threshold for '", keywords_[i],
                 "' must be in (0, 1], got ", thresholds_[i]);
  ECHOIC_CHECK(std::isfinite(refractory_s) && refractory_s >= 0, ErrorCode::kInvalidArgument,
               "keyword detector: refractory period must be >= 0 seconds, got ", refractory_s);
  armed_.assign(keywords_.size(), true);
}

std::optional<KeywordEvent> EventDetector::Process(const float* smoothed, double time) {
  int best = -1;
  float best_score = 0.f;
  for (size_t k = 0; k < keywords_.size(); ++k) {
    float s = smoothed[k + 1];
    if (s < thresholds_[k]) {
      armed_[k] = true;  // fell below: the next crossing is a new utterance
      continue;
    }
    if (armed_[k] && s > best_score) {
      best = static_cast<int>(k);
      best_score = s;
    }
  }
  if (best < 0) return std::nullopt;
  if (time - last_event_time_ < refractory_) {
    // Still the utterance that fired (or its echo): it must fall below threshold first.
    for (size_t k = 0; k < keywords_.size(); ++k)
      if (smoothed[k + 1] >= thresholds_[k]) armed_[k] = false;
    return std::nullopt;
  }
  armed_[best] = false;
  last_event_time_ = time;
  KeywordEvent e;
  e.keyword = keywords_[best];
  e.index = best;
  e.time = time;
  e.score = best_score;
  return e;
}

void EventDetector::Reset() {
  last_event_time_ = -1e30;
  armed_.assign(keywords_.size(), true);
}

}  // namespace echoic::kws
