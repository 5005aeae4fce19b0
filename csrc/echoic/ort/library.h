// The process's one ONNX Runtime shared library, loaded at run time (dlopen).
//
// Resolution order when nothing is loaded yet:
//   1. an explicit path (SessionOptions::ort_library, echoic.load_ort_library, echoic_ort_load)
//   2. the env var ECHOIC_ORT_LIBRARY
//   3. the `onnxruntime` Python package installed next to echoic: found from the
//      location of echoic's own binary (dladdr), walking up to onnxruntime/capi/
//   4. the system's libonnxruntime.so / libonnxruntime.so.1
// An explicit or env path that fails is an error; there is no silent fallback.
#ifndef ECHOIC_ORT_LIBRARY_H_
#define ECHOIC_ORT_LIBRARY_H_

#include <string>

#include "echoic/ort/ort_api.h"

namespace echoic::ort {

class Library {
 public:
  // Loads on first call, then returns the same library. `explicit_path` = "" uses
  // the resolution order; a path different from the loaded one -> kState error.
  static const Library& Get(const std::string& explicit_path = "");
  // The loaded library or nullptr; never loads.
  static const Library* Loaded();

  const c::OrtApi& api() const { return *api_; }
  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }
  int api_version() const { return api_version_; }
  const std::string& resolved_by() const { return resolved_by_; }  // explicit|env|python-package|system

  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

 private:
  Library() = default;
  void* handle_ = nullptr;  // never dlclose()d: ORT objects may outlive any owner
  const c::OrtApi* api_ = nullptr;
  std::string path_, version_, resolved_by_;
  int api_version_ = 0;

  friend struct LibraryLoader;
};

// Path of the binary (libechoic.so, _echoic*.so or an executable) holding echoic's code.
std::string OwnBinaryPath();
// Highest-versioned onnxruntime/capi/libonnxruntime.so* found walking up from `start_dir`, or "".
std::string FindPythonPackageOrt(const std::string& start_dir);

}  // namespace echoic::ort

#endif  // ECHOIC_ORT_LIBRARY_H_
