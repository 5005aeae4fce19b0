#include "echoic/audio/samples.h"

#include <cmath>
#include <string>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
namespace audio = echoic::audio;

TEST(validate_names_first_bad_index) {
  float x[5] = {0, 1, INFINITY, std::nanf(""), 0};
  try {
    audio::ValidateSamples(x, 5, "stream 'mic'");
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    std::string m = e.what();
    CHECK(m.find("stream 'mic'") != std::string::npos && m.find("sample 2") != std::string::npos &&
          m.find("Inf") != std::string::npos);
  }
  audio::ValidateSamples(x, 2, "ok");
  audio::ValidateSamples(nullptr, 0, "empty");
  double d[3] = {0.5, NAN, 1};
  CHECK_THROWS_CODE(audio::Float64ToFloat(d, 3, "x"), ErrorCode::kInvalidArgument);
}

TEST(validate_amplitude_bound_for_detectors) {
  float x[3] = {0.5f, -1.5f, 3000.f};  // the last: int16-scaled audio passed as float
  audio::ValidateSamples(x, 3, "no bound");
  audio::ValidateSamples(x, 2, "vad", audio::kMaxAbsSample);
  try {
    audio::ValidateSamples(x, 3, "vad", audio::kMaxAbsSample);
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    std::string m = e.what();
    CHECK(m.find("sample 2 of 3") != std::string::npos && m.find("[-1, 1]") != std::string::npos);
  }
}

TEST(conversions_and_downmix) {
  int16_t s[3] = {-32768, 0, 16384};
  auto f = audio::Int16ToFloat(s, 3);
  CHECK_NEAR(f[0], -1.0, 0);
  CHECK_NEAR(f[2], 0.5, 0);
  int32_t w[2] = {INT32_MIN, 1 << 30};
  auto g = audio::Int32ToFloat(w, 2);
  CHECK_NEAR(g[0], -1.0, 0);
  CHECK_NEAR(g[1], 0.5, 0);
  uint8_t u[2] = {0, 192};
  auto h = audio::Uint8ToFloat(u, 2);
  CHECK_NEAR(h[0], -1.0, 0);
  CHECK_NEAR(h[1], 0.5, 0);
  float st[6] = {1, 0, 0.5f, 0.5f, -1, 1};
  auto m = audio::DownmixInterleaved(st, 3, 2);
  CHECK_NEAR(m[0], 0.5, 0);
  CHECK_NEAR(m[1], 0.5, 0);
  CHECK_NEAR(m[2], 0.0, 0);
  auto c = audio::SelectChannel(st, 3, 2, 1);
  CHECK_NEAR(c[2], 1.0, 0);
  CHECK_THROWS_CODE(audio::SelectChannel(st, 3, 2, 2), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(audio::ValidateSampleRate(7999, "r"), ErrorCode::kInvalidArgument);
  audio::ValidateSampleRate(192000, "r");
}

TEST_MAIN()
