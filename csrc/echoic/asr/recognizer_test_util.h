// Shared by recognizer_test.cc and stream_test.cc: the bundled echoic-small-en,
// a real clip from ../shared, and running a stream to its end.
#ifndef ECHOIC_ASR_RECOGNIZER_TEST_UTIL_H_
#define ECHOIC_ASR_RECOGNIZER_TEST_UTIL_H_

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "echoic/asr/recognizer.h"
#include "testing/check.h"
#include "testing/wav.h"

namespace echoic::asr::testutil {

// echoic-small-en from the source tree, endpointing off.
inline RecognizerConfig SmallModel() {
  RecognizerConfig c;
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  c.model = std::string(src ? src : ".") + "/sdk/echoic/models/echoic-small-en";
  c.enable_endpoint = false;
  if (const char* lib = std::getenv("ECHOIC_ORT_LIBRARY")) c.session.ort_library = lib;
  return c;
}

// "go forward ten meters", 16 kHz. echoic-small-en is weak and writes what it hears ("o forward
// ten matters" with its LM), so tests check the transcript against ClipText() by characters.
inline const char* ClipText() { return "go forward ten meters"; }

inline const std::vector<float>& Clip() {
  static const std::vector<float> clip =
      echoic::testing::ReadWav(echoic::testing::SharedPath("eval/speech-dev/pocketsphinx-goforward__goforward.wav"))
          .samples;
  return clip;
}

// Character edit distance / reference length: a transcript of the clip is near it (<= 0.5) even
// when every word is misspelled, and far from it (> 0.8) when empty or of other speech.
inline double CharErrorRate(const std::string& hyp, const std::string& ref) {
  std::vector<size_t> row(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return ref.empty() ? 0.0 : static_cast<double>(row[hyp.size()]) / ref.size();
}

inline bool SoundsLikeClip(const std::string& text) { return CharErrorRate(text, ClipText()) <= 0.5; }

// Feeds `audio` (16 kHz) in `chunk`-sample pieces, decoding as it goes, then ends
// the input; returns every final result.
inline std::vector<Result> Run(const Recognizer& rec, Stream* s, const std::vector<float>& audio, size_t chunk) {
  for (size_t i = 0; i < audio.size(); i += chunk) {
    s->AcceptWaveform(16000, audio.data() + i, std::min(chunk, audio.size() - i));
    rec.DecodeAvailable(s);
  }
  s->InputFinished();
  while (!rec.IsDone(*s)) rec.DecodeAvailable(s);
  return s->PopFinalResults();
}

// The finals' texts joined by spaces (empty segments skipped).
inline std::string Text(const std::vector<Result>& finals) {
  std::string out;
  for (const Result& r : finals)
    if (!r.text.empty()) out += (out.empty() ? "" : " ") + r.text;
  return out;
}

}  // namespace echoic::asr::testutil

#endif  // ECHOIC_ASR_RECOGNIZER_TEST_UTIL_H_
