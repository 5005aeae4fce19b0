// Internal to the C API: what the recognizer and adaptive-recognizer sections share.
#ifndef ECHOIC_BINDINGS_C_C_API_ASR_H_
#define ECHOIC_BINDINGS_C_C_API_ASR_H_

#include <vector>

#include "c_api_util.h"
#include "echoic.h"
#include "echoic/asr/recognizer_config.h"
#include "echoic/asr/result.h"
#include "echoic/decoding/hotwords.h"

// One result type for both sections (echoic_result_* accessors work on either's results).
struct echoic_result {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kResult;
  echoic::asr::Result impl;
};

namespace echoic::c_api {

// '\n'-separated phrases, each optionally followed by TAB and a boost; NULL = none.
std::vector<decoding::Hotword> ParseHotwordLines(const char* text);

// Copies the decoding, LM, endpoint and session fields of `c` (not model,
// tokens or VAD) into `cfg`.
void CopyDecodingConfig(const echoic_recognizer_config& c, asr::RecognizerConfig* cfg);

}  // namespace echoic::c_api

#endif  // ECHOIC_BINDINGS_C_C_API_ASR_H_
