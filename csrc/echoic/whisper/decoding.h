// Whisper token decoding for one 30 s window: greedy or beam search over the
// decoder-step graph, the special-token grammar (no-timestamps mode, suppress
// lists, no-speech probability), temperature fallback with compression-ratio and
// log-prob guards, and token timings from the alignment heads (DTW).
#ifndef ECHOIC_WHISPER_DECODING_H_
#define ECHOIC_WHISPER_DECODING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "echoic/whisper/alignment.h"
#include "echoic/whisper/whisper_model.h"

namespace echoic::whisper {

struct DecodingOptions {
  int32_t beam_size = 1;  // 1 = greedy
  int32_t nbest = 1;      // > 1: keep up to this many finished beams (DecodingResult::alternatives)
  // Decode with timestamp tokens (Whisper's usual mode; more accurate) when there
  // is no forced prefix; with a prefix, and when false, no-timestamps mode.
  bool timestamps = true;
  float patience = 1.0f;  // beam search stops after beam_size * patience finished hypotheses
  // Tried in order while a result fails the guards below (OpenAI's defaults).
  std::vector<float> temperatures{0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  float compression_ratio_threshold = 2.4f;  // above: a repetition loop, retry hotter
  float logprob_threshold = -1.0f;           // mean token log-prob below: retry hotter
  float no_speech_threshold = 0.6f;          // with a low log-prob: the window holds no speech
  int32_t max_new_tokens = 0;                // 0 = n_text_ctx / 2 - 1
  uint32_t seed = 0;                         // sampling at temperature > 0 is reproducible
  // Contextual biasing: a token that starts or continues a hotword (after the
  // tokens already decoded) gets the hotword's boost (> 0) or hotword_boost
  // added to its logit.
  struct Hotword {
    std::vector<int32_t> tokens;
    float boost = 0.f;
  };
  std::vector<Hotword> hotwords;
  float hotword_boost = 5.0f;
};

struct DecodingResult {
  std::vector<int32_t> tokens;  // text tokens: the forced prefix, then the decoded ones (no specials)
  std::vector<float> probs;     // per token; 1 for the forced prefix
  double sum_logprob = 0.0;     // over decoded tokens (and the final eot)
  double avg_logprob = 0.0;     // sum_logprob / (decoded tokens + 1), as OpenAI
  float no_speech_prob = 0.f;
  float temperature = 0.f;
  float compression_ratio = 0.f;
  // no_speech_prob > threshold and avg_logprob < logprob_threshold, or every
  // temperature failed the guards with a low log-prob (noise decoded as words).
  bool no_speech = false;
  // Beam search with nbest > 1: the finished hypotheses best first, as text tokens
  // (prefix included) with their ranking score (mean log-prob); [0] is `tokens`.
  struct Alternative {
    std::vector<int32_t> tokens;
    double score = 0.0;
  };
  std::vector<Alternative> alternatives;
};

// prompt: text tokens of earlier windows (conditioning, after sot_prev); prefix:
// tokens the result must start with (words already confirmed to the user).
// cross: the window's cross-attention cache, batch 1.
DecodingResult DecodeWindow(const WhisperModel& model, const CrossCache& cross, const std::vector<int32_t>& prompt,
                            const std::vector<int32_t>& prefix, const DecodingOptions& options);

// Several windows at once (cross: one row per window): greedy windows at
// temperature 0 share one decoder batch (prompts of different lengths are
// padded); beam search and fallback passes run per window. Same results as
// DecodeWindow on each, up to float rounding of the padded batch.
std::vector<DecodingResult> DecodeWindows(const WhisperModel& model, const CrossCache& cross,
                                          const std::vector<std::vector<int32_t>>& prompts,
                                          const std::vector<std::vector<int32_t>>& prefixes,
                                          const std::vector<DecodingOptions>& options);

// Start/end of each of `tokens` within the window (seconds), from the alignment
// heads' cross-attention over the first `audio_frames` encoder frames.
std::vector<TokenSpan> TimeTokens(const WhisperModel& model, const CrossCache& cross,
                                  const std::vector<int32_t>& tokens, int32_t audio_frames);

// zlib-style compression ratio of the text (bytes / LZ77-compressed size), the
// repetition guard: plain speech is ~1-2, a looping decode far above 2.4.
float CompressionRatio(const std::string& text);

}  // namespace echoic::whisper

#endif  // ECHOIC_WHISPER_DECODING_H_
