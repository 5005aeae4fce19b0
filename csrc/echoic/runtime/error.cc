#include "echoic/runtime/error.h"

namespace echoic {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kCorruptData:
      return "corrupt_data";
    case ErrorCode::kModel:
      return "model";
    case ErrorCode::kOrt:
      return "onnxruntime";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kOutOfMemory:
      return "out_of_memory";
    case ErrorCode::kState:
      return "state";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace echoic
