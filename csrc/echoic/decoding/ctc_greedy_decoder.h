// Streaming greedy CTC decoding: per-frame argmax, repeats collapsed (also
// across chunk borders), blanks dropped.
#ifndef ECHOIC_DECODING_CTC_GREEDY_DECODER_H_
#define ECHOIC_DECODING_CTC_GREEDY_DECODER_H_

#include <cstdint>
#include <vector>

#include "echoic/decoding/hypothesis.h"

namespace echoic::decoding {

class CtcGreedyDecoder {
 public:
  // kInvalidArgument unless 0 <= blank_id < vocab_size.
  CtcGreedyDecoder(int32_t vocab_size, int32_t blank_id);

  // Consumes num_frames x vocab_size row-major log-probs. Results do not depend
  // on how frames are split into chunks. Ties pick the lowest token id.
  void Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size);

  // Best labelling so far (a partial result; also the final one after the last
  // chunk). Confidence = mean posterior exp(logp) over the token's frames.
  Hypothesis Best() const;

  int64_t num_frames() const { return num_frames_; }
  // Frames since the last non-blank argmax (all frames when nothing decoded).
  int64_t trailing_blank_frames() const { return trailing_blanks_; }
  bool decoded_something() const { return !tokens_.empty(); }
  void Reset();

  int32_t vocab_size() const { return vocab_size_; }
  int32_t blank_id() const { return blank_id_; }

 private:
  int32_t vocab_size_;
  int32_t blank_id_;
  int64_t num_frames_ = 0;
  int64_t trailing_blanks_ = 0;
  int32_t prev_ = -1;  // argmax of the previous frame (-1 at start)
  double log_prob_ = 0.0;
  std::vector<int32_t> tokens_, frames_, end_frames_;
  std::vector<double> prob_sum_;
  std::vector<int32_t> run_len_;
};

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_CTC_GREEDY_DECODER_H_
