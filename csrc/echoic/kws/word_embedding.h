// Acoustic word embeddings from Whisper encoder frames: a spoken word (or short phrase) of any
// length becomes one fixed-size unit vector. Whisper was trained on many voices, so its frames
// carry what was said more than who said it; the log-mel template and the speaker d-vector
// carry the voice (benchmarks/lookup/RESULTS.md).
//
// Embedding of frames [a, b): the span is cut into K equal time slices; each slice's mean frame,
// minus the span's mean over the slices (removes the constant the voice and channel add), is
// projected by slice k's matrix, the K projections are summed, a bias is subtracted and the sum
// is L2-normalised. The matrices are learned (LDA over many words said by many TTS voices,
// recipes/lookup/fit_projection.py, so that what varies with the voice is suppressed) and read
// from a projection file; without one they are a seeded random Gaussian projection (the same on
// every machine; kept for indexes made before, and to compare against). The map is linear, so it
// is applied once per frame (K x dim values) and a window costs K x dim additions per frame.
//
// Projection file (little-endian): "ECHAWEP1", u32 slices, dim, frame_dim, name_len, float32
// threshold (the detection threshold floor its fitting chose on held-out words and voices), the
// name (name_len bytes), float32 weights [slices][dim][frame_dim], float32 bias [dim], u32 CRC-32
// (IEEE) of everything before it.
#ifndef ECHOIC_KWS_WORD_EMBEDDING_H_
#define ECHOIC_KWS_WORD_EMBEDDING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echoic/features/whisper_log_mel.h"
#include "echoic/ort/session.h"

namespace echoic::kws {

// The encoder of a Whisper folder written by `echoic models import` (encoder.onnx with the
// optional `hidden` output, whisper/README.md). Frames are 20 ms; one run covers 30 s.
class FrameEncoder {
 public:
  // `path`: a Whisper model folder or its encoder.onnx. kModel when the graph has no `hidden`
  // output (imported by an older echoic: import it again).
  static std::shared_ptr<FrameEncoder> Load(const std::string& path, const ort::SessionOptions& opts = {});

  int32_t window_frames() const { return n_audio_ctx_; }  // frames per run (1500)
  int64_t window_samples() const { return int64_t{n_audio_ctx_} * kSamplesPerFrame; }
  int32_t dim() const { return n_audio_state_; }
  const std::string& name() const { return name_; }  // the model's name (metadata)
  static constexpr int32_t kSampleRate = 16000, kSamplesPerFrame = 320;

  // Up to window_samples() samples (16 kHz, [-1, 1]), zero-padded to one window as Whisper
  // pads its input. Returns window_frames() x dim() frames, row-major.
  std::vector<float> Encode(const float* samples, size_t n) const;

 private:
  std::shared_ptr<ort::Session> session_;
  std::unique_ptr<features::WhisperLogMel> mel_;
  int32_t n_mels_ = 80, n_audio_ctx_ = 1500, n_audio_state_ = 0;
  std::string name_;
};

struct WordEmbeddingOptions {
  std::string projection;  // projection file; empty = the seeded random projection
  int32_t slices = 6;      // K (random projection; a file sets its own)
  int32_t dim = 64;        // output dimensions (random projection; a file sets its own)
  uint64_t seed = 0x6b77732d617765ull;
};

class WordEmbedder {
 public:
  // Reads opts.projection when set: kIo when it cannot be read, kCorruptData when it is damaged
  // (magic, size, checksum, non-finite values), kModel when it was fitted for another frame_dim.
  WordEmbedder(int32_t frame_dim, const WordEmbeddingOptions& opts = {});
  // opts with slices and dim as used (taken from the projection file when there is one).
  const WordEmbeddingOptions& options() const { return opts_; }
  bool learned() const { return !opts_.projection.empty(); }
  // The lowest detection threshold that suits this embedding's scores (the file's; 0.6 random).
  float default_threshold() const { return default_threshold_; }
  int32_t frame_dim() const { return frame_dim_; }
  // Values per projected frame: slices x dim.
  size_t projected_width() const { return static_cast<size_t>(opts_.slices) * opts_.dim; }
  // Names the embedding (method, K, dim, seed or the file's name and checksum) together with the
  // encoder it reads.
  std::string Id(const std::string& encoder_name) const;

  // frames: n x frame_dim -> out: n x projected_width().
  void Project(const float* frames, size_t n, float* out) const;
  // Embedding (dim floats, unit length) of projected frames [a, b) (rows of `projected`).
  // b - a must be >= 1; slices shorter than a frame reuse their neighbour's frame.
  void Embed(const float* projected, size_t a, size_t b, float* out) const;

 private:
  int32_t frame_dim_;
  WordEmbeddingOptions opts_;
  void LoadProjection();
  std::vector<float> proj_;  // slices x dim x frame_dim: slice k's matrix minus the mean over slices
  std::vector<float> bias_;  // dim, subtracted before normalising (empty: none)
  std::string name_;         // the file's name and checksum
  float default_threshold_ = 0.6f;
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_WORD_EMBEDDING_H_
