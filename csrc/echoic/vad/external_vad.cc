#include "echoic/vad/external_vad.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::vad {

ExternalVad::ExternalVad(const ExternalVadOptions& opts) : opts_(opts), smoother_(opts.smoothing) {
  ECHOIC_CHECK(opts.sample_rate > 0, ErrorCode::kInvalidArgument, "ExternalVad: sample rate must be positive, got ",
               opts.sample_rate);
}

void ExternalVad::Report(bool is_speech, double seconds) {
  ECHOIC_CHECK(std::isfinite(seconds) && seconds > 0.0 && seconds <= 10.0, ErrorCode::kInvalidArgument,
               "ExternalVad: a reported decision must cover (0, 10] seconds, got ", seconds);
  smoother_.Push(is_speech ? 1.0f : 0.0f, seconds);
}

void ExternalVad::Accept(const float*, size_t) {}  // decisions come from ReportVoiceActivity

std::unique_ptr<VoiceActivityDetector> ExternalVad::Clone() const { return std::make_unique<ExternalVad>(opts_); }

}  // namespace echoic::vad
