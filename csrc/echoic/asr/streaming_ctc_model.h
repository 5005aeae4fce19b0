// A chunked streaming CTC encoder behind the WeNet-CTC ONNX contract (the one
// sherpa-onnx's OnlineRecognizer.from_wenet_ctc runs), driven only by the
// model's metadata. echoic's own exports extend the contract with a stream-major
// batch dimension so that many streams share one encoder run.
#ifndef ECHOIC_ASR_STREAMING_CTC_MODEL_H_
#define ECHOIC_ASR_STREAMING_CTC_MODEL_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echoic/asr/acoustic_model.h"
#include "echoic/ort/session.h"

namespace echoic::asr {

// Everything the runtime needs to know about a model, read from its metadata
// (the family-independent fields live in AcousticModelInfo).
struct StreamingCtcModelInfo : AcousticModelInfo {
  int32_t num_blocks = 0;       // encoder layers
  int32_t head = 0;             // attention heads
  int32_t output_size = 0;      // encoder width
  int32_t head_dim = 0;         // per-head width d_k: output_size / head unless pruned heads say otherwise
  int32_t cnn_kernel = 0;       // depthwise conv kernel (cache keeps kernel-1 frames)
  int32_t right_context = 0;    // look-ahead feature frames of the subsampling front
  int32_t chunk_size = 0;       // encoder frames per chunk
  int32_t num_left_chunks = 0;  // cache = chunk_size * num_left_chunks encoder frames
  bool batchable = false;       // accepts B > 1 (stream-major caches)

  int32_t cache_size() const { return chunk_size * num_left_chunks; }
};

// One stream's encoder state: fixed size, independent of utterance length. The caches are
// allocated by the first chunk (all zeros before it), so idle streams cost next to nothing.
struct EncoderState : ModelState {
  std::vector<float> att_cache;           // [num_blocks, head, cache, 2*d_k]; empty until the first chunk
  std::vector<float> cnn_cache;           // [num_blocks, output_size, kernel-1]; empty until the first chunk
  size_t att_floats = 0, cnn_floats = 0;  // their sizes once allocated
  int64_t offset = 0;                     // contract: starts at cache size, + chunk_size per chunk
  int64_t chunks_done = 0;
  size_t Bytes() const override { return (att_floats + cnn_floats) * sizeof(float); }
};

class StreamingCtcModel final : public AcousticModel {
 public:
  // Validates the contract (inputs, outputs, metadata) and throws kModel naming
  // the model and the offending key or tensor.
  explicit StreamingCtcModel(std::shared_ptr<ort::Session> session);
  static std::shared_ptr<StreamingCtcModel> Load(const std::string& path, const ort::SessionOptions& options);

  const StreamingCtcModelInfo& info() const override { return info_; }
  const ort::Session& session() const { return *session_; }
  EncoderState InitState() const;

  // AcousticModel
  std::unique_ptr<ModelState> NewState() const override { return std::make_unique<EncoderState>(InitState()); }
  void Run(const std::vector<const float*>& features, const std::vector<ModelState*>& states,
           std::vector<std::vector<float>>* out) const override;

  // Runs one chunk for each stream: features[b] points to chunk_frames() x
  // feature_dim floats. Streams are batched into one run when the model allows
  // it. log_probs[b] receives chunk_size x vocab_size floats. Thread-safe.
  void Forward(const std::vector<const float*>& features, const std::vector<EncoderState*>& states,
               std::vector<std::vector<float>>* log_probs) const;

 private:
  void RunBatch(const std::vector<const float*>& features, const std::vector<EncoderState*>& states,
                std::vector<std::vector<float>>* log_probs, size_t begin, size_t end) const;

  // Buffers one encoder run needs beside the streams' own state, kept between runs (one set per
  // concurrent run) so that a run allocates nothing large: per-run tensors of a batch's caches
  // fragmented the heap (100 streams grew the heap by 170 MB it could not reuse), and the tensors
  // were zero-filled before being overwritten. A single-stream run reads the stream's caches in
  // place and its new caches are swapped in, so it copies no state at all.
  struct Staging {
    std::vector<float> x, att, cnn, lp, att_out, cnn_out;
    std::vector<float> spare_att, spare_cnn;  // exactly one stream's caches: swapped with a stream's
    std::vector<int64_t> offset;
    std::unique_ptr<bool[]> mask;
    size_t mask_size = 0;
  };
  std::unique_ptr<Staging> TakeStaging() const;
  void GiveStaging(std::unique_ptr<Staging> staging) const;

  std::shared_ptr<ort::Session> session_;
  StreamingCtcModelInfo info_;
  std::vector<std::string> input_names_;
  std::vector<std::string> output_names_;
  bool offset_is_scalar_ = false;
  bool cache_size_is_scalar_ = false;
  mutable std::mutex staging_mu_;
  mutable std::vector<std::unique_ptr<Staging>> staging_;  // idle sets
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_STREAMING_CTC_MODEL_H_
