// What every decoder here produces: a labelling with its frames and scores
// (asr/result.h turns one into a Result with text, times and words).
#ifndef ECHOIC_DECODING_HYPOTHESIS_H_
#define ECHOIC_DECODING_HYPOTHESIS_H_

#include <cstdint>
#include <vector>

namespace echoic::decoding {

// A decoder's current best labelling. Frame indices count encoder output frames
// (after subsampling) since the decoder's last Reset().
struct Hypothesis {
  std::vector<int32_t> tokens;
  std::vector<int32_t> frames;      // first frame of each token
  std::vector<int32_t> end_frames;  // last frame of each token's run (may be empty)
  std::vector<float> confidences;   // 0..1 per token
  double log_prob = 0.0;            // log P(labelling) as the decoder scored it
  double context_score = 0.0;       // hotword boost included in the ranking
  double context_kept = 0.0;        // boost of completed hotwords only (> 0: a hotword was matched)
  double rank_score = 0.0;          // what the decoder ranks by (log P with LM and hotword terms)
};

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_HYPOTHESIS_H_
