#include "echoic/asr/endpoint.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::asr {

namespace {

void CheckRule(const EndpointRule& r, int n) {
  ECHOIC_CHECK(std::isfinite(r.min_trailing_silence_s) && r.min_trailing_silence_s >= 0.f, ErrorCode::kInvalidArgument,
               "EndpointConfig: rule ", n, " min_trailing_silence_s must be finite and >= 0, got ",
               r.min_trailing_silence_s);
  ECHOIC_CHECK(std::isfinite(r.min_utterance_length_s) && r.min_utterance_length_s >= 0.f, ErrorCode::kInvalidArgument,
               "EndpointConfig: rule ", n, " min_utterance_length_s must be finite and >= 0, got ",
               r.min_utterance_length_s);
  ECHOIC_CHECK(!r.enabled || r.min_trailing_silence_s > 0.f || r.min_utterance_length_s > 0.f,
               ErrorCode::kInvalidArgument, "EndpointConfig: rule ", n,
               " has no threshold (both 0) and would fire on every update; disable it instead");
}

bool Fires(const EndpointRule& r, bool decoded, float silence, float length) {
  if (!r.enabled) return false;
  if (r.must_contain_speech && !decoded) return false;
  // Times come from frame counts x frame shift; a 0.1 ms slack keeps e.g.
  // 30 x 0.04 s from missing a 1.2 s threshold through float rounding.
  constexpr float kSlack = 1e-4f;
  return silence + kSlack >= r.min_trailing_silence_s && length + kSlack >= r.min_utterance_length_s;
}

}  // namespace

void EndpointConfig::Validate() const {
  CheckRule(rule1, 1);
  CheckRule(rule2, 2);
  CheckRule(rule3, 3);
}

EndpointDetector::EndpointDetector(const EndpointConfig& config) : config_(config) { config_.Validate(); }

bool EndpointDetector::Update(bool decoded_something, float trailing_silence_s, float utterance_length_s) {
  ECHOIC_CHECK(std::isfinite(trailing_silence_s) && trailing_silence_s >= 0.f, ErrorCode::kInvalidArgument,
               "EndpointDetector: trailing silence must be finite and >= 0 s, got ", trailing_silence_s);
  ECHOIC_CHECK(std::isfinite(utterance_length_s) && utterance_length_s >= 0.f, ErrorCode::kInvalidArgument,
               "EndpointDetector: utterance length must be finite and >= 0 s, got ", utterance_length_s);
  last_rule_ = Fires(config_.rule1, decoded_something, trailing_silence_s, utterance_length_s)   ? 1
               : Fires(config_.rule2, decoded_something, trailing_silence_s, utterance_length_s) ? 2
               : Fires(config_.rule3, decoded_something, trailing_silence_s, utterance_length_s) ? 3
                                                                                                 : 0;
  return last_rule_ != 0;
}

float EndpointDetector::SilenceFromBlankFrames(int64_t trailing_blank_frames, float frame_shift_s) {
  ECHOIC_CHECK(trailing_blank_frames >= 0, ErrorCode::kInvalidArgument,
               "EndpointDetector: trailing blank frames must be >= 0, got ", trailing_blank_frames);
  ECHOIC_CHECK(std::isfinite(frame_shift_s) && frame_shift_s > 0.f, ErrorCode::kInvalidArgument,
               "EndpointDetector: frame shift must be > 0 s, got ", frame_shift_s);
  return static_cast<float>(trailing_blank_frames) * frame_shift_s;
}

}  // namespace echoic::asr
