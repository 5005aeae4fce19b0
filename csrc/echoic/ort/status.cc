#include "echoic/ort/status.h"

#include "echoic/runtime/error.h"

namespace echoic::ort {

const c::OrtApi& Api() {
  static const c::OrtApi* api = &Library::Get().api();
  return *api;
}

void Check(c::OrtStatus* status, const std::string& context, const std::string& what) {
  if (!status) return;
  const c::OrtApi& api = Api();
  c::OrtErrorCode ort_code = api.GetErrorCode(status);
  std::string message = api.GetErrorMessage(status) ? api.GetErrorMessage(status) : "(no message)";
  api.ReleaseStatus(status);
  ErrorCode code = ErrorCode::kOrt;
  switch (ort_code) {
    case c::ORT_INVALID_PROTOBUF:
    case c::ORT_INVALID_GRAPH:
      code = ErrorCode::kCorruptData;
      break;
    case c::ORT_NO_SUCHFILE:
      code = ErrorCode::kIo;
      break;
    default:
      if (message.find("bad_alloc") != std::string::npos || message.find("Failed to allocate") != std::string::npos)
        code = ErrorCode::kOutOfMemory;
      break;
  }
  Fail(code, context, ": ", what, ": ", message);
}

std::string TakeOrtString(char* s) {
  if (!s) return "";
  std::string out(s);
  c::OrtAllocator* alloc = nullptr;
  if (Api().GetAllocatorWithDefaultOptions(&alloc) == nullptr && alloc) {
    c::OrtStatus* st = Api().AllocatorFree(alloc, s);
    if (st) Api().ReleaseStatus(st);
  }
  return out;
}

}  // namespace echoic::ort
