// Stream: the one place audio enters a recognizer. Bad chunks change nothing,
// rates are fixed per stream, endpoints split segments, a VAD sees the audio
// the stream resampled, and external decisions are refused without vad "external".
#include "echoic/asr/stream.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "echoic/asr/recognizer.h"
#include "echoic/asr/recognizer_test_util.h"
#include "echoic/features/resampler.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using namespace echoic::asr;
using namespace echoic::asr::testutil;

namespace {

// Decodes what `s` holds, ends its input and returns its finals.
std::vector<Result> Finish(const Recognizer& rec, Stream* s) { return Run(rec, s, {}, 1); }

}  // namespace

TEST(bad_chunk_is_refused_and_changes_nothing) {
  Recognizer rec(SmallModel());
  auto ref = rec.CreateStream();
  ref->AcceptWaveform(16000, Clip().data(), Clip().size());
  const std::string want = Text(Finish(rec, ref.get()));

  auto s = rec.CreateStream();
  const size_t half = Clip().size() / 2;
  s->AcceptWaveform(16000, Clip().data(), half);
  std::vector<float> bad(Clip().begin() + half, Clip().end());
  bad[1000] = std::nanf("");
  try {
    s->AcceptWaveform(16000, bad.data(), bad.size());
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    const std::string m = e.what();
    CHECK(m.find("stream " + std::to_string(s->id())) != std::string::npos &&
          m.find("sample 1000") != std::string::npos);
  }
  CHECK_NEAR(s->seconds_received(), half / 16000.0, 1e-9);
  CHECK_THROWS_CODE(s->AcceptWaveform(16000, nullptr, 10), ErrorCode::kInvalidArgument);
  s->AcceptWaveform(16000, Clip().data() + half, Clip().size() - half);
  CHECK(Text(Finish(rec, s.get())) == want);  // as if the bad chunk had never come
}

TEST(rate_is_fixed_per_stream_and_input_ends_once) {
  Recognizer rec(SmallModel());
  auto s = rec.CreateStream();
  std::vector<float> x(4800, 0.f);
  CHECK_THROWS_CODE(s->AcceptWaveform(4000, x.data(), x.size()), ErrorCode::kInvalidArgument);
  s->AcceptWaveform(48000, x.data(), x.size());
  CHECK_THROWS_CODE(s->AcceptWaveform(16000, x.data(), x.size()), ErrorCode::kInvalidArgument);
  CHECK_NEAR(s->seconds_received(), 0.1, 1e-9);
  s->InputFinished();
  CHECK_THROWS_CODE(s->AcceptWaveform(48000, x.data(), x.size()), ErrorCode::kState);
}

TEST(resampled_input_decodes_like_native_rate) {
  Recognizer rec(SmallModel());
  auto native = rec.CreateStream();
  native->AcceptWaveform(16000, Clip().data(), Clip().size());
  const std::string want = Text(Finish(rec, native.get()));
  // The clip at 48 kHz: the stream's resampler brings it back to 16 kHz.
  echoic::features::Resampler up(16000, 48000);
  std::vector<float> hi = up.Process(Clip().data(), Clip().size());
  std::vector<float> tail = up.Flush();
  hi.insert(hi.end(), tail.begin(), tail.end());
  auto s = rec.CreateStream();
  std::vector<float> model_rate;
  size_t out = 0;
  for (size_t i = 0; i < hi.size(); i += 4800) {
    s->AcceptWaveform(48000, hi.data() + i, std::min<size_t>(4800, hi.size() - i), &model_rate);
    out += model_rate.size();  // what a host-side VAD would judge
  }
  CHECK(std::fabs(static_cast<double>(out) - hi.size() / 3.0) < 200);  // 16 kHz, less the filter's delay
  const std::string got = Text(Finish(rec, s.get()));
  CHECK(SoundsLikeClip(want) && SoundsLikeClip(got));
}

TEST(endpoint_splits_segments_and_times_run_on) {
  RecognizerConfig c = SmallModel();
  c.enable_endpoint = true;
  Recognizer rec(c);
  auto s = rec.CreateStream();
  std::vector<float> audio = Clip();
  audio.resize(audio.size() + 3 * 16000, 0.f);  // 3 s of silence: rule 2 (1.2 s after speech)
  audio.insert(audio.end(), Clip().begin(), Clip().end());
  for (size_t i = 0; i < audio.size(); i += 1600) {
    s->AcceptWaveform(16000, audio.data() + i, std::min<size_t>(1600, audio.size() - i));
    rec.DecodeAvailable(s.get());
  }
  std::vector<Result> before_end = s->PopFinalResults();
  CHECK(!before_end.empty());  // the first utterance ended without InputFinished
  std::vector<Result> rest = Finish(rec, s.get());
  std::vector<Result> all = before_end;
  all.insert(all.end(), rest.begin(), rest.end());
  std::vector<const Result*> spoken;
  for (const Result& r : all) {
    CHECK(r.is_final);
    if (!r.text.empty()) spoken.push_back(&r);
  }
  CHECK_EQ(spoken.size(), 2u);
  if (spoken.size() == 2) {
    CHECK(SoundsLikeClip(spoken[0]->text));  // the clip, then the clip again (after context)
    CHECK(spoken[1]->segment > spoken[0]->segment);
    const double second_start = Clip().size() / 16000.0 + 3.0;
    CHECK(spoken[1]->words.front().start >= second_start - 0.1);
  }
}

TEST(detectors_need_unit_range_samples) {
  std::vector<float> loud(1600, 3000.f);  // int16-scaled floats
  Recognizer plain(SmallModel());
  plain.CreateStream()->AcceptWaveform(16000, loud.data(), loud.size());  // no detector: any finite amplitude
  RecognizerConfig c = SmallModel();
  c.vad = "energy";
  Recognizer gated(c);
  auto s = gated.CreateStream();
  try {
    s->AcceptWaveform(16000, loud.data(), loud.size());
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(e.what()).find("[-1, 1]") != std::string::npos);
  }
  CHECK_NEAR(s->seconds_received(), 0.0, 0);
}

TEST(voice_activity_reports_need_vad_external) {
  Recognizer plain(SmallModel());
  auto s = plain.CreateStream();
  CHECK_THROWS_CODE(s->ReportVoiceActivity(true, 0.03), ErrorCode::kState);
  RecognizerConfig c = SmallModel();
  c.vad = "external";
  Recognizer ext(c);
  auto e = ext.CreateStream();
  e->ReportVoiceActivity(true, 0.03);
  CHECK_THROWS_CODE(e->ReportVoiceActivity(true, 0.0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(e->ReportVoiceActivity(false, 11.0), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
