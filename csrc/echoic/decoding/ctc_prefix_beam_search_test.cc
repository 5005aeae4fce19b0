#include "echoic/decoding/ctc_prefix_beam_search.h"

#include <cmath>
#include <memory>
#include <thread>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/ctc_greedy_decoder.h"
#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::ContextGraph;
using echoic::decoding::CtcBeamSearchConfig;
using echoic::decoding::CtcGreedyDecoder;
using echoic::decoding::CtcPrefixBeamSearch;
using echoic::decoding::EncodeWithTokens;
using echoic::decoding::Hypothesis;
namespace tu = echoic::decoding::testutil;
using tu::kV;

namespace {
bool Same(const Hypothesis& a, const Hypothesis& b) {
  return a.tokens == b.tokens && a.frames == b.frames && a.end_frames == b.end_frames &&
         a.confidences == b.confidences && a.log_prob == b.log_prob;
}
int32_t Frames(const std::vector<float>& m) { return static_cast<int32_t>(m.size() / kV); }

// Exact log P(labelling | frames) by the CTC forward algorithm, for checking.
double CtcLogProb(const std::vector<float>& m, const std::vector<int32_t>& label) {
  std::vector<int32_t> ext = {0};
  for (int32_t l : label) {
    ext.push_back(l);
    ext.push_back(0);
  }
  const int32_t T = Frames(m), S = static_cast<int32_t>(ext.size());
  std::vector<double> a(S, 0.0), b(S);
  a[0] = std::exp(m[ext[0]]);
  if (S > 1) a[1] = std::exp(m[ext[1]]);
  for (int32_t t = 1; t < T; ++t) {
    for (int32_t s = 0; s < S; ++s) {
      double v = a[s] + (s >= 1 ? a[s - 1] : 0.0);
      if (s >= 2 && ext[s] != 0 && ext[s] != ext[s - 2]) v += a[s - 2];
      b[s] = v * std::exp(m[static_cast<size_t>(t) * kV + ext[s]]);
    }
    a = b;
  }
  return std::log(a[S - 1] + (S > 1 ? a[S - 2] : 0.0));
}

Hypothesis Greedy(const std::vector<float>& m) {
  CtcGreedyDecoder g(kV, 0);
  g.Accept(m.data(), Frames(m), kV);
  return g.Best();
}
}  // namespace

TEST(equals_greedy_on_peaky_input) {
  auto t = tu::CharVocab();
  for (const char* path : {"_ hh_e_ll_lo__ w_orld___", "aa_a__b", "", "___", "x", " i_'_m"}) {
    auto m = tu::PeakyFrames(path, 0.98f);
    CtcPrefixBeamSearch b(kV, 0);
    b.Accept(m.data(), Frames(m), kV);
    Hypothesis g = Greedy(m), h = b.Best(true);
    CHECK(h.tokens == g.tokens);
    CHECK(h.frames == g.frames);
    CHECK(h.end_frames == g.end_frames);
    CHECK_EQ(h.confidences.size(), g.confidences.size());
    for (size_t i = 0; i < h.confidences.size() && i < g.confidences.size(); ++i)
      CHECK_NEAR(h.confidences[i], g.confidences[i], 1e-6);
    CtcGreedyDecoder gd(kV, 0);
    gd.Accept(m.data(), Frames(m), kV);
    CHECK_EQ(b.trailing_blank_frames(), gd.trailing_blank_frames());
  }
  auto m = tu::PeakyFrames("_ hh_e_ll_lo__ w_orld___", 0.98f);
  CtcPrefixBeamSearch b(kV, 0);
  b.Accept(m.data(), Frames(m), kV);
  CHECK(t.Detokenize(b.Best().tokens) == "hello world");
}

TEST(beats_greedy_when_best_path_is_not_best_labelling) {
  // Two frames, P(blank) = 0.6, P(a) = 0.4 each: the best path is blank-blank
  // (""; 0.36), yet "a" has P = 0.4*0.4 + 2*0.4*0.6 = 0.64.
  std::vector<float> m;
  tu::Append(m, tu::Frame({{'_', 0.6f}, {'a', 0.4f - 1e-4f}}));
  tu::Append(m, tu::Frame({{'_', 0.6f}, {'a', 0.4f - 1e-4f}}));
  CHECK(Greedy(m).tokens.empty());
  CtcPrefixBeamSearch b(kV, 0);
  b.Accept(m.data(), 2, kV);
  Hypothesis h = b.Best(true);
  CHECK(h.tokens == std::vector<int32_t>{tu::Id('a')});
  CHECK_NEAR(h.log_prob, std::log(0.64), 1e-3);
  CHECK_NEAR(h.log_prob, CtcLogProb(m, h.tokens), 1e-6);
  CHECK(h.frames[0] <= 1);  // both paths into "a" weigh the same
}

