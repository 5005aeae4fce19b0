// Transducer search on synthetic networks: the "prediction network" output is
// the context itself, and the "joiner" is a per-frame table that may depend on
// the last token, so every expected result can be worked out by hand. The same
// networks behind decoding::TransducerNetworks drive DecodeTransducerChunk.
#include "echoic/decoding/transducer_decoder.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <utility>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/transducer_networks.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::ContextGraph;
using echoic::decoding::ContextPhrase;
using echoic::decoding::Hypothesis;
using echoic::decoding::TransducerDecoder;
using echoic::decoding::TransducerNetworkDims;
using echoic::decoding::TransducerNetworks;
using echoic::decoding::TransducerSearchConfig;

namespace {

constexpr int32_t kV = 3;  // 0 = blank, 1 = "a", 2 = "b"

TransducerSearchConfig Config(int32_t beam) {
  TransducerSearchConfig c;
  c.vocab_size = kV;
  c.blank_id = 0;
  c.context_size = 2;
  c.decoder_dim = 2;
  c.beam = beam;
  return c;
}

// probs(frame, last_token) -> kV probabilities; logits are their logs.
using Table = std::function<std::vector<double>(int32_t, int32_t)>;

void FeedDecoderOuts(TransducerDecoder* d) {
  std::vector<int64_t> ctx;
  int32_t n = d->PendingContexts(&ctx);
  std::vector<float> rows(ctx.begin(), ctx.end());  // decoder_out = the context ids
  if (n > 0) d->SetDecoderOuts(rows.data(), n);
}

void Run(TransducerDecoder* d, const Table& table, int32_t frames, int32_t first_frame = 0) {
  for (int32_t t = first_frame; t < first_frame + frames; ++t) {
    FeedDecoderOuts(d);
    std::vector<float> logits;
    for (int32_t r = 0; r < d->NumRows(); ++r) {
      int32_t last = static_cast<int32_t>(d->DecoderOut(r)[1]);
      for (double p : table(t, last)) logits.push_back(static_cast<float>(std::log(std::max(p, 1e-12))));
    }
    d->Step(logits.data(), d->NumRows(), kV);
  }
}

// Those networks as TransducerNetworks: an encoder frame is {t, 0}, the prediction
// network's output is its context, and the joiner looks up table(t, last token).
class TableNetworks final : public TransducerNetworks {
 public:
  explicit TableNetworks(Table table) : table_(std::move(table)) {}
  TransducerNetworkDims dims() const override { return {kV, 0, 2, 2}; }
  std::vector<float> RunDecoder(const int64_t* contexts, int32_t num_contexts) const override {
    ++decoder_runs;
    return std::vector<float>(contexts, contexts + 2 * num_contexts);
  }
  std::vector<float> RunJoiner(const float* encoder_out, const float* decoder_out, int32_t rows) const override {
    ++joiner_runs;
    std::vector<float> logits;
    for (int32_t r = 0; r < rows; ++r) {
      const auto t = static_cast<int32_t>(encoder_out[2 * r]), last = static_cast<int32_t>(decoder_out[2 * r + 1]);
      for (double p : table_(t, last)) logits.push_back(static_cast<float>(std::log(std::max(p, 1e-12))));
    }
    return logits;
  }
  mutable int32_t decoder_runs = 0, joiner_runs = 0;

 private:
  Table table_;
};

std::vector<float> EncoderFrames(int32_t frames) {
  std::vector<float> enc;
  for (int32_t t = 0; t < frames; ++t) enc.insert(enc.end(), {static_cast<float>(t), 0.f});
  return enc;
}

// Frame 0: blank .3, a .3, b .4; frame 1: blank .6, a .4, b 0 (whatever came before).
std::vector<double> TwoFrames(int32_t t, int32_t) {
  return t == 0 ? std::vector<double>{0.3, 0.3, 0.4} : std::vector<double>{0.6, 0.4, 0.0};
}

}  // namespace

