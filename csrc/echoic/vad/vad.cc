#include "echoic/vad/vad.h"

#include "echoic/runtime/error.h"

namespace echoic::vad {

void CheckSampleRate(const VoiceActivityDetector& vad, int64_t rate, const char* what) {
  ECHOIC_CHECK(rate == vad.sample_rate(), ErrorCode::kInvalidArgument, what, ": audio at ", rate,
               " Hz, but this VAD expects ", vad.sample_rate(), " Hz (resample first)");
}

}  // namespace echoic::vad
