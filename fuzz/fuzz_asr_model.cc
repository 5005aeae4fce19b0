// Streaming ASR model contracts (metadata ranges, tensor shapes): one section = a WeNet CTC
// encoder (StreamingCtcModel), three = transducer encoder/decoder/joiner. Sessions carry the
// fuzzed signature and metadata without ONNX Runtime (ort::Session::ContractOnly); a model that
// passes builds its per-stream state, which the ranges must keep small.
#include "echoic/asr/streaming_ctc_model.h"
#include "echoic/asr/streaming_transducer_model.h"
#include "fuzz_common.h"

using namespace echoic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<fuzz::Contract> c = fuzz::ParseContracts(data, size);
  fuzz::ExpectTypedErrors([&] {
    if (c.size() >= 3) {
      asr::StreamingTransducerModel m(fuzz::SessionOf(c[0]), fuzz::SessionOf(c[1]), fuzz::SessionOf(c[2]));
      (void)m.NewState();
    } else {
      asr::StreamingCtcModel m(fuzz::SessionOf(c[0]));
      (void)m.NewState();
    }
  });
  return 0;
}
