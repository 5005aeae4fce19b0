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
#include "echoic/decoding/hotwords.h"
#include "echoic/decoding/symbol_table.h"
#include "echoic/decoding/word_lm.h"
#include "echoic/vad/vad.h"
#include "echoic/whisper/streaming.h"

namespace echoic::asr {

// What a loaded recognizer costs in memory: the one source of these figures for
// Recognizer.memory_report(), `echoic info --memory` and the fallback policy's
// estimate of the room a tier needs. Resident figures are process RSS deltas
// (other threads allocating at the same time blur them); -1 = not measured yet.
struct MemoryReport {
  int64_t model_file_bytes = 0;  // the model's .onnx files (and word LM file) on disk
  int64_t load_bytes = -1;       // RSS growth while loading: weights as ORT holds them, pre-packed copies, LM
  int64_t first_run_bytes = -1;  // RSS growth over the first decode: ORT's arena and working buffers
  int64_t stream_bytes = 0;      // one stream: encoder state (or Whisper's audio window) + feature buffer
  int32_t max_batch = 1;         // streams per encoder run: the batch tensors hold this many states twice
  // load + first run + `streams` streams + the batch buffers of min(streams, max_batch) streams.
  int64_t EstimatedBytes(int64_t streams) const;
};

class Recognizer {
 public:
  explicit Recognizer(const RecognizerConfig& config);
  ~Recognizer();

  const RecognizerConfig& config() const { return config_; }
  // StreamingCtcModelInfo or StreamingTransducerModelInfo underneath (see family).
  // WhisperModelInfo for a Whisper model folder.
  const AcousticModelInfo& model_info() const { return whisper_ ? whisper_->model().info() : model_->info(); }
  // kUnsupported for Whisper models (their vocabulary is byte-level BPE).
  const decoding::SymbolTable& symbols() const;
  bool is_whisper() const { return whisper_ != nullptr; }
  // The word LM beam search uses (null when none; see RecognizerConfig::lm).
  const decoding::WordLm* word_lm() const { return word_lm_.get(); }
  // See MemoryReport; first_run_bytes is filled in by the first Decode.
  MemoryReport memory_report() const;

  std::unique_ptr<Stream> CreateStream(const std::vector<decoding::Hotword>& hotwords = {}) const;

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
  void Load();
  void LoadWhisper();
  // Decodes, measuring the RSS growth of the first call in the recognizer's life.
  template <typename Fn>
  void MeasuredRun(Fn&& run) const;
  void CheckOwner(const Stream& s) const;  // kInvalidArgument for a stream another recognizer made
  void LoadWordLm();
  void ResolveDecoding();  // "auto" decoding and beam size, after the model and tokens are loaded
  void AfterChunk(Stream* s, int32_t frames) const;
  void CloseSegment(Stream* s, bool last) const;

  RecognizerConfig config_;
  std::shared_ptr<AcousticModel> model_;
  std::shared_ptr<StreamingTransducerModel> transducer_;  // set when the model is a transducer
  std::shared_ptr<decoding::SymbolTable> symbols_;
  std::shared_ptr<whisper::StreamingDecoder> whisper_;  // set when the model is a Whisper folder
  std::shared_ptr<const decoding::WordLm> word_lm_;
  features::FbankOptions fbank_options_;
  std::unique_ptr<vad::VoiceActivityDetector> vad_prototype_;  // cloned per stream
  mutable std::atomic<int64_t> next_stream_id_{1};
  MemoryReport memory_;
  mutable std::atomic<int64_t> first_run_bytes_{-1};
  mutable std::atomic<bool> first_run_claimed_{false};
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_RECOGNIZER_H_
