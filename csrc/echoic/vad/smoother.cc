#include "echoic/vad/smoother.h"

#include <algorithm>
#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::vad {

float SmoothingOptions::EffectiveNegThreshold() const {
  return neg_threshold >= 0.0f ? neg_threshold : std::max(0.01f, threshold - 0.15f);
}

void SmoothingOptions::Validate(const char* who) const {
  ECHOIC_CHECK(threshold > 0.0f && threshold <= 1.0f, ErrorCode::kInvalidArgument, who,
               ": threshold must be in (0, 1], got ", threshold);
  ECHOIC_CHECK(EffectiveNegThreshold() <= threshold, ErrorCode::kInvalidArgument, who, ": neg_threshold ",
               neg_threshold, " must not exceed threshold ", threshold);
  ECHOIC_CHECK(min_speech_ms >= 0 && min_silence_ms >= 0 && speech_pad_ms >= 0, ErrorCode::kInvalidArgument, who,
               ": min_speech_ms, min_silence_ms and speech_pad_ms must be >= 0 (got ", min_speech_ms, ", ",
               min_silence_ms, ", ", speech_pad_ms, ")");
}

SpeechSmoother::SpeechSmoother(const SmoothingOptions& opts) : opts_(opts), neg_(opts.EffectiveNegThreshold()) {
  opts_.Validate("SpeechSmoother");
}

void SpeechSmoother::Push(float prob, double seconds) {
  ECHOIC_CHECK(std::isfinite(prob) && std::isfinite(seconds) && seconds >= 0.0, ErrorCode::kInvalidArgument,
               "SpeechSmoother: bad frame (prob ", prob, ", duration ", seconds, " s)");
  const double start = now_;
  now_ += seconds;
  const double min_speech = opts_.min_speech_ms / 1000.0;
  const double min_silence = opts_.min_silence_ms / 1000.0;

  if (prob >= opts_.threshold) {
    silence_start_ = -1.0;
    if (!in_speech_ && onset_ < 0.0) onset_ = start;
  } else if (prob < neg_) {
    if (silence_start_ < 0.0) silence_start_ = start;
  }

  if (!in_speech_) {
    if (onset_ >= 0.0) {
      if (silence_start_ >= 0.0 && now_ - silence_start_ >= min_silence) {
        onset_ = -1.0;  // a click, not speech
        silence_start_ = -1.0;
      } else if (now_ - onset_ >= min_speech) {
        in_speech_ = true;
        speech_since_reset_ = true;
        seg_start_ = std::max({0.0, last_seg_end_, onset_ - opts_.speech_pad_ms / 1000.0});
        onset_ = -1.0;
      }
    }
    if (onset_ < 0.0 && !in_speech_) silence_start_ = -1.0;  // silence outside speech needs no run
    return;
  }
  if (silence_start_ >= 0.0 && now_ - silence_start_ >= min_silence) {
    CloseSegment(silence_start_);
    silence_start_ = -1.0;
  }
}

void SpeechSmoother::CloseSegment(double raw_end) {
  double end = std::min(now_, raw_end + opts_.speech_pad_ms / 1000.0);
  done_.emplace_back(seg_start_, end);
  last_seg_end_ = end;
  last_speech_end_ = raw_end;
  in_speech_ = false;
}

void SpeechSmoother::Flush() {
  if (in_speech_) CloseSegment(silence_start_ >= 0.0 ? silence_start_ : now_);
  silence_start_ = -1.0;
  onset_ = -1.0;
}

float SpeechSmoother::TrailingSilenceSeconds() const {
  if (in_speech_) return silence_start_ >= 0.0 ? static_cast<float>(now_ - silence_start_) : 0.0f;
  return static_cast<float>(now_ - last_speech_end_);
}

std::vector<std::pair<double, double>> SpeechSmoother::TakeSegments() {
  std::vector<std::pair<double, double>> out;
  out.swap(done_);
  return out;
}

}  // namespace echoic::vad
