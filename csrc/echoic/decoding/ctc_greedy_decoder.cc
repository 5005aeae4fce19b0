#include "echoic/decoding/ctc_greedy_decoder.h"

#include <cmath>

#include "echoic/decoding/log_prob_input.h"
#include "echoic/runtime/error.h"

namespace echoic::decoding {

CtcGreedyDecoder::CtcGreedyDecoder(int32_t vocab_size, int32_t blank_id)
    : vocab_size_(vocab_size), blank_id_(blank_id) {
  ECHOIC_CHECK(vocab_size > 0, ErrorCode::kInvalidArgument, "CtcGreedyDecoder: vocab size must be > 0, got ",
               vocab_size);
  ECHOIC_CHECK(blank_id >= 0 && blank_id < vocab_size, ErrorCode::kInvalidArgument, "CtcGreedyDecoder: blank id ",
               blank_id, " is outside the vocabulary of ", vocab_size);
}

void CtcGreedyDecoder::Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size) {
  CheckLogProbs("CtcGreedyDecoder", log_probs, num_frames, vocab_size, vocab_size_, num_frames_);
  for (int32_t t = 0; t < num_frames; ++t) {
    const float* row = log_probs + static_cast<int64_t>(t) * vocab_size;
    int32_t best = 0;
    for (int32_t v = 1; v < vocab_size; ++v)
      if (row[v] > row[best]) best = v;
    const int32_t frame = static_cast<int32_t>(num_frames_);
    log_prob_ += row[best];
    if (best == blank_id_) {
      ++trailing_blanks_;
    } else {
      trailing_blanks_ = 0;
      if (best != prev_) {  // a new token (a repeat after a blank counts as new)
        tokens_.push_back(best);
        frames_.push_back(frame);
        end_frames_.push_back(frame);
        prob_sum_.push_back(0.0);
        run_len_.push_back(0);
      }
      end_frames_.back() = frame;
      prob_sum_.back() += std::exp(static_cast<double>(row[best]));
      run_len_.back() += 1;
    }
    prev_ = best;
    ++num_frames_;
  }
}

Hypothesis CtcGreedyDecoder::Best() const {
  Hypothesis h;
  h.tokens = tokens_;
  h.frames = frames_;
  h.end_frames = end_frames_;
  h.confidences.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) h.confidences.push_back(static_cast<float>(prob_sum_[i] / run_len_[i]));
  h.log_prob = log_prob_;  // of the best path, a lower bound on the labelling
  h.rank_score = log_prob_;
  return h;
}

void CtcGreedyDecoder::Reset() {
  num_frames_ = 0;
  trailing_blanks_ = 0;
  prev_ = -1;
  log_prob_ = 0.0;
  tokens_.clear();
  frames_.clear();
  end_frames_.clear();
  prob_sum_.clear();
  run_len_.clear();
}

}  // namespace echoic::decoding
