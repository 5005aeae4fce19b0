// A stand-in for an ONNX Runtime too old for echoic (offers C API <= 2 only), so
// library_test can check the "library too old" error without an old ORT build.
#include <cstdint>

namespace {
struct FakeApiBase {
  const void* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)();
};
const void* GetApi(uint32_t version) {
  static void* table[128] = {};
  return version <= 2 ? table : nullptr;
}
const char* GetVersionString() { return "1.2.0-fake"; }
const FakeApiBase kBase = {&GetApi, &GetVersionString};
}  // namespace

extern "C" __attribute__((visibility("default"))) const FakeApiBase* OrtGetApiBase() { return &kBase; }
