// Silero VAD contract (tensor names, types, ranks, fixed dims) from a fuzzed signature
// (no ONNX Runtime); the sample rate comes from an optional "fuzz_sample_rate" key.
#include <cstdlib>

#include "echoic/vad/silero_vad.h"
#include "fuzz_common.h"

using namespace echoic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<fuzz::Contract> c = fuzz::ParseContracts(data, size);
  fuzz::ExpectTypedErrors([&] {
    vad::SileroVadOptions o;
    auto it = c[0].metadata.find("fuzz_sample_rate");
    if (it != c[0].metadata.end()) o.sample_rate = static_cast<int32_t>(std::strtol(it->second.c_str(), nullptr, 10));
    vad::SileroVad v(fuzz::SessionOf(c[0]), o);
    (void)v.Clone();
  });
  return 0;
}
