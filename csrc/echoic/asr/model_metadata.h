// Reading a streaming model's contract: metadata values and tensor checks that
// every model family shares. Errors are kModel and name the model and the key.
#ifndef ECHOIC_ASR_MODEL_METADATA_H_
#define ECHOIC_ASR_MODEL_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>

#include "echoic/ort/session.h"

namespace echoic::asr {

// The integer under `key`, or `fallback` when the model has no such key.
int32_t MetadataInt(const ort::Session& s, const std::string& key, int32_t fallback);
// The finite number under `key`, or `fallback`.
float MetadataFloat(const ort::Session& s, const std::string& key, float fallback);
// The integer under `key` in lo..hi: required when `fallback` is empty, else
// `fallback` when the model has no such key. kModel names the model, the key,
// the value and the range.
int32_t MetadataIntInRange(const ort::Session& s, const std::string& key, int64_t lo, int64_t hi,
                           std::optional<int32_t> fallback = std::nullopt);

// The ranges echoic accepts for streaming-model metadata (hostile or broken
// models must fail at load, not allocate gigabytes or overflow later).
namespace limits {
constexpr int64_t kMaxLayers = 256;       // num_blocks, num_encoder_layers
constexpr int64_t kMaxHeads = 256;        // head
constexpr int64_t kMaxModelDim = 16384;   // output_size, d_model, rnn_hidden_size, joiner_dim
constexpr int64_t kMaxKernel = 1024;      // cnn_module_kernel
constexpr int64_t kMaxSubsampling = 64;   // subsampling_factor
constexpr int64_t kMaxVocab = 1 << 20;    // vocab_size
constexpr int64_t kMaxFeatureDim = 1024;  // feature_dim
constexpr int64_t kMinSampleRate = 1000, kMaxSampleRate = 384000;
constexpr int64_t kMaxChunkFrames = 1024;              // chunk_size, num_left_chunks, right_context (frames)
constexpr int64_t kMaxChunkFeatureFrames = 8192;       // feature frames per chunk (T, decode_chunk_len)
constexpr int64_t kMaxContextSize = 64;                // transducer decoder context_size
constexpr int64_t kMaxStateFloats = int64_t{1} << 26;  // per-stream encoder state (256 MB)
}  // namespace limits

// `t` has the given rank and element type; `role` says what the tensor is for.
void ExpectTensor(const ort::Session& s, const ort::TensorInfo& t, size_t rank, ort::ElementType type,
                  const char* role);
// A static dim of `t` must equal `want` (`what` names where `want` comes from);
// dynamic (-1) dims pass.
void ExpectDim(const ort::Session& s, const ort::TensorInfo& t, size_t axis, int64_t want, const char* what);

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_MODEL_METADATA_H_
