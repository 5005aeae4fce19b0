#include "echoic/decoding/ctc_greedy_decoder.h"

#include <cmath>

#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::CtcGreedyDecoder;
using echoic::decoding::Hypothesis;
namespace tu = echoic::decoding::testutil;
using tu::Id;
using tu::kV;

namespace {
bool Same(const Hypothesis& a, const Hypothesis& b) {
  return a.tokens == b.tokens && a.frames == b.frames && a.end_frames == b.end_frames && a.confidences == b.confidences;
}
}  // namespace

TEST(collapses_repeats_and_skips_blanks) {
  auto t = tu::CharVocab();
  CtcGreedyDecoder d(kV, 0);
  auto m = tu::PeakyFrames("_ hh_e_ll_lo__ w_orld___");
  d.Accept(m.data(), static_cast<int32_t>(m.size() / kV), kV);
  Hypothesis h = d.Best();
  CHECK(t.Detokenize(h.tokens) == "hello world");
  // First frame of each token's run, last frame of it.
  CHECK_EQ(h.frames[1], 2);  // 'h' run starts at frame 2
  CHECK_EQ(h.end_frames[1], 3);
  CHECK_EQ(h.frames[3], 7);  // first 'l' (frames 7-8), the second at 10
  CHECK_EQ(h.frames[4], 10);
  CHECK_EQ(d.trailing_blank_frames(), 3);
  CHECK(d.decoded_something());
  for (float c : h.confidences) CHECK_NEAR(c, 0.97, 1e-4);
  CHECK_EQ(d.num_frames(), 24);
}

TEST(confidence_is_mean_posterior_over_run) {
  CtcGreedyDecoder d(kV, 0);
  std::vector<float> m;
  tu::Append(m, tu::Frame({{'a', 0.9f}}));
  tu::Append(m, tu::Frame({{'a', 0.5f}, {'b', 0.2f}}));
  tu::Append(m, tu::Frame({{'_', 0.8f}}));
  d.Accept(m.data(), 3, kV);
  Hypothesis h = d.Best();
  CHECK_EQ(h.tokens.size(), size_t{1});
  CHECK_NEAR(h.confidences[0], 0.7, 1e-4);
  CHECK_EQ(h.end_frames[0], 1);
  CHECK_EQ(d.trailing_blank_frames(), 1);
}

TEST(chunking_does_not_change_results) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    auto m = tu::RandomLogProbs(200, kV, seed, 1.5f);
    CtcGreedyDecoder whole(kV, 0), ones(kV, 0), rnd(kV, 0);
    whole.Accept(m.data(), 200, kV);
    tu::FeedChunks(ones, m, kV, {1});
    tu::FeedChunks(rnd, m, kV, tu::RandomSizes(seed * 7));
    CHECK(!whole.Best().tokens.empty());
    CHECK(Same(whole.Best(), ones.Best()));
    CHECK(Same(whole.Best(), rnd.Best()));
    CHECK_EQ(whole.trailing_blank_frames(), rnd.trailing_blank_frames());
  }
}

TEST(repeat_across_chunk_border_collapses) {
  auto m = tu::PeakyFrames("aa_a");
  CtcGreedyDecoder d(kV, 0);
  d.Accept(m.data(), 1, kV);
  d.Accept(m.data() + kV, 3, kV);
  CHECK_EQ(d.Best().tokens.size(), size_t{2});
}

TEST(partial_results_and_reset) {
  auto m = tu::PeakyFrames("ab_c");
  CtcGreedyDecoder d(kV, 0);
  d.Accept(m.data(), 2, kV);
  CHECK_EQ(d.Best().tokens.size(), size_t{2});
  d.Reset();
  CHECK(!d.decoded_something());
  CHECK_EQ(d.num_frames(), 0);
  d.Accept(m.data() + 2 * kV, 2, kV);
  Hypothesis h = d.Best();
  CHECK_EQ(h.tokens.size(), size_t{1});
  CHECK_EQ(h.frames[0], 1);  // frame indices restart after Reset
}

TEST(rejects_bad_input) {
  CHECK_THROWS_CODE(CtcGreedyDecoder(kV, kV), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(CtcGreedyDecoder(0, 0), ErrorCode::kInvalidArgument);
  CtcGreedyDecoder d(kV, 0);
  auto m = tu::PeakyFrames("ab");
  CHECK_THROWS_CODE(d.Accept(m.data(), 1, kV + 1), ErrorCode::kModel);  // vocab mismatch
  CHECK_THROWS_CODE(d.Accept(nullptr, 1, kV), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(d.Accept(m.data(), -1, kV), ErrorCode::kInvalidArgument);
  m[kV + 3] = NAN;
  try {
    d.Accept(m.data(), 2, kV);
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(e.what()).find("frame 1") != std::string::npos);
  }
  d.Accept(nullptr, 0, kV);  // an empty chunk is fine
}

TEST_MAIN()
