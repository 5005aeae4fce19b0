// Internal helpers over the raw ORT API: OrtStatus -> echoic::Error, and RAII
// owners for ORT objects so nothing leaks on any path.
#ifndef ECHOIC_ORT_STATUS_H_
#define ECHOIC_ORT_STATUS_H_

#include <memory>
#include <string>

#include "echoic/ort/library.h"
#include "echoic/ort/ort_api.h"

namespace echoic::ort {

// Api of the loaded library (loads with the default resolution if needed).
const c::OrtApi& Api();

// No-op on success. Otherwise releases `status` and throws
// Error(code, "<context>: <what>: <ORT message>") with the code mapped from the
// OrtErrorCode (bad protobuf/graph -> kCorruptData, missing file -> kIo,
// allocation failure -> kOutOfMemory, anything else -> kOrt).
void Check(c::OrtStatus* status, const std::string& context, const std::string& what);

struct OrtReleaser {
  void operator()(c::OrtEnv* p) const { Api().ReleaseEnv(p); }
  void operator()(c::OrtStatus* p) const { Api().ReleaseStatus(p); }
  void operator()(c::OrtMemoryInfo* p) const { Api().ReleaseMemoryInfo(p); }
  void operator()(c::OrtSession* p) const { Api().ReleaseSession(p); }
  void operator()(c::OrtValue* p) const { Api().ReleaseValue(p); }
  void operator()(c::OrtTypeInfo* p) const { Api().ReleaseTypeInfo(p); }
  void operator()(c::OrtTensorTypeAndShapeInfo* p) const { Api().ReleaseTensorTypeAndShapeInfo(p); }
  void operator()(c::OrtSessionOptions* p) const { Api().ReleaseSessionOptions(p); }
  void operator()(c::OrtModelMetadata* p) const { Api().ReleaseModelMetadata(p); }
};
template <typename T>
using OrtPtr = std::unique_ptr<T, OrtReleaser>;

// A string ORT allocated with the default allocator, copied and freed.
std::string TakeOrtString(char* s);

}  // namespace echoic::ort

#endif  // ECHOIC_ORT_STATUS_H_
