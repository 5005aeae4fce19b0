// Audio input conversions every binding applies to caller buffers (the core has no WAV
// reader; the Python package parses WAV files and hands these functions the PCM): byte 0
// picks the sample format, byte 1 the channel count, byte 2 a channel, bytes 3..4 a rate;
// the rest is PCM. Converted audio is downmixed and resampled to 16 kHz.
#include <cstring>

#include "echoic/audio/samples.h"
#include "echoic/features/resampler.h"
#include "fuzz_common.h"

using namespace echoic;

namespace {
template <typename T>
std::vector<T> Pcm(const uint8_t* data, size_t size) {
  std::vector<T> v(size / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), data, v.size() * sizeof(T));
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const int format = data[0] % 5;
  const int channels = 1 + data[1] % 8;
  const int channel = data[2] % 9;  // one past the last is a typed error
  const int32_t rate = static_cast<int32_t>(data[3] | (data[4] << 8)) * 4;
  data += 5;
  size -= 5;
  fuzz::ExpectTypedErrors([&] {
    std::vector<float> x;
    switch (format) {
      case 0: {
        auto v = Pcm<int16_t>(data, size);
        x = audio::Int16ToFloat(v.data(), v.size());
        break;
      }
      case 1: {
        auto v = Pcm<int32_t>(data, size);
        x = audio::Int32ToFloat(v.data(), v.size());
        break;
      }
      case 2:
        x = audio::Uint8ToFloat(data, size);
        break;
      case 3: {
        auto v = Pcm<double>(data, size);
        x = audio::Float64ToFloat(v.data(), v.size(), "fuzz");
        break;
      }
      default: {
        x = Pcm<float>(data, size);
        audio::ValidateSamples(x.data(), x.size(), "fuzz");
        break;
      }
    }
    const size_t frames = x.size() / static_cast<size_t>(channels);
    std::vector<float> mono = audio::DownmixInterleaved(x.data(), frames, channels);
    (void)audio::SelectChannel(x.data(), frames, channels, channel);
    audio::ValidateSampleRate(rate, "fuzz");
    features::Resampler r(rate, 16000);
    const size_t half = mono.size() / 2;
    (void)r.Process(mono.data(), half);
    (void)r.Process(mono.data() + half, mono.size() - half);
    (void)r.Flush();
  });
  return 0;
}
