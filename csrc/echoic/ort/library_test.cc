// Library is a per-process singleton, so the failing-load cases run here, in
// their own executable, before anything loads ONNX Runtime.
#include "echoic/ort/library.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::ort::Library;

namespace {
bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
const std::string g_real = std::getenv("ECHOIC_ORT_LIBRARY") ? std::getenv("ECHOIC_ORT_LIBRARY") : "";
}  // namespace

TEST(wrong_explicit_path_is_an_ort_error_naming_the_path) {
  CHECK(Library::Loaded() == nullptr);
  try {
    Library::Get("/nonexistent/libonnxruntime.so.1");
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kOrt);
    CHECK(Contains(e.what(), "/nonexistent/libonnxruntime.so.1"));
  }
  // An ONNX Runtime that only offers C API 1..2: the error names both versions.
  const char* old_ort = std::getenv("ECHOIC_FAKE_OLD_ORT");
  CHECK(old_ort != nullptr);
  if (old_ort) {
    try {
      Library::Get(old_ort);
      CHECK(false);
    } catch (const echoic::Error& e) {
      CHECK(e.code() == ErrorCode::kOrt);
      CHECK(Contains(e.what(), "1.2.0-fake"));
      CHECK(Contains(e.what(), "C API version 3"));
    }
  }
  // A real shared library that is not ONNX Runtime.
  CHECK_THROWS_CODE(Library::Get("libm.so.6"), ErrorCode::kOrt);
  CHECK(Library::Loaded() == nullptr);  // failures leave nothing loaded
}

TEST(wrong_env_path_is_an_ort_error_without_fallback) {
  ::setenv("ECHOIC_ORT_LIBRARY", "/nonexistent/env/libonnxruntime.so", 1);
  try {
    Library::Get();
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kOrt);
    CHECK(Contains(e.what(), "ECHOIC_ORT_LIBRARY"));
    CHECK(Contains(e.what(), "/nonexistent/env/libonnxruntime.so"));
  }
  ::unsetenv("ECHOIC_ORT_LIBRARY");
}

TEST(python_package_layout_is_found_walking_up) {
  std::string root = std::string("/tmp/echoic_ort_walk_") + std::to_string(::getpid());
  std::string capi = root + "/site-packages/onnxruntime/capi";
  std::string deep = root + "/site-packages/echoic/lib";
  for (std::string d :
       {root, root + "/site-packages", root + "/site-packages/onnxruntime", capi, root + "/site-packages/echoic", deep})
    ::mkdir(d.c_str(), 0755);
  for (const char* n : {"libonnxruntime.so", "libonnxruntime.so.1.9.0", "libonnxruntime.so.1.31.1",
                        "libonnxruntime_providers_shared.so"})
    std::ofstream(capi + "/" + n) << "x";
  CHECK(echoic::ort::FindPythonPackageOrt(deep) == capi + "/libonnxruntime.so.1.31.1");
  CHECK(echoic::ort::FindPythonPackageOrt("/proc/self") == "");
  std::system(("rm -rf '" + root + "'").c_str());
  CHECK(Contains(echoic::ort::OwnBinaryPath(), "library_test"));
}

TEST(explicit_path_loads_once_per_process) {
  CHECK(!g_real.empty());
  const Library& lib = Library::Get(g_real);
  CHECK(lib.resolved_by() == "explicit");
  CHECK(lib.path() == g_real);
  CHECK(!lib.version().empty());
  CHECK_EQ(lib.api_version(), 3);
  CHECK(&Library::Get() == &lib);
  CHECK(&Library::Get(g_real) == &lib);
  try {
    Library::Get("/other/libonnxruntime.so");
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kState);
    CHECK(Contains(e.what(), g_real));
  }
}

TEST_MAIN()
