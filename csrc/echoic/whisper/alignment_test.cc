#include "echoic/whisper/alignment.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::whisper::AlignTokens;
using echoic::whisper::DtwTokenStarts;
using echoic::whisper::TokenSpan;

namespace {

// Softmax-like rows: token i puts most weight on frames [bounds[i], bounds[i+1]), plus
// deterministic noise; each head gets its own noise.
std::vector<float> BandAttention(int heads, const std::vector<int>& bounds, int frames) {
  const int tokens = static_cast<int>(bounds.size()) - 1;
  std::vector<float> a(static_cast<size_t>(heads) * tokens * frames);
  uint32_t state = 7;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < tokens; ++i) {
      float* row = a.data() + (static_cast<size_t>(h) * tokens + i) * frames;
      double sum = 0;
      for (int f = 0; f < frames; ++f) {
        state = state * 1664525u + 1013904223u;
        row[f] = (f >= bounds[i] && f < bounds[i + 1] ? 1.0f : 0.05f) + 0.04f * (state >> 8) / float(1 << 24);
        sum += row[f];
      }
      for (int f = 0; f < frames; ++f) row[f] = static_cast<float>(row[f] / sum);
    }
  return a;
}

void CheckWellFormed(const std::vector<TokenSpan>& s, int tokens, int frames, float fs) {
  CHECK_EQ(static_cast<int>(s.size()), tokens);
  CHECK_NEAR(s[0].start, 0.0, 1e-6);  // the path starts at frame 0
  for (int i = 0; i < tokens; ++i) {
    CHECK(s[i].end >= s[i].start);
    if (i + 1 < tokens) CHECK_EQ(s[i].end, s[i + 1].start);
  }
  CHECK_NEAR(s.back().end, frames * fs, 1e-6);
}

}  // namespace

TEST(RecoversBands) {
  const std::vector<int> bounds = {0, 12, 30, 31, 55, 80, 100};
  const int tokens = 6, frames = 100, heads = 3;
  std::vector<float> att = BandAttention(heads, bounds, frames);
  std::vector<TokenSpan> s = AlignTokens(att.data(), heads, tokens, frames);
  CheckWellFormed(s, tokens, frames, 0.02f);
  // The 1-frame band (token 2) is erased by the width-7 median filter, so it may be
  // squeezed; the others land within a frame.
  for (int i : {0, 1, 3, 4, 5}) CHECK_NEAR(s[i].start, bounds[i] * 0.02, 0.0201);
  CHECK_NEAR(s[4].end, 1.6, 0.0201);
}

TEST(NoMedianFilterAndOtherFrameLength) {
  const std::vector<int> bounds = {0, 10, 20, 40};
  std::vector<float> att = BandAttention(1, bounds, 40);
  std::vector<TokenSpan> s = AlignTokens(att.data(), 1, 3, 40, 0.04f, 1);
  CheckWellFormed(s, 3, 40, 0.04f);
  CHECK_NEAR(s[1].start, 0.4, 1e-6);
  CHECK_NEAR(s[2].start, 0.8, 1e-6);
}

TEST(EdgeCases) {
  // One token: standardization has nothing to compare, it spans everything.
  std::vector<float> one(50, 0.02f);
  std::vector<TokenSpan> s = AlignTokens(one.data(), 1, 1, 50);
  CheckWellFormed(s, 1, 50, 0.02f);
  // Fewer frames than tokens (and frames <= median pad: filter skipped).
  std::vector<float> att = BandAttention(2, {0, 1, 1, 2, 2, 3, 3}, 3);
  s = AlignTokens(att.data(), 2, 6, 3);
  CheckWellFormed(s, 6, 3, 0.02f);
  // A single frame.
  std::vector<float> single = {1.0f, 1.0f};
  s = AlignTokens(single.data(), 1, 2, 1);
  CheckWellFormed(s, 2, 1, 0.02f);
}

TEST(DtwMatchesOpenAiTieBreaking) {
  // Hand-checked: token 0 owns frames 0-1, token 1 frame 2.
  std::vector<float> cost = {0, 0, 5, 5, 5, 0};
  std::vector<int32_t> st = DtwTokenStarts(cost.data(), 2, 3);
  CHECK_EQ(st[0], 0);
  CHECK_EQ(st[1], 2);
  // All ties: openai prefers the time step, so the path runs along the last token and
  // every earlier token starts (and ends) at frame 0.
  std::vector<float> flat(12, 0.0f);
  st = DtwTokenStarts(flat.data(), 3, 4);
  for (int32_t v : st) CHECK_EQ(v, 0);
}

TEST(BadArguments) {
  std::vector<float> att(2 * 3 * 10, 0.1f);
  CHECK_THROWS_CODE(AlignTokens(nullptr, 2, 3, 10), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(AlignTokens(att.data(), 0, 3, 10), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(AlignTokens(att.data(), 2, 0, 10), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(AlignTokens(att.data(), 2, 3, 0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(AlignTokens(att.data(), 2, 3, 10, 0.02f, 4), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(AlignTokens(att.data(), 2, 3, 10, 0.0f), ErrorCode::kInvalidArgument);
  att[17] = NAN;
  CHECK_THROWS_CODE(AlignTokens(att.data(), 2, 3, 10), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(DtwTokenStarts(att.data(), 0, 10), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
