// What the recognizer reports for a segment, and how a decoder hypothesis
// (token ids + frames + confidences) becomes one.
#ifndef ECHOIC_ASR_RESULT_H_
#define ECHOIC_ASR_RESULT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "echoic/decoding/hypothesis.h"
#include "echoic/decoding/symbol_table.h"

namespace echoic::asr {

struct WordInfo {
  std::string word;
  float start = 0.f;  // seconds since stream start
  float end = 0.f;
  float confidence = 0.f;  // mean of the word's token confidences
};

// One of the n best texts of a final result (RecognizerConfig::nbest > 1).
struct Alternative {
  std::string text;
  // The decoder's ranking score: higher is better; comparable only within one result
  // (CTC/transducer: log P plus LM and hotword terms; Whisper: mean token log-prob).
  double score = 0.0;
};

struct Result {
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<std::string> tokens;
  std::vector<float> token_times;  // seconds since stream start, start of each token
  std::vector<float> token_confidences;
  std::vector<WordInfo> words;
  bool is_final = false;
  int32_t segment = 0;
  float segment_start = 0.f;  // seconds since stream start
  std::string model;          // model (tier) that produced it
  // words[0, stable_words) will not change in later partials or the final
  // (Whisper streaming confirms words); finals: all words.
  int32_t stable_words = 0;
  // Finals with nbest > 1: the distinct best texts, best first ([0] is `text`).
  std::vector<Alternative> alternatives;
};

// Builds a Result. Times are segment_start_s + frame * frame_shift_s. A word
// ends one frame after the last frame of its last token's run (end_frames when
// the hypothesis has them, else that token's first frame): the blank run that
// follows is silence, not part of the word. Errors: kInvalidArgument for
// inconsistent vector sizes, a non-positive frame shift or unknown token ids.
Result MakeResult(const decoding::Hypothesis& hyp, const decoding::SymbolTable& symbols, float frame_shift_s,
                  float segment_start_s = 0.f, int32_t segment = 0, bool is_final = false);

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_RESULT_H_
