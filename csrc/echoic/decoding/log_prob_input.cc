#include "echoic/decoding/log_prob_input.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

void CheckLogProbs(const char* who, const float* log_probs, int32_t num_frames, int32_t vocab_size,
                   int32_t expected_vocab_size, int64_t first_frame) {
  ECHOIC_CHECK(num_frames >= 0, ErrorCode::kInvalidArgument, who, ": negative frame count ", num_frames);
  if (num_frames == 0) return;
  ECHOIC_CHECK(log_probs != nullptr, ErrorCode::kInvalidArgument, who, ": log-probs pointer is null for ", num_frames,
               " frames");
  ECHOIC_CHECK(vocab_size == expected_vocab_size, ErrorCode::kModel, who, ": log-probs have ", vocab_size,
               " classes per frame but the decoder's vocabulary has ", expected_vocab_size,
               " tokens (model output does not match tokens.txt?)");
  for (int32_t t = 0; t < num_frames; ++t) {
    const float* row = log_probs + static_cast<int64_t>(t) * vocab_size;
    bool any_finite = false;
    for (int32_t v = 0; v < vocab_size; ++v) {
      const float x = row[v];
      if (std::isnan(x) || x == INFINITY)
        Fail(ErrorCode::kInvalidArgument, who, ": log-prob at frame ", first_frame + t, ", token ", v, " is ", x);
      any_finite = any_finite || x != -INFINITY;
    }
    // A frame where every token is impossible is not a distribution (and would
    // leave a beam with no live prefix).
    if (!any_finite) Fail(ErrorCode::kInvalidArgument, who, ": every log-prob at frame ", first_frame + t, " is -inf");
  }
}

}  // namespace echoic::decoding
