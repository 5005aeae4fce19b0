#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "echoic/features/resampler.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::features::Resampler;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> Tone(size_t n, double hz, double rate, double amp) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2 * kPi * hz * i / rate));
  return x;
}

std::vector<float> Whole(int in, int out, const std::vector<float>& x) {
  Resampler r(in, out);
  auto y = r.Process(x.data(), x.size());
  auto t = r.Flush();
  y.insert(y.end(), t.begin(), t.end());
  return y;
}

// Amplitude of frequency hz in y (least squares fit of sin+cos) over the middle half.
double Amplitude(const std::vector<float>& y, double hz, double rate) {
  size_t a = y.size() / 4, b = 3 * y.size() / 4;
  double s = 0, c = 0;
  for (size_t i = a; i < b; ++i) {
    s += y[i] * std::sin(2 * kPi * hz * i / rate);
    c += y[i] * std::cos(2 * kPi * hz * i / rate);
  }
  return 2.0 * std::sqrt(s * s + c * c) / static_cast<double>(b - a);
}

double Rms(const std::vector<float>& y) {
  size_t a = y.size() / 4, b = 3 * y.size() / 4;
  double e = 0;
  for (size_t i = a; i < b; ++i) e += double(y[i]) * y[i];
  return std::sqrt(e / static_cast<double>(b - a));
}

}  // namespace

TEST(output_length_is_rate_ratio) {
  for (int in : {8000, 11025, 22050, 32000, 44100, 48000}) {
    auto y = Whole(in, 16000, std::vector<float>(in, 0.1f));  // one second
    CHECK_EQ(y.size(), 16000u);
  }
  CHECK_EQ(Whole(48000, 16000, std::vector<float>(100, 0.f)).size(), 34u);  // ceil(100/3)
}

TEST(tone_keeps_frequency_and_amplitude) {
  struct Case {
    int in, out;
  };
  for (Case c : {Case{48000, 16000}, Case{8000, 16000}, Case{44100, 16000}, Case{11025, 16000}}) {
    auto y = Whole(c.in, c.out, Tone(c.in, 1000.0, c.in, 0.5));
    CHECK_NEAR(Amplitude(y, 1000.0, c.out), 0.5, 0.005);
    CHECK(Amplitude(y, 1100.0, c.out) < 0.01);
    CHECK_NEAR(Rms(y), 0.5 / std::sqrt(2.0), 0.005);
    // Zero group delay: sample 4000 of the output sits at input time 4000*in/out.
    double t = 4000.0 / c.out;
    CHECK_NEAR(y[4000], 0.5 * std::sin(2 * kPi * 1000.0 * t), 0.01);
  }
}

TEST(stopband_is_attenuated) {
  // 10 kHz cannot exist at 16 kHz: it must vanish, not alias to 6 kHz.
  auto y = Whole(44100, 16000, Tone(44100, 10000.0, 44100, 1.0));
  double db = 20 * std::log10(Rms(y) / (1.0 / std::sqrt(2.0)));
  std::printf("10 kHz tone 44.1k->16k: %.1f dB\n", db);
  CHECK(db < -50.0);
  auto z = Whole(48000, 16000, Tone(48000, 12000.0, 48000, 1.0));
  CHECK(20 * std::log10(Rms(z) / (1.0 / std::sqrt(2.0))) < -50.0);
}

TEST(any_chunking_gives_the_same_samples) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.f, 0.3f);
  std::vector<float> x(20011);
  for (auto& v : x) v = d(rng);
  for (auto rates : {std::pair<int, int>{48000, 16000}, {8000, 16000}, {44100, 16000}, {16000, 22050}}) {
    auto whole = Whole(rates.first, rates.second, x);
    for (size_t max_chunk : {1u, 13u, 480u, 4000u}) {
      Resampler r(rates.first, rates.second);
      std::uniform_int_distribution<size_t> len(1, max_chunk);
      std::vector<float> y;
      for (size_t pos = 0; pos < x.size();) {
        size_t n = std::min(len(rng), x.size() - pos);
        auto part = r.Process(x.data() + pos, n);
        y.insert(y.end(), part.begin(), part.end());
        pos += n;
      }
      auto tail = r.Flush();
      y.insert(y.end(), tail.begin(), tail.end());
      CHECK_EQ(y.size(), whole.size());
      CHECK(y.size() == whole.size() && std::memcmp(y.data(), whole.data(), y.size() * sizeof(float)) == 0);
    }
  }
}

TEST(large_phase_count_path_matches_streaming) {
  // 44100 -> 16001 has 16001 phases: weights are computed per sample, not tabled.
  auto x = Tone(11025, 1000.0, 44100, 0.5);
  auto whole = Whole(44100, 16001, x);
  CHECK_NEAR(Amplitude(whole, 1000.0, 16001), 0.5, 0.005);
  Resampler r(44100, 16001);
  std::vector<float> y;
  for (size_t pos = 0; pos < x.size(); pos += 1001) {
    auto part = r.Process(x.data() + pos, std::min<size_t>(1001, x.size() - pos));
    y.insert(y.end(), part.begin(), part.end());
    CHECK(r.NumBufferedSamples() <= static_cast<size_t>(3 * r.taps() + 2 * 1001));
  }
  auto tail = r.Flush();
  y.insert(y.end(), tail.begin(), tail.end());
  CHECK(y == whole);
}

TEST(errors_and_reset) {
  CHECK_THROWS_CODE(Resampler(4000, 16000), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(Resampler(16000, 200000), ErrorCode::kInvalidArgument);
  Resampler r(48000, 16000);
  std::vector<float> x(1000, 0.25f);
  auto a = r.Process(x.data(), x.size());
  r.Flush();
  CHECK_THROWS_CODE(r.Process(x.data(), 1), ErrorCode::kState);
  r.Reset();
  auto b = r.Process(x.data(), x.size());
  CHECK(a == b);                            // reset starts clean
  CHECK_NEAR(b[b.size() / 2], 0.25, 1e-4);  // DC passes with unity gain
}

TEST_MAIN()
