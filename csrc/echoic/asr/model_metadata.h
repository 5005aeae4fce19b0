// Reading a streaming model's contract: metadata values and tensor checks that
// every model family shares. Errors are kModel and name the model and the key.
#ifndef ECHOIC_ASR_MODEL_METADATA_H_
#define ECHOIC_ASR_MODEL_METADATA_H_

#include <cstdint>
#include <string>

#include "echoic/ort/session.h"

namespace echoic::asr {

// The integer under `key`, or `fallback` when the model has no such key.
int32_t MetadataInt(const ort::Session& s, const std::string& key, int32_t fallback);
// A required integer in 1 .. 2^30.
int32_t RequirePositiveMetadata(const ort::Session& s, const std::string& key);
// The finite number under `key`, or `fallback`.
float MetadataFloat(const ort::Session& s, const std::string& key, float fallback);
// `t` has the given rank and element type; `role` says what the tensor is for.
void ExpectTensor(const ort::Session& s, const ort::TensorInfo& t, size_t rank, ort::ElementType type,
                  const char* role);

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_MODEL_METADATA_H_
