#include "echoic/decoding/segment_decoder.h"

#include <algorithm>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/ctc_greedy_decoder.h"
#include "echoic/decoding/ctc_prefix_beam_search.h"
#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

class GreedySegmentDecoder final : public SegmentDecoder {
 public:
  GreedySegmentDecoder(int32_t vocab, int32_t blank) : d_(vocab, blank) {}
  void Accept(const float* lp, int32_t n, int32_t v) override { d_.Accept(lp, n, v); }
  Hypothesis Best(bool) const override { return d_.Best(); }
  int64_t TrailingBlankFrames() const override { return d_.trailing_blank_frames(); }
  bool DecodedSomething() const override { return d_.decoded_something(); }
  void Reset() override { d_.Reset(); }

 private:
  CtcGreedyDecoder d_;
};

class BeamSegmentDecoder final : public SegmentDecoder {
 public:
  BeamSegmentDecoder(int32_t vocab, int32_t blank, const CtcBeamSearchConfig& cfg,
                     std::shared_ptr<const ContextGraph> graph, std::shared_ptr<const WordLm> lm)
      : d_(vocab, blank, cfg, std::move(graph), std::move(lm)) {}
  void Accept(const float* lp, int32_t n, int32_t v) override { d_.Accept(lp, n, v); }
  Hypothesis Best(bool finalize) const override { return d_.Best(finalize); }
  std::vector<Hypothesis> NBest(bool finalize, int32_t n) const override {
    return d_.NBest(finalize, static_cast<size_t>(std::max(n, 0)));
  }
  int64_t TrailingBlankFrames() const override { return d_.trailing_blank_frames(); }
  bool DecodedSomething() const override { return d_.decoded_something(); }
  void Reset() override { d_.Reset(); }

 private:
  CtcPrefixBeamSearch d_;
};

class HotwordGatedDecoder final : public SegmentDecoder {
 public:
  HotwordGatedDecoder(std::unique_ptr<SegmentDecoder> plain, std::unique_ptr<SegmentDecoder> biased)
      : plain_(std::move(plain)), biased_(std::move(biased)) {
    ECHOIC_CHECK(plain_ && biased_, ErrorCode::kInvalidArgument, "hotword decoder: a member decoder is null");
  }
  void Accept(const float* lp, int32_t n, int32_t v) override {
    plain_->Accept(lp, n, v);
    biased_->Accept(lp, n, v);
  }
  Hypothesis Best(bool finalize) const override {
    Hypothesis b = biased_->Best(finalize);
    return Matched(b) ? b : plain_->Best(finalize);
  }
  // The n best of whichever search gives the best result.
  std::vector<Hypothesis> NBest(bool finalize, int32_t n) const override {
    return Matched(biased_->Best(finalize)) ? biased_->NBest(finalize, n) : plain_->NBest(finalize, n);
  }
  int64_t TrailingBlankFrames() const override { return plain_->TrailingBlankFrames(); }
  bool DecodedSomething() const override { return plain_->DecodedSomething(); }
  void Reset() override {
    plain_->Reset();
    biased_->Reset();
  }
  std::vector<SegmentDecoder*> Parts() override {
    std::vector<SegmentDecoder*> out = plain_->Parts();
    for (SegmentDecoder* d : biased_->Parts()) out.push_back(d);
    return out;
  }

 private:
  // Boosts are > 0 per token; a residue below this is float rounding of a taken-back match.
  static bool Matched(const Hypothesis& h) { return h.context_kept > 1e-3; }
  std::unique_ptr<SegmentDecoder> plain_, biased_;
};

}  // namespace

std::unique_ptr<SegmentDecoder> MakeHotwordGatedDecoder(std::unique_ptr<SegmentDecoder> plain,
                                                        std::unique_ptr<SegmentDecoder> biased) {
  return std::make_unique<HotwordGatedDecoder>(std::move(plain), std::move(biased));
}

std::unique_ptr<SegmentDecoder> MakeGreedyDecoder(int32_t vocab_size, int32_t blank_id) {
  return std::make_unique<GreedySegmentDecoder>(vocab_size, blank_id);
}

std::shared_ptr<const ContextGraph> MakeHotwordGraph(const SymbolTable& symbols, const std::vector<Hotword>& hotwords,
                                                     float default_score) {
  if (hotwords.empty()) return nullptr;
  std::vector<ContextPhrase> phrases;
  for (const Hotword& h : hotwords) {
    ECHOIC_CHECK(!h.phrase.empty(), ErrorCode::kInvalidArgument, "hotword: empty phrase");
    ContextPhrase p;
    try {
      p.tokens = EncodeWithTokens(h.phrase, symbols);
    } catch (const Error& e) {
      Fail(ErrorCode::kInvalidArgument, "hotword '", h.phrase,
           "' cannot be spelled with this model's tokens: ", e.what());
    }
    p.boost = h.score;
    p.label = h.phrase;
    phrases.push_back(std::move(p));
  }
  return std::make_shared<ContextGraph>(phrases, default_score, symbols.size());
}

std::unique_ptr<SegmentDecoder> MakeBeamDecoder(const SymbolTable& symbols, int32_t blank_id, int32_t beam,
                                                const std::vector<Hotword>& hotwords, float default_score,
                                                std::shared_ptr<const WordLm> lm) {
  CtcBeamSearchConfig cfg;
  cfg.beam = beam;
  std::shared_ptr<const ContextGraph> graph = MakeHotwordGraph(symbols, hotwords, default_score);
  return std::make_unique<BeamSegmentDecoder>(symbols.size(), blank_id, cfg, std::move(graph), std::move(lm));
}

std::unique_ptr<SegmentDecoder> MakeCtcDecoder(const SymbolTable& symbols, int32_t blank_id, const std::string& method,
                                               int32_t beam, const std::vector<Hotword>& hotwords, float default_score,
                                               std::shared_ptr<const WordLm> lm) {
  ECHOIC_CHECK(method == "greedy" || method == "beam", ErrorCode::kInvalidArgument,
               "CTC decoding method must be 'greedy' or 'beam', got '", method, "'");
  std::unique_ptr<SegmentDecoder> decoder = method == "beam"
                                                ? MakeBeamDecoder(symbols, blank_id, beam, {}, default_score, lm)
                                                : MakeGreedyDecoder(symbols.size(), blank_id);
  if (hotwords.empty()) return decoder;
  // A greedy path cannot be re-ranked, so hotwords always take a beam search; it
  // wins only where it completes a hotword, so other text is unchanged.
  return MakeHotwordGatedDecoder(std::move(decoder),
                                 MakeBeamDecoder(symbols, blank_id, beam, hotwords, default_score, lm));
}

}  // namespace echoic::decoding
