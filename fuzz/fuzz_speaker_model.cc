// Speaker model contract: the JSON config in the metadata (ParseFlatJson, ConfigFromMetadata)
// and the embedder's tensor checks, from a fuzzed signature + metadata (no ONNX Runtime); a
// model that passes computes its front-end features on 0.3 s of audio.
#include "echoic/speaker/speaker_embedder.h"
#include "fuzz_common.h"

using namespace echoic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<fuzz::Contract> c = fuzz::ParseContracts(data, size);
  fuzz::ExpectTypedErrors([&] {
    auto session = fuzz::SessionOf(c[0]);
    const speaker::SpeakerModelConfig config = speaker::ConfigFromMetadata(*session);
    speaker::SpeakerEmbedder e(session, config);
    std::vector<float> x(4800);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.2f * static_cast<float>((i * 37) % 101) / 101.f - 0.1f;
    (void)e.Features(x.data(), x.size());
  });
  return 0;
}
