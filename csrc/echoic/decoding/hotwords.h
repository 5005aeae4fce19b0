// The one hotword grammar, shared by the CLI, Python, the C API and Java:
//
//   # a comment line (the first non-blank character is '#')
//   echoic                 one phrase per line, default boost
//   open sesame<TAB>2.5    a boost after the last TAB ...
//   open sesame :2.5       ... or after the last " :"
//
// Blank lines are skipped. Phrases are normalised like transcripts: ASCII
// letters lower-cased, ASCII punctuation other than the apostrophe turned into
// spaces, runs of white space collapsed ("Go Forward!" -> "go forward").
// Non-ASCII text is kept as written. A boost is a finite number >= 0 (0: the
// recognizer's default).
#ifndef ECHOIC_DECODING_HOTWORDS_H_
#define ECHOIC_DECODING_HOTWORDS_H_

#include <string>
#include <vector>

namespace echoic::decoding {

// A phrase to bias recognition towards, with its own boost (<= 0: the default).
struct Hotword {
  std::string phrase;
  float score = 0.f;
};

// Limits every recognizer enforces on the hotwords of a stream (kInvalidArgument).
constexpr size_t kMaxHotwords = 1024;
constexpr size_t kMaxHotwordBytes = 256;
void CheckHotwordLimits(const std::vector<Hotword>& hotwords);

// kInvalidArgument naming the line for a bad boost or a line with no words.
std::vector<Hotword> ParseHotwords(const std::string& text);

// The normalisation ParseHotwords applies to each phrase.
std::string NormalizeHotwordPhrase(const std::string& phrase);

// One hotword given as (phrase, boost) rather than as a line of text: the phrase
// normalised, the boost checked (finite, >= 0) as ParseHotwords does; `what` names
// the input in errors.
Hotword MakeHotword(const std::string& phrase, float boost, const std::string& what);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_HOTWORDS_H_
