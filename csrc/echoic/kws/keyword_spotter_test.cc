#include "echoic/kws/keyword_spotter.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"
#include "testing/check.h"
#include "testing/wav.h"

using echoic::ErrorCode;
using namespace echoic::kws;

namespace {

std::string ModelPath() {
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/sdk/echoic/models/echoic-kws-en/model.onnx";
}

echoic::ort::SessionOptions Opts() {
  echoic::ort::SessionOptions o;
  const char* lib = std::getenv("ECHOIC_ORT_LIBRARY");
  if (lib) o.ort_library = lib;
  return o;
}

std::vector<KeywordEvent> Spot(const std::shared_ptr<KwsModel>& m, const std::vector<float>& x, size_t chunk,
                               int max_batch, int64_t* runs = nullptr) {
  SpotterConfig c;
  c.max_batch = max_batch;
  KeywordSpotter s(m, c);
  std::vector<KeywordEvent> all;
  for (size_t i = 0; i < x.size(); i += chunk) {
    s.AcceptWaveform(x.data() + i, std::min(chunk, x.size() - i));
    for (auto& e : s.TakeEvents()) all.push_back(e);
  }
  s.InputFinished();
  for (auto& e : s.TakeEvents()) all.push_back(e);
  if (runs) *runs = s.NumModelRuns();
  return all;
}

}  // namespace

TEST(ChunkingDoesNotChangeEvents) {
  auto m = KwsModel::FromFile(ModelPath(), Opts());
  auto x = echoic::testing::ReadWav(echoic::testing::SharedPath("eval/keywords/multiple_keywords.wav")).samples;
  CHECK(x.size() > 16000 * 40);
  int64_t runs_whole = 0, runs_small = 0;
  auto ref = Spot(m, x, x.size(), 16, &runs_whole);
  CHECK(!ref.empty());
  for (size_t chunk : {160u, 1234u, 16000u}) {
    auto got = Spot(m, x, chunk, chunk == 160 ? 1 : 16, chunk == 160 ? &runs_small : nullptr);
    CHECK_EQ(got.size(), ref.size());
    for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
      CHECK(got[i].keyword == ref[i].keyword);
      CHECK_NEAR(got[i].time, ref[i].time, 1e-9);
      CHECK_NEAR(got[i].score, ref[i].score, 1e-4);
    }
  }
  // Large chunks are batched: far fewer ONNX Runtime runs than windows.
  CHECK(runs_whole * 8 < runs_small);
}

TEST(SilenceGivesNoEvents) {
  auto m = KwsModel::FromFile(ModelPath(), Opts());
  std::vector<float> zeros(16000 * 3, 0.f);
  CHECK(Spot(m, zeros, 4000, 16).empty());
}

TEST(ModelContractErrors) {
  // A valid ONNX model that is not a keyword model.
  CHECK_THROWS_CODE(KwsModel::FromFile(echoic::testing::SharedPath("models/vad-silero/silero_vad.onnx"), Opts()),
                    ErrorCode::kModel);
  auto m = KwsModel::FromFile(ModelPath(), Opts());
  SpotterConfig c;
  c.thresholds = {0.5f, 0.5f};  // neither 1 nor one per keyword
  CHECK_THROWS_CODE(KeywordSpotter(m, c), ErrorCode::kInvalidArgument);
  c.thresholds = {};
  c.max_batch = 0;
  CHECK_THROWS_CODE(KeywordSpotter(m, c), ErrorCode::kInvalidArgument);
  KeywordSpotter s(m);
  s.InputFinished();
  float x[4] = {0, 0, 0, 0};
  CHECK_THROWS_CODE(s.AcceptWaveform(x, 4), ErrorCode::kState);
  s.Reset();
  s.AcceptWaveform(x, 4);
  float bad[2] = {0.f, NAN};
  CHECK_THROWS_CODE(s.AcceptWaveform(bad, 2), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
