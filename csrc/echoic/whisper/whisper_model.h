// A Whisper model converted by `echoic models import`: encoder.onnx (log-mel ->
// every decoder layer's cross-attention K/V), decoder.onnx (one step over T new
// tokens with the self-attention K/V cache as input/output), vocabulary.txt and
// merges.txt. The contract (tensor names, metadata keys) is in README.md here.
#ifndef ECHOIC_WHISPER_WHISPER_MODEL_H_
#define ECHOIC_WHISPER_WHISPER_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "echoic/asr/acoustic_model.h"
#include "echoic/ort/session.h"
#include "echoic/ort/tensor.h"
#include "echoic/whisper/tokenizer.h"

namespace echoic::whisper {

// Everything the decoder needs from the checkpoint; read from decoder.onnx's metadata.
struct WhisperModelInfo : asr::AcousticModelInfo {
  int32_t n_mels = 80, n_audio_ctx = 1500, n_text_ctx = 448, n_text_state = 0, n_text_layer = 0, n_text_head = 0;
  int32_t n_vocab = 0;
  bool multilingual = false;
  int32_t sot = -1, eot = -1, sot_prev = -1, no_timestamps = -1, no_speech = -1, timestamp_begin = -1;
  std::vector<int32_t> sot_sequence;
  std::vector<int32_t> suppress_tokens;  // never sampled
  std::vector<int32_t> suppress_blank;   // not sampled first (space, eot)
  int32_t n_alignment_heads = 0;
  std::string precision;
  int32_t n_samples() const { return n_audio_ctx * 2 * 160; }  // one 30 s window
  float window_seconds() const { return n_audio_ctx * 0.02f; }
};

// Self-attention cache of a decoder batch: K/V [layers, batch, positions, state].
// Rows may hold prompts of different lengths: shorter ones are padded, and the
// mask says which slots are real.
struct SelfCache {
  ort::Tensor k, v;
  ort::Tensor mask;           // [batch, positions]: 0 = a cached token, -1e9 = padding
  std::vector<int64_t> next;  // per row: the position of its next token
  int64_t positions() const { return k.shape().size() == 4 ? k.shape()[2] : 0; }
  int64_t batch() const { return static_cast<int64_t>(next.size()); }
};

// Cross-attention K/V of a batch of windows, split into heads: K [layers, batch,
// heads, head_dim, n_audio_ctx] (transposed), V [layers, batch, heads, n_audio_ctx, head_dim].
struct CrossCache {
  ort::Tensor k, v;
  int64_t batch() const { return k.shape().size() == 5 ? k.shape()[1] : 0; }
};

struct DecoderOutput {
  std::vector<float> logits;     // batch x n_vocab (last new position)
  std::vector<float> alignment;  // batch x heads x T x n_audio_ctx (only when asked)
};

class WhisperModel {
 public:
  // A folder with encoder.onnx, decoder.onnx, vocabulary.txt (+ merges.txt).
  static bool LooksLikeWhisperDir(const std::string& path);
  static std::shared_ptr<WhisperModel> Load(const std::string& dir, const ort::SessionOptions& opts);
  // The metadata of the decoder, checked against both graphs' tensor shapes (kModel); what Load
  // reads before the tokenizer. `dir` only names the model in messages and is the default name.
  static WhisperModelInfo ReadInfo(const ort::Session& encoder, const ort::Session& decoder, const std::string& dir);

  const WhisperModelInfo& info() const { return info_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

  // mels: batch x n_mels x (2 * n_audio_ctx), row-major.
  CrossCache Encode(const std::vector<float>& mels, int64_t batch) const;
  // Selects rows of the cross cache (e.g. one window for each beam): rows[i] indexes `cross`.
  static CrossCache SelectRows(const CrossCache& cross, const std::vector<int32_t>& rows);
  static SelfCache SelectRows(const SelfCache& cache, const std::vector<int32_t>& rows);
  static SelfCache EmptyCache(const WhisperModelInfo& info, int64_t batch);
  // One batch from single-row caches of different lengths (padded, masked).
  static SelfCache Stack(const std::vector<const SelfCache*>& rows);

  // Runs tokens (batch x T) after `cache` (updated in place) against `cross`
  // (batch rows, or one row shared by all).
  DecoderOutput Step(const std::vector<int64_t>& tokens, int64_t batch, SelfCache* cache, const CrossCache& cross,
                     bool want_alignment) const;

 private:
  WhisperModelInfo info_;
  std::shared_ptr<ort::Session> encoder_, decoder_;
  std::shared_ptr<Tokenizer> tokenizer_;
};

}  // namespace echoic::whisper

#endif  // ECHOIC_WHISPER_WHISPER_MODEL_H_
