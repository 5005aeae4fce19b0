// Shared by the C API files: turns C++ exceptions into status codes plus a
// thread-local message, so no exception ever crosses the C boundary.
#ifndef ECHOIC_BINDINGS_C_C_API_UTIL_H_
#define ECHOIC_BINDINGS_C_C_API_UTIL_H_

#include <new>
#include <string>

#include "echoic.h"
#include "echoic/runtime/error.h"

namespace echoic::c_api {

void SetLastError(const std::string& message);
void ClearLastError();
const char* LastError();

template <typename Fn>
echoic_status Guard(Fn&& fn) {
  try {
    ClearLastError();
    fn();
    return ECHOIC_OK;
  } catch (const echoic::Error& e) {
    SetLastError(e.what());
    return static_cast<echoic_status>(static_cast<int>(e.code()));
  } catch (const std::bad_alloc&) {
    SetLastError("out of memory");
    return ECHOIC_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    SetLastError(std::string("internal error: ") + e.what());
    return ECHOIC_ERR_INTERNAL;
  } catch (...) {
    SetLastError("internal error: unknown exception");
    return ECHOIC_ERR_INTERNAL;
  }
}

// Rejects NULL pointer arguments with a message naming the argument. (Inside
// Guard's lambda __func__ would say "operator()", so the C function is not named.)
#define ECHOIC_C_REQUIRE(ptr) \
  ECHOIC_CHECK((ptr) != nullptr, ::echoic::ErrorCode::kInvalidArgument, "argument '", #ptr, "' is NULL")

}  // namespace echoic::c_api

#endif  // ECHOIC_BINDINGS_C_C_API_UTIL_H_
