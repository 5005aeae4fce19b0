#include "echoic/asr/result.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::asr {

Result MakeResult(const decoding::Hypothesis& hyp, const decoding::SymbolTable& symbols, float frame_shift_s,
                  float segment_start_s, int32_t segment, bool is_final) {
  const size_t n = hyp.tokens.size();
  ECHOIC_CHECK(std::isfinite(frame_shift_s) && frame_shift_s > 0.f, ErrorCode::kInvalidArgument,
               "MakeResult: frame shift must be > 0 seconds, got ", frame_shift_s);
  ECHOIC_CHECK(std::isfinite(segment_start_s) && segment_start_s >= 0.f, ErrorCode::kInvalidArgument,
               "MakeResult: segment start must be >= 0 seconds, got ", segment_start_s);
  ECHOIC_CHECK(
      hyp.frames.size() == n && hyp.confidences.size() == n && (hyp.end_frames.empty() || hyp.end_frames.size() == n),
      ErrorCode::kInvalidArgument, "MakeResult: hypothesis has ", n, " tokens but ", hyp.frames.size(), " frames, ",
      hyp.end_frames.size(), " end frames and ", hyp.confidences.size(), " confidences");
  Result r;
  r.is_final = is_final;
  r.segment = segment;
  r.segment_start = segment_start_s;
  r.token_ids = hyp.tokens;
  r.text = symbols.Detokenize(hyp.tokens);  // also validates the ids
  r.tokens.reserve(n);
  r.token_times.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    r.tokens.push_back(symbols.Token(hyp.tokens[i]));
    r.token_times.push_back(segment_start_s + static_cast<float>(hyp.frames[i]) * frame_shift_s);
  }
  r.token_confidences = hyp.confidences;
  for (const auto& positions : symbols.GroupWords(hyp.tokens)) {
    WordInfo w;
    std::vector<int32_t> ids;
    float conf = 0.f;
    for (int32_t p : positions) {
      ids.push_back(hyp.tokens[p]);
      conf += hyp.confidences[p];
    }
    w.word = symbols.Detokenize(ids);
    if (w.word.empty()) continue;
    int32_t first = positions.front(), last = positions.back();
    int32_t last_frame = hyp.end_frames.empty() ? hyp.frames[last] : hyp.end_frames[last];
    w.start = segment_start_s + static_cast<float>(hyp.frames[first]) * frame_shift_s;
    w.end = segment_start_s + static_cast<float>(last_frame + 1) * frame_shift_s;
    w.confidence = conf / static_cast<float>(positions.size());
    r.words.push_back(std::move(w));
  }
  return r;
}

}  // namespace echoic::asr
