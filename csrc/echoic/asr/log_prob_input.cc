#include "echoic/asr/log_prob_input.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::asr {

void CheckLogProbs(const char* who, const float* log_probs, int32_t num_frames, int32_t vocab_size,
                   int32_t expected_vocab_size, int64_t first_frame) {
  ECHOIC_CHECK(num_frames >= 0, ErrorCode::kInvalidArgument, who, ": negative frame count ", num_frames);
  if (num_frames == 0) return;
  ECHOIC_CHECK(log_probs != nullptr, ErrorCode::kInvalidArgument, who, ": log-probs pointer is null for ",
               num_frames, " frames");
  ECHOIC_CHECK(vocab_size == expected_vocab_size, ErrorCode::kModel, who, ": log-probs have ", vocab_size,
               " classes per frame but the decoder's vocabulary has ", expected_vocab_size,
               " tokens (model output does not match tokens.txt?)");
  const int64_t total = static_cast<int64_t>(num_frames) * vocab_size;
  for (int64_t i = 0; i < total; ++i) {
    float v = log_probs[i];
    if (std::isnan(v) || v == INFINITY)
      Fail(ErrorCode::kInvalidArgument, who, ": log-prob at frame ", first_frame + i / vocab_size, ", token ",
           i % vocab_size, " is ", v);
  }
}

}  // namespace echoic::asr
