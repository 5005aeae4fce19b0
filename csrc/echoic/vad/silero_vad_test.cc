#include "echoic/vad/silero_vad.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"
#include "echoic/vad/energy_vad.h"
#include "echoic/vad/external_vad.h"
#include "testing/check.h"
#include "testing/wav.h"

using echoic::ErrorCode;
using namespace echoic::vad;

namespace {

const char* kClip = "eval/speech-dev/ljspeech__LJ001-0004.wav";

std::string ModelPath() { return echoic::testing::SharedPath("models/vad-silero/silero_vad.onnx"); }

std::vector<float> Clip() {
  auto wav = echoic::testing::ReadWav(echoic::testing::SharedPath(kClip));
  CHECK_EQ(wav.sample_rate, 16000);
  std::vector<float> x = std::move(wav.samples);
  CHECK(x.size() > 16000u);
  return x;
}

double Covered(const std::vector<std::pair<double, double>>& segs) {
  double s = 0;
  for (auto& p : segs) s += p.second - p.first;
  return s;
}

}  // namespace

TEST(silence_has_no_speech) {
  auto vad = SileroVad::FromFile(ModelPath());
  std::vector<float> zeros(16000 * 3, 0.0f);
  // Faint noise as well: the model must not call hiss speech.
  uint32_t seed = 1;
  for (auto& z : zeros) {
    seed = seed * 1664525u + 1013904223u;
    z = ((seed >> 8) / 16777216.0f - 0.5f) * 1e-3f;
  }
  vad->Accept(zeros.data(), zeros.size());
  vad->Flush();
  CHECK(!vad->SpeechSinceReset());
  CHECK(vad->TakeSegments().empty());
  CHECK_NEAR(vad->TrailingSilenceSeconds(), 3.0, 0.05);
}

TEST(speech_clip_is_mostly_speech_and_trailing_silence_is_measured) {
  auto x = Clip();
  const double dur = x.size() / 16000.0;
  x.resize(x.size() + 2 * 16000, 0.0f);  // + 2 s silence
  auto vad = SileroVad::FromFile(ModelPath());
  vad->Accept(x.data(), x.size());
  CHECK(vad->SpeechSinceReset());
  auto segs = vad->TakeSegments();
  CHECK(!segs.empty());
  CHECK(Covered(segs) > 0.7 * dur);
  CHECK(segs.front().first < 0.5);
  CHECK_NEAR(segs.back().second, dur, 0.4);
  CHECK_NEAR(vad->TrailingSilenceSeconds(), 2.0, 0.2);
  vad->ResetSegment();
  CHECK(!vad->SpeechSinceReset());
}

TEST(chunking_does_not_change_probabilities) {
  auto x = Clip();
  auto a = SileroVad::FromFile(ModelPath());
  auto b_base = a->Clone();
  auto* b = static_cast<SileroVad*>(b_base.get());
  CHECK(b->session() == a->session());  // clones share the ORT session
  a->set_record_probabilities(true);
  b->set_record_probabilities(true);
  a->Accept(x.data(), x.size());
  const size_t sizes[] = {1, 7, 160, 511, 513, 1000, 3};
  size_t pos = 0, k = 0;
  while (pos < x.size()) {
    size_t n = std::min(sizes[k++ % 7], x.size() - pos);
    b->Accept(x.data() + pos, n);
    pos += n;
  }
  auto pa = a->TakeProbabilities(), pb = b->TakeProbabilities();
  CHECK_EQ(pa.size(), x.size() / 512);
  CHECK(pa == pb);  // bit-identical
  float mx = 0;
  for (float p : pa) mx = std::max(mx, p);
  CHECK(mx > 0.9f);
  a->Flush();
  b->Flush();
  CHECK(a->TakeSegments() == b->TakeSegments());
}

