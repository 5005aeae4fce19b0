#include "echoic/ort/environment.h"

#include <cstdio>
#include <mutex>

#include "echoic/ort/status.h"

namespace echoic::ort {

namespace {

std::mutex g_log_mutex;
LogCallback g_log_callback;

void OnOrtLog(void*, c::OrtLoggingLevel severity, const char* category, const char* logid, const char* code_location,
              const char* message) {
  if (severity < c::ORT_LOGGING_LEVEL_WARNING) return;  // ORT is set to warning; belt and braces
  LogLevel level = severity >= c::ORT_LOGGING_LEVEL_FATAL   ? LogLevel::kFatal
                   : severity == c::ORT_LOGGING_LEVEL_ERROR ? LogLevel::kError
                                                            : LogLevel::kWarning;
  std::string text = message ? message : "";
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log_callback) {
    try {
      g_log_callback(level, text);
    } catch (...) {
      // Exceptions must not unwind into ONNX Runtime.
    }
    return;
  }
  const char* tag = level == LogLevel::kWarning ? "W" : level == LogLevel::kError ? "E" : "F";
  std::fprintf(stderr, "[echoic/onnxruntime %s] %s\n", tag, text.c_str());
}

}  // namespace

c::OrtEnv* Environment::Get() {
  static std::once_flag once;
  static c::OrtEnv* env = nullptr;
  // call_once rethrows and stays un-done if creation fails, so a later call retries.
  std::call_once(once, [] {
    c::OrtEnv* created = nullptr;
    Check(Api().CreateEnvWithCustomLogger(&OnOrtLog, nullptr, c::ORT_LOGGING_LEVEL_WARNING, "echoic", &created),
          "onnxruntime", "creating the environment");
    env = created;
  });
  return env;
}

void Environment::SetLogCallback(LogCallback callback) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log_callback = std::move(callback);
}

}  // namespace echoic::ort
