// The test clips' reader: 16-bit PCM mono RIFF/WAV to floats in [-1, 1).
// Enough for tests/data and /work/shared/eval; the audio module owns real decoding.
#ifndef ECHOIC_TESTING_WAV_H_
#define ECHOIC_TESTING_WAV_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"

namespace echoic::testing {

struct WavClip {
  std::vector<float> samples;
  int sample_rate = 0;
};

// kIo when the file cannot be opened, kUnsupported unless it is PCM16 mono,
// kCorruptData without a data chunk.
inline WavClip ReadWav(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) Fail(ErrorCode::kIo, "cannot open '", path, "'");
  const std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t o) {
    uint32_t v;
    std::memcpy(&v, &b[o], 4);
    return v;
  };
  auto u16 = [&](size_t o) {
    uint16_t v;
    std::memcpy(&v, &b[o], 2);
    return v;
  };
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    Fail(ErrorCode::kCorruptData, path, ": not a RIFF/WAVE file");
  WavClip clip;
  bool have_data = false;
  for (size_t pos = 12; pos + 8 <= b.size();) {
    const uint32_t size = u32(pos + 4);
    if (std::memcmp(&b[pos], "fmt ", 4) == 0 && pos + 24 <= b.size()) {
      if (u16(pos + 8) != 1 || u16(pos + 10) != 1 || u16(pos + 22) != 16)
        Fail(ErrorCode::kUnsupported, path, ": the test reader needs PCM16 mono");
      clip.sample_rate = static_cast<int>(u32(pos + 12));
    } else if (std::memcmp(&b[pos], "data", 4) == 0) {
      const size_t n = std::min<size_t>(size, b.size() - pos - 8) / 2;
      clip.samples.resize(n);
      for (size_t i = 0; i < n; ++i) clip.samples[i] = static_cast<int16_t>(u16(pos + 8 + 2 * i)) / 32768.0f;
      have_data = true;
    }
    pos += 8 + static_cast<size_t>(size) + (size & 1);
  }
  if (!have_data) Fail(ErrorCode::kCorruptData, path, ": no data chunk");
  return clip;
}

}  // namespace echoic::testing

#endif  // ECHOIC_TESTING_WAV_H_
