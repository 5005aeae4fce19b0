// Recognizer on the bundled echoic-small-en and a real clip (../shared/eval):
// chunking invariance, batching, n-best alternatives, hotword gating, and the
// refusal of another recognizer's stream.
#include "echoic/asr/recognizer.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "echoic/asr/recognizer_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using namespace echoic::asr;
using namespace echoic::asr::testutil;

TEST(transcript_does_not_depend_on_chunking) {
  Recognizer rec(SmallModel());
  auto whole = rec.CreateStream();
  const std::vector<Result> ref = Run(rec, whole.get(), Clip(), Clip().size());
  const std::string text = Text(ref);
  CHECK(SoundsLikeClip(text));
  for (size_t chunk : {160u, 1234u, 8000u}) {
    auto s = rec.CreateStream();
    const std::vector<Result> got = Run(rec, s.get(), Clip(), chunk);
    CHECK(Text(got) == text);
    CHECK_EQ(got.back().words.size(), ref.back().words.size());
    for (size_t w = 0; w < std::min(got.back().words.size(), ref.back().words.size()); ++w)
      CHECK_NEAR(got.back().words[w].start, ref.back().words[w].start, 1e-6);
  }
  // Word times lie inside the clip and in order.
  const double seconds = Clip().size() / 16000.0;
  float last = 0.f;
  for (const WordInfo& w : ref.back().words) {
    CHECK(w.start >= last && w.end >= w.start && w.end <= seconds + 0.05);
    last = w.start;
  }
}

TEST(batched_streams_decode_like_single_ones) {
  RecognizerConfig config = SmallModel();
  config.max_batch = 8;  // the default for this model (1) runs streams one by one, with their caches in place
  Recognizer rec(config);
  auto alone = rec.CreateStream();
  const std::string ref = Text(Run(rec, alone.get(), Clip(), 4000));
  // Three streams decoded together, fed unevenly so batches mix fresh and advanced states.
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(rec.CreateStream());
  const std::vector<size_t> chunks = {1600, 4000, 7777};
  std::vector<size_t> pos(3, 0);
  for (bool more = true; more;) {
    more = false;
    for (size_t i = 0; i < 3; ++i) {
      if (pos[i] >= Clip().size()) continue;
      const size_t n = std::min(chunks[i], Clip().size() - pos[i]);
      streams[i]->AcceptWaveform(16000, Clip().data() + pos[i], n);
      pos[i] += n;
      if (pos[i] >= Clip().size()) streams[i]->InputFinished();
      more = true;
    }
    std::vector<Stream*> all = {streams[0].get(), streams[1].get(), streams[2].get()};
    rec.Decode(all);
  }
  // The tails run one stream at a time: states that went through batches continue in place.
  for (auto& s : streams) {
    while (!rec.IsDone(*s)) rec.DecodeAvailable(s.get());
    CHECK(Text(s->PopFinalResults()) == ref);
  }
  // And the other way round: streams advanced alone (in place), then in one batch, then alone.
  std::vector<std::unique_ptr<Stream>> mixed;
  for (int i = 0; i < 2; ++i) mixed.push_back(rec.CreateStream());
  const size_t half = Clip().size() / 2;
  for (auto& s : mixed) s->AcceptWaveform(16000, Clip().data(), half), rec.DecodeAvailable(s.get());
  for (auto& s : mixed) s->AcceptWaveform(16000, Clip().data() + half, Clip().size() - half), s->InputFinished();
  rec.Decode({mixed[0].get(), mixed[1].get()});
  for (auto& s : mixed) {
    while (!rec.IsDone(*s)) rec.DecodeAvailable(s.get());
    CHECK(Text(s->PopFinalResults()) == ref);
  }
  CHECK_EQ(SmallModel().max_batch, 0);  // chosen at load: echoic-small-en's 786 KB state runs alone
  CHECK_EQ(Recognizer(SmallModel()).config().max_batch, 1);
}

TEST(nbest_alternatives_are_distinct_and_ranked) {
  RecognizerConfig c = SmallModel();
  c.nbest = 4;
  Recognizer rec(c);
  CHECK(rec.config().decoding_method == "beam");  // "auto" picks beam search for n-best
  auto s = rec.CreateStream();
  const std::vector<Result> finals = Run(rec, s.get(), Clip(), 3200);
  CHECK(!finals.empty());
  const Result& r = finals.back();
  CHECK(r.alternatives.size() >= 2 && r.alternatives.size() <= 4);
  CHECK(r.alternatives[0].text == r.text);
  std::set<std::string> seen;
  for (size_t i = 0; i < r.alternatives.size(); ++i) {
    CHECK(seen.insert(r.alternatives[i].text).second);
    if (i > 0) CHECK(r.alternatives[i].score <= r.alternatives[i - 1].score);
  }
  // Partials carry no alternatives; a plain recognizer's finals neither.
  Recognizer plain(SmallModel());
  auto p = plain.CreateStream();
  CHECK(Run(plain, p.get(), Clip(), 3200).back().alternatives.empty());
}

TEST(unspoken_hotword_leaves_the_transcript_alone) {
  Recognizer rec(SmallModel());
  auto plain = rec.CreateStream();
  const std::string ref = Text(Run(rec, plain.get(), Clip(), 4000));
  auto biased = rec.CreateStream({{"zanzibar quartz", 0.f}});
  CHECK(Text(Run(rec, biased.get(), Clip(), 4000)) == ref);
  CHECK_THROWS_CODE(rec.CreateStream({{"", 0.f}}), ErrorCode::kInvalidArgument);
}

TEST(another_recognizers_stream_is_refused) {
  Recognizer a(SmallModel()), b(SmallModel());
  auto s = a.CreateStream();
  s->AcceptWaveform(16000, Clip().data(), 16000);
  std::vector<Stream*> one = {s.get()};
  CHECK_THROWS_CODE(b.Decode(one), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(b.GetPartial(*s), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(b.IsReady(*s), ErrorCode::kInvalidArgument);
  try {
    b.Decode(one);
  } catch (const echoic::Error& e) {
    CHECK(std::string(e.what()).find("another recognizer") != std::string::npos);
  }
  a.DecodeAvailable(s.get());  // its own recognizer still takes it
  CHECK(s->seconds_received() > 0.99);
}

TEST_MAIN()
