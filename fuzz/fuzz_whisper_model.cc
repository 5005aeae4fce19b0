// Whisper model contract: the decoder's metadata checked against both graphs' tensor shapes
// (WhisperModel::ReadInfo), sections [encoder] then [decoder], no ONNX Runtime; a model that
// passes gets its empty self-attention cache and decoding prompt built as a stream would.
#include "echoic/whisper/whisper_model.h"
#include "fuzz_common.h"

using namespace echoic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<fuzz::Contract> c = fuzz::ParseContracts(data, size);
  if (c.size() < 2) return 0;
  fuzz::ExpectTypedErrors([&] {
    auto enc = fuzz::SessionOf(c[0]);
    auto dec = fuzz::SessionOf(c[1]);
    whisper::WhisperModelInfo info = whisper::WhisperModel::ReadInfo(*enc, *dec, "fuzz");
    (void)whisper::WhisperModel::EmptyCache(info, 2);
  });
  return 0;
}
