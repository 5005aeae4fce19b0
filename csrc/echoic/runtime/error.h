// Typed errors for the whole core. Every failure the library reports is an
// echoic::Error carrying a stable code; the C API and the Python module map the
// codes to integers and exception classes. The library never aborts or exits.
#ifndef ECHOIC_RUNTIME_ERROR_H_
#define ECHOIC_RUNTIME_ERROR_H_

#include <sstream>
#include <stdexcept>
#include <string>

namespace echoic {

// Values are part of the C ABI (see bindings/c/echoic.h): append only.
enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // caller passed something unusable (shape, range, NaN)
  kIo = 2,               // file missing / unreadable / unwritable
  kCorruptData = 3,      // damaged model, index or audio file
  kModel = 4,            // model contract violated (metadata, tensor names/shapes)
  kOrt = 5,              // ONNX Runtime failed (library missing/too old, run error)
  kUnsupported = 6,      // valid request the build or model cannot serve
  kOutOfMemory = 7,      // allocation failed or memory budget exhausted
  kState = 8,            // API misuse: wrong order, closed handle, wrong thread
  kNotFound = 9,         // named entry (model, speaker, id) does not exist
  kInternal = 10,        // a bug in echoic
};

const char* ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {
inline void Append(std::ostringstream&) {}
template <typename T, typename... Rest>
void Append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  Append(os, rest...);
}
}  // namespace detail

// Builds the message from any streamable parts: Fail(kIo, "cannot open '", path, "'").
template <typename... Parts>
[[noreturn]] void Fail(ErrorCode code, const Parts&... parts) {
  std::ostringstream os;
  detail::Append(os, parts...);
  throw Error(code, os.str());
}

}  // namespace echoic

#define ECHOIC_CHECK(cond, code, ...)                 \
  do {                                                \
    if (!(cond)) ::echoic::Fail((code), __VA_ARGS__); \
  } while (0)

#endif  // ECHOIC_RUNTIME_ERROR_H_
