#include "echoic/asr/result.h"

#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::asr::MakeResult;
using echoic::decoding::Hypothesis;
namespace tu = echoic::decoding::testutil;
using tu::Id;

TEST(builds_times_words_and_confidences) {
  auto t = tu::CharVocab();
  Hypothesis h;
  h.tokens = {Id(' '), Id('h'), Id('i'), Id(' '), Id('y'), Id('o')};
  h.frames = {2, 3, 5, 9, 10, 12};
  h.end_frames = {2, 4, 6, 9, 11, 13};
  h.confidences = {0.9f, 0.8f, 0.6f, 1.f, 0.5f, 0.7f};
  auto r = MakeResult(h, t, 0.04f, 10.f, 3, true);
  CHECK(r.text == "hi yo");
  CHECK(r.is_final);
  CHECK_EQ(r.segment, 3);
  CHECK_NEAR(r.segment_start, 10.0, 1e-6);
  CHECK_EQ(r.tokens.size(), size_t{6});
  CHECK(r.tokens[1] == "h");
  CHECK_NEAR(r.token_times[1], 10.0 + 3 * 0.04, 1e-5);
  CHECK_EQ(r.words.size(), size_t{2});
  CHECK(r.words[0].word == "hi");
  CHECK_NEAR(r.words[0].start, 10.0 + 3 * 0.04, 1e-5);  // the bare ▁ carries no text
  CHECK_NEAR(r.words[0].end, 10.0 + 7 * 0.04, 1e-5);    // last frame of 'i' run + 1
  CHECK_NEAR(r.words[0].confidence, 0.7, 1e-6);
  CHECK(r.words[1].word == "yo");
  CHECK_NEAR(r.words[1].end, 10.0 + 14 * 0.04, 1e-5);

  // Without end frames a word ends one frame after its last token's first frame.
  h.end_frames.clear();
  auto r2 = MakeResult(h, t, 0.04f);
  CHECK_NEAR(r2.words[0].end, 6 * 0.04, 1e-5);
  CHECK(!r2.is_final);
}

TEST(empty_hypothesis_gives_empty_result) {
  auto r = MakeResult(Hypothesis{}, tu::CharVocab(), 0.04f);
  CHECK(r.text.empty() && r.words.empty() && r.tokens.empty());
}

TEST(rejects_inconsistent_input) {
  auto t = tu::CharVocab();
  Hypothesis h;
  h.tokens = {Id('a')};
  h.frames = {0};
  CHECK_THROWS_CODE(MakeResult(h, t, 0.04f), ErrorCode::kInvalidArgument);  // no confidences
  h.confidences = {1.f};
  CHECK_THROWS_CODE(MakeResult(h, t, 0.f), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(MakeResult(h, t, 0.04f, -1.f), ErrorCode::kInvalidArgument);
  h.tokens = {77};
  CHECK_THROWS_CODE(MakeResult(h, t, 0.04f), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
