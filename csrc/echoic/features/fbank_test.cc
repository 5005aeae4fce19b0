#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "echoic/features/online_fbank.h"
#include "echoic/features/rfft.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::features::ComputeFbank;
using echoic::features::FbankOptions;
using echoic::features::OnlineFbank;
using echoic::features::RealFft;

namespace {

std::vector<float> Noise(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

std::vector<float> Tone(size_t n, double hz, double rate, double amp) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2 * 3.14159265358979 * hz * i / rate));
  return x;
}

std::vector<float> Chunked(const FbankOptions& o, const std::vector<float>& x, std::mt19937& rng, size_t max_chunk) {
  OnlineFbank f(o);
  std::uniform_int_distribution<size_t> len(1, max_chunk);
  size_t pos = 0;
  int32_t last_ready = 0;
  bool monotone = true;
  while (pos < x.size()) {
    size_t n = std::min(len(rng), x.size() - pos);
    f.AcceptWaveform(x.data() + pos, n);
    pos += n;
    monotone = monotone && f.NumFramesReady() >= last_ready;
    last_ready = f.NumFramesReady();
  }
  f.InputFinished();
  CHECK(monotone);
  std::vector<float> out(static_cast<size_t>(f.NumFramesReady()) * f.Dim());
  f.GetFrames(0, f.NumFramesReady(), out.data());
  return out;
}

}  // namespace

TEST(rfft_matches_naive_dft) {
  const int n = 64;
  RealFft fft(n);
  std::vector<double> x(n);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto& v : x) v = u(rng);
  std::vector<std::complex<double>> out(n / 2 + 1);
  fft.Forward(x.data(), out.data());
  for (int k = 0; k <= n / 2; ++k) {
    std::complex<double> ref = 0;
    for (int t = 0; t < n; ++t) ref += x[t] * std::polar(1.0, -2 * 3.14159265358979323846 * k * t / n);
    CHECK_NEAR(out[k].real(), ref.real(), 1e-9);
    CHECK_NEAR(out[k].imag(), ref.imag(), 1e-9);
  }
  CHECK_THROWS_CODE(RealFft(48), ErrorCode::kInvalidArgument);
}

TEST(frame_count_follows_kaldi) {
  FbankOptions o;
  for (size_t n : {0u, 1u, 79u, 80u, 159u, 160u, 240u, 399u, 400u, 16000u, 16079u, 16080u}) {
    auto m = ComputeFbank(o, Noise(n, 1, 100).data(), n);
    CHECK_EQ(m.num_frames, static_cast<int32_t>((n + 80) / 160));
    CHECK_EQ(m.dim, 80);
  }
  o.snip_edges = true;
  CHECK_EQ(ComputeFbank(o, Noise(399, 1, 1).data(), 399).num_frames, 0);
  CHECK_EQ(ComputeFbank(o, Noise(16000, 1, 1).data(), 16000).num_frames, 1 + (16000 - 400) / 160);
}