TEST(GreedyTakesArgmaxWithOneSymbolPerFrameAndTracksContext) {
  TransducerDecoder d(Config(1));
  std::vector<int64_t> ctx;
  CHECK_EQ(d.PendingContexts(&ctx), 1);
  CHECK(ctx == (std::vector<int64_t>{-1, 0}));  // sherpa-onnx's start context
  // After "a" the model strongly prefers "b", after "b" blank.
  Table table = [](int32_t t, int32_t last) -> std::vector<double> {
    if (t == 0) return {0.2, 0.7, 0.1};
    if (last == 1) return {0.1, 0.1, 0.8};
    return {0.9, 0.05, 0.05};
  };
  Run(&d, table, 5);
  Hypothesis h = d.Best();
  CHECK(h.tokens == (std::vector<int32_t>{1, 2}));
  CHECK(h.frames == (std::vector<int32_t>{0, 1}));
  CHECK_NEAR(h.confidences[0], 0.7, 1e-5);
  CHECK_NEAR(h.confidences[1], 0.8, 1e-5);
  CHECK_NEAR(h.log_prob, std::log(0.7 * 0.8 * 0.9 * 0.9 * 0.9), 1e-5);
  CHECK_EQ(d.trailing_blank_frames(), 3);
  CHECK(d.decoded_something());
  // The prediction network last ran on the context ending in "a", "b".
  CHECK_EQ(d.DecoderOut(0)[0], 1.f);
  CHECK_EQ(d.DecoderOut(0)[1], 2.f);
}

TEST(ModifiedBeamSearchMergesAlignmentsOfOneLabelling) {
  TransducerDecoder greedy(Config(1));
  Run(&greedy, TwoFrames, 2);
  CHECK(greedy.Best().tokens == (std::vector<int32_t>{2}));  // "b": .4 * .6 = .24
  TransducerDecoder beam(Config(8));
  Run(&beam, TwoFrames, 2);
  Hypothesis h = beam.Best();
  // "a" = (a, blank) .3*.6 + (blank, a) .3*.4 = .30 beats "b" only when merged.
  CHECK(h.tokens == (std::vector<int32_t>{1}));
  CHECK_NEAR(h.log_prob, std::log(0.30), 1e-5);
  CHECK(h.frames == (std::vector<int32_t>{0}));  // timing of the better alignment
}

TEST(BeamOfOneIsGreedyOnRandomContextDependentLogits) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> table(60 * kV);
  for (auto& row : table) {
    row = {u(rng) * 2.0, u(rng), u(rng)};  // blank somewhat favoured
    double s = row[0] + row[1] + row[2];
    for (double& p : row) p /= s;
  }
  Table t = [&](int32_t frame, int32_t last) { return table[frame * kV + std::max(last, 0)]; };
  TransducerDecoder g(Config(1));
  TransducerSearchConfig c1 = Config(1);
  // A context graph forces the beam code path even with beam 1; its phrase never matches here.
  auto never = std::make_shared<ContextGraph>(std::vector<ContextPhrase>{{{2, 2, 2, 2, 2, 2, 2, 2}, 1e-6f, "x"}});
  TransducerDecoder b(c1, never);
  Run(&g, t, 60);
  Run(&b, t, 60);
  CHECK(g.Best().tokens == b.Best(true).tokens);
  CHECK(g.Best().frames == b.Best(true).frames);
  CHECK(!g.Best().tokens.empty());
}

TEST(HotwordBoostChangesTheWinnerAndIsKeptOnceComplete) {
  auto graph = std::make_shared<ContextGraph>(std::vector<ContextPhrase>{{{2}, 1.0f, "b"}});
  TransducerDecoder d(Config(8), graph);
  Run(&d, TwoFrames, 2);
  Hypothesis h = d.Best(/*finalize=*/true);
  CHECK(h.tokens == (std::vector<int32_t>{2}));  // log .24 + 1.0 > log .30
  CHECK_NEAR(h.context_score, 1.0, 1e-6);
  // An unfinished phrase gives its boost back at the end.
  auto long_phrase = std::make_shared<ContextGraph>(std::vector<ContextPhrase>{{{2, 1, 1}, 5.0f, "baa"}});
  TransducerDecoder e(Config(8), long_phrase);
  Run(&e, TwoFrames, 2);
  CHECK(e.Best(true).tokens == (std::vector<int32_t>{1}));
  CHECK_NEAR(e.Best(true).context_score, 0.0, 1e-6);
}

