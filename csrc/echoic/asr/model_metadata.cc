#include "echoic/asr/model_metadata.h"

#include <cmath>
#include <stdexcept>

#include "echoic/runtime/error.h"

namespace echoic::asr {

int32_t MetadataInt(const ort::Session& s, const std::string& key, int32_t fallback) {
  std::string v = s.GetMetadata(key, "");
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used != v.size() || n < INT32_MIN || n > INT32_MAX) throw std::invalid_argument(v);
    return static_cast<int32_t>(n);
  } catch (const std::exception&) {
    Fail(ErrorCode::kModel, "model '", s.name(), "': metadata '", key, "' = '", v, "' is not an integer");
  }
}

int32_t MetadataIntInRange(const ort::Session& s, const std::string& key, int64_t lo, int64_t hi,
                           std::optional<int32_t> fallback) {
  int64_t v;
  if (!fallback) {
    v = s.RequireMetadataInt(key);
  } else {
    v = MetadataInt(s, key, *fallback);
  }
  ECHOIC_CHECK(v >= lo && v <= hi, ErrorCode::kModel, "model '", s.name(), "': metadata '", key, "' = ", v,
               " is outside the accepted range ", lo, "..", hi);
  return static_cast<int32_t>(v);
}

float MetadataFloat(const ort::Session& s, const std::string& key, float fallback) {
  std::string v = s.GetMetadata(key, "");
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    float f = std::stof(v, &used);
    if (used != v.size() || !std::isfinite(f)) throw std::invalid_argument(v);
    return f;
  } catch (const std::exception&) {
    Fail(ErrorCode::kModel, "model '", s.name(), "': metadata '", key, "' = '", v, "' is not a number");
  }
}

void ExpectTensor(const ort::Session& s, const ort::TensorInfo& t, size_t rank, ort::ElementType type,
                  const char* role) {
  ECHOIC_CHECK(t.shape.size() == rank && t.type == type, ErrorCode::kModel, "model '", s.name(), "': ", role,
               " tensor '", t.name, "' must be ", ort::ElementTypeName(type), " of rank ", rank,
               ", the model declares ", ort::ElementTypeName(t.type), " of rank ", t.shape.size());
}

void ExpectDim(const ort::Session& s, const ort::TensorInfo& t, size_t axis, int64_t want, const char* what) {
  ECHOIC_CHECK(axis >= t.shape.size() || t.shape[axis] < 0 || t.shape[axis] == want, ErrorCode::kModel, "model '",
               s.name(), "': tensor '", t.name, "' has ", t.shape[axis], " at axis ", axis, " but ", what, " is ",
               want);
}

}  // namespace echoic::asr