TEST(prefix_probabilities_match_ctc_forward) {
  // With a beam as wide as needed and no pruning of tokens, each kept prefix's
  // probability is the exact CTC probability of that labelling.
  const int32_t V = 4;
  std::vector<float> small = tu::RandomLogProbs(6, V, 3, 0.7f);
  // Pad each row to the char vocabulary with -inf (tokens never seen).
  std::vector<float> m;
  for (int32_t t = 0; t < 6; ++t)
    for (int32_t v = 0; v < kV; ++v) m.push_back(v < V ? small[t * V + v] : -INFINITY);
  CtcBeamSearchConfig cfg;
  cfg.beam = 2000;
  cfg.top_k = V;
  cfg.log_prob_floor = -1e30f;
  CtcPrefixBeamSearch b(kV, 0, cfg);
  b.Accept(m.data(), 6, kV);
  auto nbest = b.NBest();
  CHECK(nbest.size() > 20);
  double total = 0.0;
  for (const auto& h : nbest) {
    CHECK_NEAR(h.log_prob, CtcLogProb(m, h.tokens), 1e-5);
    total += std::exp(h.log_prob);
  }
  CHECK_NEAR(total, 1.0, 1e-4);  // all labellings of 6 frames over 3 symbols
}

TEST(chunking_does_not_change_results) {
  for (uint32_t seed = 11; seed <= 14; ++seed) {
    auto m = tu::RandomLogProbs(150, kV, seed, 1.2f);
    CtcBeamSearchConfig cfg;
    cfg.beam = 6;
    cfg.top_k = 8;
    CtcPrefixBeamSearch whole(kV, 0, cfg), ones(kV, 0, cfg), rnd(kV, 0, cfg);
    whole.Accept(m.data(), Frames(m), kV);
    tu::FeedChunks(ones, m, kV, {1});
    tu::FeedChunks(rnd, m, kV, tu::RandomSizes(seed));
    CHECK(!whole.Best().tokens.empty());
    CHECK(Same(whole.Best(), ones.Best()));
    CHECK(Same(whole.Best(), rnd.Best()));
    auto a = whole.NBest(), c = rnd.NBest();
    CHECK_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size() && i < c.size(); ++i) CHECK(Same(a[i], c[i]));
    // The beam never does worse than greedy on the labelling probability.
    Hypothesis g = Greedy(m);
    CHECK(CtcLogProb(m, whole.Best().tokens) >= CtcLogProb(m, g.tokens) - 1e-6);
  }
}

namespace {
// Frames that read "▁kat" or "▁cat": 'k' slightly more probable than 'c'.
std::vector<float> AmbiguousCat(bool end_with_s) {
  std::vector<float> m;
  tu::Append(m, tu::Frame({{' ', 0.9f}}));
  tu::Append(m, tu::Frame({{'k', 0.5f}, {'c', 0.4f}}));
  tu::Append(m, tu::Frame({{'_', 0.9f}}));
  tu::Append(m, tu::Frame({{'a', 0.9f}}));
  tu::Append(m, tu::Frame({{'t', 0.9f}}));
  if (end_with_s) tu::Append(m, tu::Frame({{'_', 0.9f}}));
  tu::Append(m, tu::Frame({{'_', 0.9f}}));
  return m;
}
}  // namespace

TEST(hotword_wins_only_with_context_graph) {
  auto t = tu::CharVocab();
  auto m = AmbiguousCat(false);
  CtcPrefixBeamSearch plain(kV, 0);
  plain.Accept(m.data(), Frames(m), kV);
  CHECK(t.Detokenize(plain.Best(true).tokens) == "kat");

  auto graph = std::make_shared<ContextGraph>(
      std::vector<echoic::decoding::ContextPhrase>{{EncodeWithTokens("cat", t), 1.0f, "cat"}}, 1.5f, kV);
  CtcPrefixBeamSearch biased(kV, 0, {}, graph);
  tu::FeedChunks(biased, m, kV, {2, 1});
  Hypothesis h = biased.Best(true);
  CHECK(t.Detokenize(h.tokens) == "cat");
  CHECK_NEAR(h.context_score, 4.0, 1e-5);  // "▁" "c" "a" "t" at 1.0 each
  // The probabilities stay honest (up to the mass of the tokens top-k pruned);
  // only the ranking is biased.
  CHECK_NEAR(h.log_prob, CtcLogProb(m, h.tokens), 2e-2);
}