TEST(ResetStartsANewSegmentAndKeepsTheTokenContext) {
  TransducerDecoder d(Config(8));
  Run(&d, TwoFrames, 2);
  d.Reset();
  CHECK_EQ(d.num_frames(), 0);
  CHECK(d.Best().tokens.empty());
  CHECK(!d.decoded_something());
  std::vector<int64_t> ctx;
  CHECK_EQ(d.PendingContexts(&ctx), 1);
  CHECK(ctx == (std::vector<int64_t>{0, 1}));  // "a" was the best labelling
  Run(&d, TwoFrames, 2);
  CHECK(d.Best().frames == (std::vector<int32_t>{0}));  // frames count from the reset
}

TEST(DecodeTransducerChunkBatchesStreamsThroughTransducerNetworks) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  constexpr int32_t kFrames = 40;
  std::vector<std::vector<double>> probs(kFrames * kV);
  for (auto& row : probs) {
    row = {u(rng) * 2.0, u(rng), u(rng)};
    double s = row[0] + row[1] + row[2];
    for (double& p : row) p /= s;
  }
  Table table = [&](int32_t frame, int32_t last) { return probs[frame * kV + std::max(last, 0)]; };
  TransducerDecoder ref_greedy(Config(1)), ref_beam(Config(4));
  Run(&ref_greedy, table, kFrames);
  Run(&ref_beam, table, kFrames);

  TableNetworks net(table);
  TransducerDecoder greedy(Config(1)), beam(Config(4));
  const std::vector<float> enc = EncoderFrames(kFrames);
  for (int32_t start = 0; start < kFrames; start += 7) {  // chunks of 7 frames, the last one shorter
    const int32_t n = std::min(7, kFrames - start);
    const float* chunk = enc.data() + 2 * start;
    echoic::decoding::DecodeTransducerChunk(net, {&greedy, &beam}, {chunk, chunk}, n);
  }
  CHECK_EQ(net.joiner_runs, kFrames);  // one joiner run per frame for both streams
  CHECK(net.decoder_runs <= kFrames + 6);
  for (auto [got, want] : {std::make_pair(&greedy, &ref_greedy), std::make_pair(&beam, &ref_beam)}) {
    CHECK(got->Best().tokens == want->Best().tokens);
    CHECK(got->Best().frames == want->Best().frames);
    CHECK_NEAR(got->Best().log_prob, want->Best().log_prob, 1e-9);
  }
  CHECK(!beam.Best().tokens.empty());

  TransducerSearchConfig wide = Config(1);
  wide.decoder_dim = 3;  // does not match the networks' joiner_dim
  TransducerDecoder mismatched(wide);
  CHECK_THROWS_CODE(echoic::decoding::DecodeTransducerChunk(net, {&mismatched}, {enc.data()}, 1),
                    ErrorCode::kInvalidArgument);
}

TEST(MisuseIsRejected) {
  CHECK_THROWS_CODE(TransducerDecoder(Config(0)), ErrorCode::kInvalidArgument);
  TransducerSearchConfig c = Config(1);
  c.blank_id = 5;
  CHECK_THROWS_CODE(TransducerDecoder{c}, ErrorCode::kInvalidArgument);
  TransducerDecoder d(Config(2));
  std::vector<float> logits(kV, 0.f);
  CHECK_THROWS_CODE(d.Step(logits.data(), 1, kV), ErrorCode::kState);  // decoder output missing
  FeedDecoderOuts(&d);
  CHECK_THROWS_CODE(d.Step(logits.data(), 2, kV), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(d.Step(logits.data(), 1, kV + 1), ErrorCode::kInvalidArgument);
  float rows[4] = {0, 0, 0, 0};
  CHECK_THROWS_CODE(d.SetDecoderOuts(rows, 2), ErrorCode::kInvalidArgument);  // none pending
}

TEST_MAIN()