TEST(any_chunking_is_bit_identical) {
  std::mt19937 rng(42);
  std::vector<FbankOptions> variants(4);
  variants[1].snip_edges = true;
  variants[2].use_energy = true;
  variants[2].window_type = "hamming";
  variants[3].dither = 1.0f;
  variants[3].dither_seed = 7;
  for (const auto& o : variants) {
    auto x = Noise(8123, 5, 3000);
    auto whole = ComputeFbank(o, x.data(), x.size());
    for (size_t max_chunk : {1u, 7u, 160u, 1000u, 5000u}) {
      for (int rep = 0; rep < (max_chunk == 1 ? 1 : 4); ++rep) {
        auto got = Chunked(o, x, rng, max_chunk);
        CHECK_EQ(got.size(), whole.data.size());
        CHECK(got.size() == whole.data.size() &&
              std::memcmp(got.data(), whole.data.data(), got.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST(frames_fully_inside_audio_are_ready_before_the_end) {
  FbankOptions o;
  OnlineFbank f(o);
  auto x = Noise(1000, 2, 100);
  f.AcceptWaveform(x.data(), x.size());
  // Frame f spans [160f-120, 160f+280): frames 0..4 end at <= 920.
  CHECK_EQ(f.NumFramesReady(), 5);
  f.InputFinished();
  CHECK_EQ(f.NumFramesReady(), (1000 + 80) / 160);
  CHECK_THROWS_CODE(f.AcceptWaveform(x.data(), 1), ErrorCode::kState);
  f.Reset();
  CHECK_EQ(f.NumFramesReady(), 0);
  f.AcceptWaveform(x.data(), x.size());
  CHECK_EQ(f.NumFramesReady(), 5);
}

TEST(tone_peaks_in_the_right_mel_bin) {
  FbankOptions o;
  o.num_bins = 40;
  auto x = Tone(16000, 1000.0, 16000.0, 10000.0);
  auto m = ComputeFbank(o, x.data(), x.size());
  // Mel bin centres: mel_low + (b+1) * delta; the bin whose centre is nearest 1 kHz wins.
  auto mel = [](double f) { return 1127.0 * std::log(1 + f / 700.0); };
  double delta = (mel(8000) - mel(20)) / 41;
  int expect = static_cast<int>(std::lround((mel(1000) - mel(20)) / delta)) - 1;
  const float* row = m.data.data() + 50 * m.dim;
  int best = 0;
  for (int b = 1; b < m.dim; ++b)
    if (row[b] > row[best]) best = b;
  CHECK(std::abs(best - expect) <= 1);
  CHECK(row[best] > row[0] + 10);  // far above the low bins
}

TEST(silence_hits_the_log_floor_and_energy_column) {
  FbankOptions o;
  o.use_energy = true;
  o.energy_floor = 1.0f;
  std::vector<float> zeros(3200, 0.0f);
  auto m = ComputeFbank(o, zeros.data(), zeros.size());
  CHECK_EQ(m.dim, 81);
  CHECK_NEAR(m.data[0], 0.0, 1e-6);  // log(energy_floor)
  CHECK_NEAR(m.data[1], std::log(1.1920929e-07), 1e-4);
}

TEST(discard_keeps_absolute_indices) {
  FbankOptions o;
  OnlineFbank f(o);
  auto x = Noise(48000, 9, 1000);
  auto whole = ComputeFbank(o, x.data(), x.size());
  std::vector<float> row(80);
  for (size_t pos = 0; pos < x.size(); pos += 1600) {
    f.AcceptWaveform(x.data() + pos, 1600);
    int32_t ready = f.NumFramesReady();
    if (ready > 3) f.DiscardFramesBefore(ready - 3);
  }
  f.InputFinished();
  int32_t last = f.NumFramesReady() - 1;
  f.GetFrames(last, 1, row.data());
  CHECK(std::memcmp(row.data(), whole.data.data() + static_cast<size_t>(last) * 80, 80 * sizeof(float)) == 0);
  CHECK_THROWS_CODE(f.GetFrames(0, 1, row.data()), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(f.GetFrames(last, 2, row.data()), ErrorCode::kInvalidArgument);
}

TEST(long_stream_memory_stays_bounded) {
  FbankOptions o;
  OnlineFbank f(o);
  auto x = Noise(1600, 4, 1000);
  for (int i = 0; i < 6000; ++i) {  // 10 minutes in 100 ms chunks
    f.AcceptWaveform(x.data(), x.size());
    f.DiscardFramesBefore(f.NumFramesReady());
    CHECK(f.NumBufferedSamples() <= 4 * 1600 + 800);
    CHECK(f.NumStoredFrames() == 0);
  }
  CHECK_EQ(f.NumFramesReady(), (6000 * 1600 - 280) / 160 + 1);
}

TEST(bad_input_and_options_are_typed_errors) {
  FbankOptions o;
  OnlineFbank f(o);
  // NaN/Inf is rejected where audio enters (stream_test, test_features.py), not here.
  CHECK_EQ(f.NumFramesReady(), 0);
  auto bad = [](auto mutate) {
    FbankOptions b;
    mutate(b);
    return b;
  };
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.num_bins = 0; })), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.window_type = "kaiser"; })), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.high_freq = 9000; })), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.frame_shift_ms = 0; })), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.dither = -1; })), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.round_to_power_of_two = false; })),
                    ErrorCode::kUnsupported);
  CHECK_THROWS_CODE(OnlineFbank(bad([](FbankOptions& b) { b.num_bins = 400; })), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