TEST(unfinished_hotword_gains_nothing) {
  // Hotword "cats" but the audio says "kat"/"cat": the partial "cat" match
  // must not make "cat" win the final result.
  auto t = tu::CharVocab();
  auto m = AmbiguousCat(true);
  auto graph = std::make_shared<ContextGraph>(
      std::vector<echoic::decoding::ContextPhrase>{{EncodeWithTokens("cats", t), 1.0f, "cats"}}, 1.5f, kV);
  CtcBeamSearchConfig cfg;
  cfg.beam = 8;
  CtcPrefixBeamSearch b(kV, 0, cfg, graph);
  b.Accept(m.data(), Frames(m), kV);
  CHECK(t.Detokenize(b.Best(false).tokens) == "cat");  // partial: the match is still open
  Hypothesis fin = b.Best(true);
  CHECK(t.Detokenize(fin.tokens) == "kat");
  CHECK_NEAR(fin.context_score, 0.0, 1e-6);
}

TEST(streams_decode_in_parallel_with_a_shared_graph) {
  // One decoder per stream, one read-only graph for all: threads give the same
  // results as decoding the streams one after another.
  auto t = tu::CharVocab();
  auto graph = std::make_shared<ContextGraph>(
      std::vector<echoic::decoding::ContextPhrase>{{EncodeWithTokens("cat", t), 0.f, "cat"},
                                                   {EncodeWithTokens("dog", t), 0.f, "dog"}},
      1.5f, kV);
  constexpr int kStreams = 4;
  std::vector<std::vector<float>> inputs;
  for (int i = 0; i < kStreams; ++i) inputs.push_back(tu::RandomLogProbs(300, kV, 100 + i, 1.5f));
  std::vector<Hypothesis> serial, parallel(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    CtcPrefixBeamSearch b(kV, 0, {}, graph);
    b.Accept(inputs[i].data(), 300, kV);
    serial.push_back(b.Best(true));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i)
    threads.emplace_back([&, i] {
      CtcPrefixBeamSearch b(kV, 0, {}, graph);
      tu::FeedChunks(b, inputs[i], kV, {4});
      parallel[i] = b.Best(true);
    });
  for (auto& th : threads) th.join();
  for (int i = 0; i < kStreams; ++i) CHECK(Same(serial[i], parallel[i]));
}

TEST(reset_partial_and_errors) {
  auto m = tu::PeakyFrames("ab__", 0.98f);
  CtcPrefixBeamSearch b(kV, 0);
  b.Accept(m.data(), 1, kV);
  CHECK_EQ(b.Best().tokens.size(), size_t{1});
  CHECK(b.decoded_something());
  b.Accept(m.data() + kV, 3, kV);
  CHECK_EQ(b.trailing_blank_frames(), 2);
  auto graph = std::make_shared<ContextGraph>(std::vector<echoic::decoding::ContextPhrase>{{{2}, 1.f, "a"}}, 1.f);
  CHECK_THROWS_CODE(b.SetContextGraph(graph), ErrorCode::kState);
  b.Reset();
  CHECK(!b.decoded_something());
  CHECK_EQ(b.num_frames(), 0);
  b.SetContextGraph(graph);
  CHECK_THROWS_CODE(b.Accept(m.data(), 1, 5), ErrorCode::kModel);
  CHECK_THROWS_CODE(b.Accept(nullptr, 2, kV), ErrorCode::kInvalidArgument);
  std::vector<float> dead(kV, -INFINITY);
  CHECK_THROWS_CODE(b.Accept(dead.data(), 1, kV), ErrorCode::kInvalidArgument);
  dead[5] = -1e30f;  // one finite (if tiny) entry is enough
  b.Accept(dead.data(), 1, kV);
  CHECK_EQ(b.Best().tokens.size(), size_t{1});
  CtcBeamSearchConfig bad;
  bad.beam = 0;
  CHECK_THROWS_CODE(CtcPrefixBeamSearch(kV, 0, bad), ErrorCode::kInvalidArgument);
  bad = CtcBeamSearchConfig{};
  bad.log_prob_floor = 1.f;
  CHECK_THROWS_CODE(CtcPrefixBeamSearch(kV, 0, bad), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(CtcPrefixBeamSearch(kV, -1), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
