#include "echoic/decoding/context_graph.h"

#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::ContextGraph;
using echoic::decoding::ContextPhrase;
using echoic::decoding::EncodeWithTokens;
namespace tu = echoic::decoding::testutil;

namespace {
std::vector<int32_t> Ids(const std::string& s) {
  std::vector<int32_t> v;
  for (char c : s) v.push_back(tu::Id(c));
  return v;
}
// Walks `s` through the graph; returns the total score, the final state and
// the phrases completed on the way.
float Walk(const ContextGraph& g, const std::string& s, ContextGraph::State* state, std::vector<int32_t>* matched) {
  ContextGraph::State st = g.Root();
  float total = 0.f;
  for (int32_t t : Ids(s)) {
    auto step = g.Forward(st, t);
    total += step.score;
    st = step.state;
    if (step.phrase >= 0 && matched) matched->push_back(step.phrase);
  }
  if (state) *state = st;
  return total;
}
}  // namespace

TEST(completed_phrase_keeps_its_boost) {
  ContextGraph g({{Ids("cat"), 2.f, "cat"}}, 1.f);
  ContextGraph::State s;
  std::vector<int32_t> m;
  CHECK_NEAR(Walk(g, "cat", &s, &m), 6.0, 1e-6);
  CHECK_EQ(m.size(), size_t{1});
  CHECK_NEAR(g.Finalize(s), 0.0, 1e-6);
  // Completed phrase followed by other tokens: the boost stays.
  CHECK_NEAR(Walk(g, "catxy", nullptr, nullptr), 6.0, 1e-6);
  CHECK_NEAR(Walk(g, "xcatcat", nullptr, nullptr), 12.0, 1e-6);
}

TEST(partial_match_is_taken_back) {
  ContextGraph g({{Ids("cat"), 0.f, "cat"}}, 1.5f);
  ContextGraph::State s;
  // Started, then broken: nothing gained.
  CHECK_NEAR(Walk(g, "cax", &s, nullptr), 0.0, 1e-6);
  CHECK_EQ(s, g.Root());
  // Started, not finished at the end: Finalize takes it back.
  float partial = Walk(g, "ca", &s, nullptr);
  CHECK_NEAR(partial, 3.0, 1e-6);
  CHECK_NEAR(g.Pending(s), 3.0, 1e-6);
  CHECK_NEAR(partial + g.Finalize(s), 0.0, 1e-6);
  // Broken match that restarts another: "ccat" = take back 'c', then full cat.
  CHECK_NEAR(Walk(g, "ccat", &s, nullptr), 4.5, 1e-6);
}

TEST(aho_corasick_suffix_and_overlaps) {
  // "she" and "he": on "she" both complete; "hers" shares "he".
  ContextGraph g({{Ids("she"), 1.f, "she"}, {Ids("he"), 1.f, "he"}, {Ids("hers"), 1.f, "hers"}}, 1.f);
  std::vector<int32_t> m;
  ContextGraph::State s;
  Walk(g, "she", &s, &m);
  CHECK_EQ(m.size(), size_t{1});
  CHECK_EQ(m[0], 0);  // the node's own phrase is reported first
  // "shers": the "she" match breaks into the "hers" suffix and completes it.
  m.clear();
  float total = Walk(g, "shers", &s, &m);
  CHECK(m.size() >= 2);
  CHECK_EQ(m.back(), 2);
  CHECK_NEAR(total + g.Finalize(s), 3.0 + 4.0, 1e-5);  // she (3) kept, hers (4) earned
  // Prefix phrase "he" completed, then "hers" abandoned: "he" keeps 2.
  CHECK_NEAR(Walk(g, "hex", &s, nullptr), 2.0, 1e-6);
  float hehe = Walk(g, "her", &s, nullptr);
  CHECK_NEAR(hehe + g.Finalize(s), 2.0, 1e-6);
}

TEST(shared_prefix_uses_largest_boost_in_any_order) {
  // Whatever the phrase order, every step along "abc" earns >= 0 and the
  // shared edges carry the larger boost.
  for (bool swap : {false, true}) {
    std::vector<ContextPhrase> ps = {{Ids("abc"), 1.f, "abc"}, {Ids("ab"), 3.f, "ab"}};
    if (swap) std::swap(ps[0], ps[1]);
    ContextGraph g(ps, 1.f);
    ContextGraph::State s = g.Root();
    float total = 0.f;
    for (int32_t t : Ids("abc")) {
      auto step = g.Forward(s, t);
      CHECK(step.score > 0.f);
      total += step.score;
      s = step.state;
    }
    CHECK_NEAR(total, 7.0, 1e-6);  // 3 + 3 + 1
    CHECK_NEAR(Walk(g, "ab", nullptr, nullptr), 6.0, 1e-6);
  }
}

TEST(validation) {
  CHECK_THROWS_CODE(ContextGraph({}, 1.f), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ContextGraph({{{}, 1.f, "empty"}}, 1.f), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ContextGraph({{{-1}, 1.f, "neg"}}, 1.f), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ContextGraph({{{40}, 1.f, "big"}}, 1.f, tu::kV), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ContextGraph({{{2}, 1.f, "x"}}, 0.f), ErrorCode::kInvalidArgument);
  ContextGraph g({{{2}, 1.f, "x"}}, 1.f);
  CHECK_THROWS_CODE(g.Forward(99, 2), ErrorCode::kInvalidArgument);
}

TEST(encode_with_char_and_bpe_vocab) {
  auto t = tu::CharVocab();
  auto ids = EncodeWithTokens("  hey you ", t);
  CHECK(ids == Ids(" hey you"));
  CHECK(t.Detokenize(ids) == "hey you");
  CHECK(EncodeWithTokens("HeY", t) == Ids(" hey"));  // lower-case vocabulary: case fallback
  CHECK_THROWS_CODE(EncodeWithTokens("h\xC3\xA9y", t), ErrorCode::kInvalidArgument);  // no é, no byte fallback
  CHECK_THROWS_CODE(EncodeWithTokens("   ", t), ErrorCode::kInvalidArgument);

  auto bpe = echoic::decoding::SymbolTable::FromString(
      "<blk> 0\n\xE2\x96\x81hel 1\n\xE2\x96\x81hello 2\nlo 3\nw 4\n\xE2\x96\x81 5\no 6\n<0xC3> 7\n<0xA9> 8\n"
      "\xE2\x96\x81wo 9\nr 10\nl 11\nd 12\n",
      "bpe");
  CHECK(EncodeWithTokens("hello world", bpe) == (std::vector<int32_t>{2, 9, 10, 11, 12}));
  CHECK(EncodeWithTokens("helo", bpe) == (std::vector<int32_t>{1, 6}));
  // No piece for "é": byte fallback; no "▁é" piece: the bare "▁" is used.
  CHECK(EncodeWithTokens("\xC3\xA9", bpe) == (std::vector<int32_t>{5, 7, 8}));
  CHECK(bpe.Detokenize(EncodeWithTokens("wo \xC3\xA9", bpe)) == "wo \xC3\xA9");
}

TEST_MAIN()
