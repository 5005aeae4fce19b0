#include "echoic/vad/vad.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::vad {

void CheckSampleRate(const VoiceActivityDetector& vad, int64_t rate, const char* what) {
  ECHOIC_CHECK(rate == vad.sample_rate(), ErrorCode::kInvalidArgument, what, ": audio at ", rate,
               " Hz, but this VAD expects ", vad.sample_rate(), " Hz (resample first)");
}

void ValidateSamples(const float* samples, size_t n, const char* who) {
  ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, who, ": null sample pointer");
  for (size_t i = 0; i < n; ++i) {
    float x = samples[i];
    ECHOIC_CHECK(std::isfinite(x), ErrorCode::kInvalidArgument, who, ": sample ", i, " of this chunk is ", x,
                 " (audio must be finite)");
    ECHOIC_CHECK(std::fabs(x) <= kMaxAbsSample, ErrorCode::kInvalidArgument, who, ": sample ", i,
                 " of this chunk is ", x, "; samples must be in [-1, 1] (divide int16 audio by 32768)");
  }
}

}  // namespace echoic::vad
