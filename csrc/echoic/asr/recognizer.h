// Streaming speech recognizer: shares one encoder session among many streams
// and decodes them in batches. Thread-safe; each Stream has a single owner.
#ifndef ECHOIC_ASR_RECOGNIZER_H_
#define ECHOIC_ASR_RECOGNIZER_H_

#include <atomic>
#include <memory>
#include <vector>

#include "echoic/asr/recognizer_config.h"
#include "echoic/asr/result.h"
#include "echoic/asr/stream.h"
#include "echoic/asr/streaming_ctc_model.h"
#include "echoic/asr/streaming_transducer_model.h"
#include "echoic/asr/symbol_table.h"
#include "echoic/asr/word_lm.h"
#include "echoic/vad/vad.h"
#include "echoic/whisper/streaming.h"

namespace echoic::asr {

class Recognizer {
 public:
  explicit Recognizer(const RecognizerConfig& config);
  ~Recognizer();

  const RecognizerConfig& config() const { return config_; }
  // StreamingCtcModelInfo or StreamingTransducerModelInfo underneath (see family).
  // WhisperModelInfo for a Whisper model folder.
  const AcousticModelInfo& model_info() const { return whisper_ ? whisper_->model().info() : model_->info(); }
  // kUnsupported for Whisper models (their vocabulary is byte-level BPE).
  const SymbolTable& symbols() const;
  bool is_whisper() const { return whisper_ != nullptr; }
  // The word LM beam search uses (null when none; see RecognizerConfig::lm).
  const WordLm* word_lm() const { return word_lm_.get(); }

  std::unique_ptr<Stream> CreateStream(const std::vector<Hotword>& hotwords = {}) const;

  // True when the stream holds enough audio for its next chunk (or has a tail to flush).
  bool IsReady(const Stream& stream) const;
  // Decodes one chunk of every ready stream in `streams`, batching them through
  // the encoder; streams that are not ready are left untouched.
  void Decode(const std::vector<Stream*>& streams) const;
  // Convenience: decode this stream until it needs more audio.
  void DecodeAvailable(Stream* stream) const;

  // The current (partial) result of the stream's open segment.
  Result GetPartial(const Stream& stream) const;
  // All audio given, decoded, and the last segment reported.
  bool IsDone(const Stream& stream) const { return stream.input_finished() && !IsReady(stream); }

 private:
  void LoadWhisper();
  void CheckOwner(const Stream& s) const;  // kInvalidArgument for a stream another recognizer made
  void LoadWordLm();
  void ResolveDecoding();  // "auto" decoding and beam size, after the model and tokens are loaded
  void AfterChunk(Stream* s, int32_t frames) const;
  void CloseSegment(Stream* s, bool last) const;

  RecognizerConfig config_;
  std::shared_ptr<AcousticModel> model_;
  std::shared_ptr<StreamingTransducerModel> transducer_;  // set when the model is a transducer
  std::shared_ptr<SymbolTable> symbols_;
  std::shared_ptr<whisper::StreamingDecoder> whisper_;  // set when the model is a Whisper folder
  std::shared_ptr<const WordLm> word_lm_;
  features::FbankOptions fbank_options_;
  std::unique_ptr<vad::VoiceActivityDetector> vad_prototype_;  // cloned per stream
  mutable std::atomic<int64_t> next_stream_id_{1};
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_RECOGNIZER_H_
