#include "echoic/speaker/speaker_embedder.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "echoic/features/mel_spectrogram.h"
#include "echoic/runtime/error.h"
#include "echoic/speaker/flat_json.h"
#include "testing/check.h"
#include "testing/wav.h"

using echoic::ErrorCode;
using namespace echoic::speaker;

namespace {

std::string ModelPath() { return echoic::testing::SharedPath("models/speaker-dvector/embedder.int8.onnx"); }

std::vector<float> Embed(const SpeakerEmbedder& e, const char* rel) {
  auto x = echoic::testing::ReadWav(echoic::testing::SharedPath(rel)).samples;
  return e.Embed(x.data(), x.size());
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

TEST(FlatJsonFlattensNestedObjects) {
  auto kv = ParseFlatJson(R"({"a": 1, "b": {"c": "x y", "d": [1, 2]}, "e": true})", "test");
  CHECK(kv.at("a") == "1");
  CHECK(kv.at("b.c") == "x y");
  CHECK(kv.at("b.d") == "[1, 2]");
  CHECK(kv.at("e") == "true");
  CHECK_THROWS_CODE(ParseFlatJson(R"({"a": 1,)", "test"), ErrorCode::kModel);
  CHECK_THROWS_CODE(ParseFlatJson(R"({"a" 1})", "test"), ErrorCode::kModel);
}

// Hostile metadata nested 100k deep used to overflow the stack (and the keys, each
// holding its whole path, grew with depth squared): a typed kModel error now.
TEST(FlatJsonRefusesDeepNesting) {
  auto nested = [](size_t depth) {
    std::string s;
    for (size_t i = 0; i < depth; ++i) s += "{\"a\":";
    s += "1";
    for (size_t i = 0; i < depth; ++i) s += "}";
    return s;
  };
  auto kv = ParseFlatJson(nested(64), "test");
  CHECK(kv.size() == 1);
  CHECK_THROWS_CODE(ParseFlatJson(nested(65), "test"), ErrorCode::kModel);
  CHECK_THROWS_CODE(ParseFlatJson(nested(100000), "test"), ErrorCode::kModel);
}

TEST(MelFiltersMatchSlaneyDefinition) {
  echoic::features::MelSpectrogramOptions o;
  echoic::features::MelSpectrogram mel(o);
  // Slaney-normalised filters each integrate to ~2/(bandwidth) * bandwidth/2 * (bins per Hz):
  // every filter has positive weights and the first one starts at DC.
  const int nfreq = o.n_fft / 2 + 1;
  for (int m = 0; m < o.n_mels; ++m) {
    double s = 0;
    for (int k = 0; k < nfreq; ++k) s += mel.filters()[m * nfreq + k];
    CHECK(s > 0);
  }
  // A 1 kHz tone peaks in the mel bin around 1 kHz (slaney mel 15 of 0..~45.2 over 41 steps).
  std::vector<float> tone(16000);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * std::sin(2 * 3.14159265 * 1000 * i / 16000.0);
  auto f = mel.Compute(tone.data(), tone.size());
  CHECK_EQ(f.num_frames, 1 + (16000 - 512) / 160);
  int best = 0;
  for (int m = 1; m < o.n_mels; ++m)
    if (f.data[m] > f.data[best]) best = m;
  CHECK(best >= 12 && best <= 14);
  o.n_fft = 500;
  CHECK_THROWS_CODE(echoic::features::MelSpectrogram{o}, ErrorCode::kInvalidArgument);
}

TEST(ConfigReadFromMetadata) {
  auto e = SpeakerEmbedder::FromFile(ModelPath());
  CHECK_EQ(e->dim(), 256);
  CHECK_EQ(e->sample_rate(), 16000);
  CHECK_EQ(e->config().frames_per_window, 80);
  CHECK_EQ(e->config().window_stride, 40);
  CHECK_EQ(e->config().mel.n_mels, 40);
  CHECK_EQ(e->config().mel.n_fft, 512);
  CHECK(e->config().input_name == "mel_window");
}

TEST(WrongConfigIsAModelError) {
  SpeakerModelConfig c;
  c.input_name = "nope";
  CHECK_THROWS_CODE(SpeakerEmbedder::FromFile(ModelPath(), c), ErrorCode::kModel);
  c = SpeakerModelConfig();
  c.mel.n_mels = 64;
  CHECK_THROWS_CODE(SpeakerEmbedder::FromFile(ModelPath(), c), ErrorCode::kModel);
  // The silero VAD has no voicefilter_lite_config metadata.
  CHECK_THROWS_CODE(SpeakerEmbedder::FromFile(echoic::testing::SharedPath("models/vad-silero/silero_vad.onnx")),
                    ErrorCode::kModel);
}

// Issue 21 (found by review while writing fuzz/fuzz_speaker_model.cc): a declared output dim
// of 2^31 wrapped to a negative int32 and later sized buffers with it.
TEST(HugeDeclaredEmbeddingDimIsAModelError) {
  using echoic::ort::ElementType;
  auto session_with_dim = [](int64_t dim) {
    return echoic::ort::Session::ContractOnly("crafted.onnx", {{"mel_window", ElementType::kFloat32, {-1, 80, 40}}},
                                              {{"embedding", ElementType::kFloat32, {-1, dim}}}, {});
  };
  SpeakerModelConfig c;
  c.mel.n_mels = 40;
  CHECK_EQ(SpeakerEmbedder(session_with_dim(256), c).dim(), 256);
  CHECK_THROWS_CODE(SpeakerEmbedder(session_with_dim(int64_t{1} << 31), c), ErrorCode::kModel);
  CHECK_THROWS_CODE(SpeakerEmbedder(session_with_dim(int64_t{1} << 40), c), ErrorCode::kModel);
}

TEST(SameSpeakerScoresHigherThanOther) {
  auto e = SpeakerEmbedder::FromFile(ModelPath());
  auto a = Embed(*e, "eval/speaker/speaker_1_utt_1.wav");
  auto b = Embed(*e, "eval/speaker/speaker_1_test_utt.wav");
  auto c = Embed(*e, "eval/speaker/speaker_2_test_utt.wav");
  CHECK_EQ(a.size(), 256u);
  CHECK_NEAR(Dot(a, a), 1.0, 1e-4);
  CHECK(Dot(a, b) > Dot(a, c));
  // Deterministic and short clips are padded to one window.
  CHECK_NEAR(Dot(a, Embed(*e, "eval/speaker/speaker_1_utt_1.wav")), 1.0, 1e-6);
  std::vector<float> shortclip(4000, 0.01f);
  auto w = e->EmbedWindows(shortclip.data(), shortclip.size());
  CHECK_EQ(w.num_windows, 1);
  CHECK_THROWS_CODE(e->Embed(shortclip.data(), 0), ErrorCode::kInvalidArgument);
  shortclip[7] = NAN;
  CHECK_THROWS_CODE(e->Embed(shortclip.data(), shortclip.size()), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