TEST(bad_models_and_input_are_rejected) {
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  std::string linear = std::string(src ? src : ".") + "/tests/data/linear.onnx";
  try {
    SileroVad::FromFile(linear);
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kModel);
    std::string msg = e.what();
    CHECK(msg.find("linear.onnx") != std::string::npos);
    CHECK(msg.find("'input'") != std::string::npos);
  }
  CHECK_THROWS_CODE(SileroVad::FromFile(ModelPath() + ".missing"), ErrorCode::kIo);
  SileroVadOptions o;
  o.sample_rate = 44100;
  CHECK_THROWS_CODE(SileroVad::FromFile(ModelPath(), o), ErrorCode::kInvalidArgument);
  auto vad = SileroVad::FromFile(ModelPath());
  // Bad samples are rejected where audio enters (audio/samples.h; stream_test, test_vad.py).
  CHECK_THROWS_CODE(CheckSampleRate(*vad, 8000, "test"), ErrorCode::kInvalidArgument);
}

TEST(eight_khz_uses_256_sample_windows) {
  auto x = Clip();
  std::vector<float> y(x.size() / 2);
  for (size_t i = 0; i < y.size(); ++i) y[i] = 0.5f * (x[2 * i] + x[2 * i + 1]);  // crude 2:1 decimation
  SileroVadOptions o;
  o.sample_rate = 8000;
  auto vad = SileroVad::FromFile(ModelPath(), o);
  CHECK_EQ(vad->frame_samples(), 256u);
  vad->Accept(y.data(), y.size());
  vad->Flush();
  CHECK(Covered(vad->TakeSegments()) > 0.5 * y.size() / 8000.0);
}

TEST(energy_vad_finds_the_clip_between_silences) {
  auto x = Clip();
  std::vector<float> y(16000, 0.0f);
  y.insert(y.end(), x.begin(), x.end());
  y.resize(y.size() + 16000, 0.0f);
  EnergyVad vad;
  vad.Accept(y.data(), y.size());
  vad.Flush();
  auto segs = vad.TakeSegments();
  CHECK(!segs.empty());
  CHECK(segs.front().first > 0.8);
  CHECK(segs.back().second < 1.0 + x.size() / 16000.0 + 0.2);
  CHECK(Covered(segs) > 0.6 * x.size() / 16000.0);
  std::vector<float> quiet(16000, 0.0f);
  auto fresh = vad.Clone();
  fresh->Accept(quiet.data(), quiet.size());
  CHECK(!fresh->SpeechSinceReset());
}

TEST(smoother_hysteresis_and_external_reports) {
  SmoothingOptions o;  // 0.5 / 0.35, 250 ms speech, 100 ms silence, 30 ms pad
  ExternalVadOptions eo;
  eo.smoothing = o;
  ExternalVad ext(eo);
  for (int i = 0; i < 10; ++i) ext.Report(false, 0.03);  // 0.3 s
  for (int i = 0; i < 5; ++i) ext.Report(true, 0.03);    // 150 ms blip: too short
  for (int i = 0; i < 10; ++i) ext.Report(false, 0.03);
  CHECK(!ext.SpeechSinceReset());
  CHECK_NEAR(ext.TrailingSilenceSeconds(), 0.75, 1e-6);
  for (int i = 0; i < 20; ++i) ext.Report(true, 0.03);  // 0.75 .. 1.35
  CHECK(ext.SpeechSinceReset());
  CHECK_NEAR(ext.TrailingSilenceSeconds(), 0.0, 1e-9);
  ext.Report(false, 0.03);  // 60 ms gap: bridged
  ext.Report(false, 0.03);
  ext.Report(true, 0.03);
  for (int i = 0; i < 10; ++i) ext.Report(false, 0.03);  // ends at 1.44
  auto segs = ext.TakeSegments();
  CHECK_EQ(segs.size(), 1u);
  CHECK_NEAR(segs[0].first, 0.72, 1e-6);
  CHECK_NEAR(segs[0].second, 1.47, 1e-6);
  CHECK_NEAR(ext.TrailingSilenceSeconds(), 0.30, 1e-6);
  CHECK_THROWS_CODE(ext.Report(true, -1.0), ErrorCode::kInvalidArgument);
  SmoothingOptions bad;
  bad.threshold = 1.5f;
  CHECK_THROWS_CODE(SpeechSmoother{bad}, ErrorCode::kInvalidArgument);
}

TEST_MAIN()
