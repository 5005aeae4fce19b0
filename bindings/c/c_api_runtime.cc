#include "c_api_util.h"
#include "echoic/runtime/system_info.h"

namespace echoic::c_api {
namespace {
thread_local std::string g_last_error;
}
void SetLastError(const std::string& message) { g_last_error = message; }
void ClearLastError() { g_last_error.clear(); }
const char* LastError() { return g_last_error.c_str(); }
}  // namespace echoic::c_api

extern "C" {

const char* echoic_last_error(void) { return echoic::c_api::LastError(); }

const char* echoic_status_name(echoic_status status) {
  int c = static_cast<int>(status);
  if (c < 0 || c > static_cast<int>(echoic::ErrorCode::kInternal)) return "unknown";
  return echoic::ErrorCodeName(static_cast<echoic::ErrorCode>(c));
}

const char* echoic_version(void) { return echoic::Version(); }

}  // extern "C"
