// Streaming CTC prefix beam search in log space, with optional hotword biasing
// through a ContextGraph and an optional word LM (lexicon + n-gram). One object
// per stream.
#ifndef ECHOIC_DECODING_CTC_PREFIX_BEAM_SEARCH_H_
#define ECHOIC_DECODING_CTC_PREFIX_BEAM_SEARCH_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/hypothesis.h"
#include "echoic/decoding/word_lm.h"

namespace echoic::decoding {

struct CtcBeamSearchConfig {
  int32_t beam = 4;              // prefixes kept after each frame
  int32_t top_k = 0;             // tokens tried per frame; 0 = same as beam
  float log_prob_floor = -20.f;  // tokens with a lower log-prob are skipped (the argmax never is)
  // kInvalidArgument: beam < 1, top_k < 0, floor NaN or > 0.
  void Validate() const;
};

class CtcPrefixBeamSearch {
 public:
  // `context` and `lm` (either may be null) are shared read-only between streams.
  // With an LM, prefixes must spell its lexicon words and rank by log P +
  // context score + LM score.
  CtcPrefixBeamSearch(int32_t vocab_size, int32_t blank_id, const CtcBeamSearchConfig& config = {},
                      std::shared_ptr<const ContextGraph> context = nullptr,
                      std::shared_ptr<const WordLm> lm = nullptr);

  // Consumes num_frames x vocab_size row-major log-probs; chunking does not
  // change the results.
  void Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size);

  // Best prefix ranked by log P + context score (+ LM score). With
  // finalize=true an unfinished hotword's boost is taken back, and the LM
  // closes the last word and adds </s>, before ranking (use it for final
  // results). Token frames: the frame at which the prefix took the token;
  // confidence: mean posterior over the frames the best path spent on it.
  Hypothesis Best(bool finalize = false) const;
  // At most max_count hypotheses, best first.
  std::vector<Hypothesis> NBest(bool finalize = false, size_t max_count = SIZE_MAX) const;

  // Replaces the hotword graph; only before the first frame (else kState).
  void SetContextGraph(std::shared_ptr<const ContextGraph> context);

  int64_t num_frames() const { return num_frames_; }
  // Frames since the best prefix's last token ended (all when it is empty).
  int64_t trailing_blank_frames() const;
  bool decoded_something() const;
  void Reset();

  const CtcBeamSearchConfig& config() const { return config_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  struct TokenInfo {
    int32_t frame = 0, end_frame = 0, run_len = 0;
    double prob_sum = 0.0;
  };
  struct Prefix {
    std::vector<int32_t> tokens;
    std::vector<TokenInfo> info;  // timing / confidence per token, of the best path
    double pb = 0.0, pnb = 0.0;   // log P(prefix, path ends in blank / in its last token)
    double ctx = 0.0;             // accumulated context (hotword) score
    int32_t ctx_state = 0;
    double lm = 0.0;  // accumulated word LM score
    WordLm::State lm_state;
    uint64_t hash = 0;  // of `tokens`; candidates are merged by it (then compared)
    double Total() const;
  };
  void Step(const float* row, int32_t frame);
  Hypothesis ToHypothesis(const Prefix& p, bool finalize) const;
  double Bias(const Prefix& p, bool finalize) const;  // context + LM score
  std::vector<size_t> Ranked(bool finalize) const;

  int32_t vocab_size_;
  int32_t blank_id_;
  CtcBeamSearchConfig config_;
  std::shared_ptr<const ContextGraph> context_;
  std::shared_ptr<const WordLm> lm_;
  int64_t num_frames_ = 0;
  std::vector<Prefix> beam_;
  std::vector<std::pair<float, int32_t>> scratch_;  // per-frame candidate tokens
};

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_CTC_PREFIX_BEAM_SEARCH_H_
