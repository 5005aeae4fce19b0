// Keyword-spotting model contract (metadata keys, front-end options, tensor shapes) from a
// fuzzed signature + metadata (ort::Session::ContractOnly, no ONNX Runtime).
#include "echoic/features/online_fbank.h"
#include "echoic/kws/kws_model.h"
#include "fuzz_common.h"

using namespace echoic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<fuzz::Contract> c = fuzz::ParseContracts(data, size);
  fuzz::ExpectTypedErrors([&] {
    kws::KwsModel m(fuzz::SessionOf(c[0]));
    // The spotter's front-end is built from these options; they were validated at load.
    features::OnlineFbank fbank(m.info().fbank);
    std::vector<float> x(1600);
    for (size_t i = 0; i < x.size(); ++i) x[i] = m.info().input_scale * 0.1f * static_cast<float>((i % 40) - 20) / 20.f;
    fbank.AcceptWaveform(x.data(), x.size());
  });
  return 0;
}
