// Shared by the C API files: turns C++ exceptions into status codes plus a
// thread-local message, so no exception ever crosses the C boundary; and checks
// that handle arguments are live handles of the expected type.
#ifndef ECHOIC_BINDINGS_C_C_API_UTIL_H_
#define ECHOIC_BINDINGS_C_C_API_UTIL_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

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

// ---- handles ----------------------------------------------------------------
// Every handle the C API returns is recorded in a process-wide registry of live
// handles (address -> type) until its free function runs. A handle argument is
// looked up there before it is dereferenced, so a freed, foreign or garbage
// pointer, or a handle of another type, is an error instead of a crash. The
// memory of a freed handle is held back from reuse for a while (a bounded
// quarantine), so a stale pointer does not soon alias a new handle.

// One per opaque type of echoic.h; each handle struct names its own as kHandleType.
enum class HandleType : uint8_t {
  kSession,
  kFbank,
  kResampler,
  kRecognizer,
  kStream,
  kResult,
  kIndex,
  kAdaptive,
  kAdaptiveStream,
  kSpeakerModel,
  kKws,
  kLookup,
};
const char* HandleTypeName(HandleType type);  // "echoic_stream", ...

void RegisterHandle(const void* p, HandleType type);
bool IsLiveHandle(const void* p, HandleType type);
// Throws kInvalidArgument naming `arg`, the expected type and what p is instead.
[[noreturn]] void FailHandle(const void* p, HandleType type, const std::string& arg);
inline void CheckHandle(const void* p, HandleType type, const char* arg) {
  if (!IsLiveHandle(p, type)) FailHandle(p, type, arg);
}
// Unregisters a live handle of `type`; on anything else sets the last error
// (naming `fn`) and returns ECHOIC_ERR_INVALID_ARGUMENT, leaving p untouched.
echoic_status UnregisterHandle(const void* p, HandleType type, const char* fn);
// Takes the storage of a destroyed handle; frees the oldest held one when full.
void Quarantine(void* storage, HandleType type);

// Registers a new handle and hands ownership to the caller.
template <typename T>
T* Adopt(std::unique_ptr<T> h) {
  RegisterHandle(h.get(), T::kHandleType);  // may throw: h still owns it
  return h.release();
}

// The body of every echoic_*_free: NULL is a no-op; a live handle is destroyed (its
// storage quarantined); anything else is refused. A success leaves the last error alone.
template <typename T>
echoic_status DestroyHandle(T* p, const char* fn) {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "storage is released with plain operator delete");
  if (!p) return ECHOIC_OK;
  echoic_status s = UnregisterHandle(p, T::kHandleType, fn);
  if (s != ECHOIC_OK) return s;
  p->~T();
  Quarantine(p, T::kHandleType);
  return ECHOIC_OK;
}

// The integer a caller passed in an enum-typed argument or field. C lets any int through,
// and loading an out-of-range value as the C++ enum type is undefined (UBSan: -fsanitize=enum),
// so read its bytes as the underlying integer before range-checking it.
template <typename E>
int64_t EnumValue(const E& e) {
  std::underlying_type_t<E> v;
  std::memcpy(&v, &e, sizeof v);
  return static_cast<int64_t>(v);
}

}  // namespace echoic::c_api

// NULL check, then live-handle and type check of a handle argument (inside Guard).
#define ECHOIC_C_HANDLE(ptr)                                                                                    \
  do {                                                                                                          \
    ECHOIC_C_REQUIRE(ptr);                                                                                      \
    ::echoic::c_api::CheckHandle((ptr), std::remove_pointer_t<std::decay_t<decltype(ptr)>>::kHandleType, #ptr); \
  } while (0)

#endif  // ECHOIC_BINDINGS_C_C_API_UTIL_H_
