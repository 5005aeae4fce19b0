// The process's one OrtEnv, created lazily and thread-safely on first use.
// ORT logs at warning level and above only; messages go to a user callback if
// one is set, else to stderr.
#ifndef ECHOIC_ORT_ENVIRONMENT_H_
#define ECHOIC_ORT_ENVIRONMENT_H_

#include <functional>
#include <string>

#include "echoic/ort/ort_api.h"

namespace echoic::ort {

enum class LogLevel { kWarning = 2, kError = 3, kFatal = 4 };
using LogCallback = std::function<void(LogLevel level, const std::string& message)>;

class Environment {
 public:
  // Creates the OrtEnv on first call (loading ORT if needed); never released
  // before exit, since sessions may live in static objects.
  static c::OrtEnv* Get();
  // Routes ORT's warning+ messages; an empty callback restores stderr.
  static void SetLogCallback(LogCallback callback);
};

}  // namespace echoic::ort

#endif  // ECHOIC_ORT_ENVIRONMENT_H_
