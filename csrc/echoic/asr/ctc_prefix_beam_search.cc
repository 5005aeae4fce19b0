#include "echoic/asr/ctc_prefix_beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "echoic/asr/log_prob_input.h"
#include "echoic/runtime/error.h"

namespace echoic::asr {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double LogAdd(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

struct VecHash {
  size_t operator()(const std::vector<int32_t>& v) const noexcept {
    size_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
    return h;
  }
};

// How a next-frame prefix arose from a current one; the strongest contribution
// decides the prefix's token timings.
enum class Origin { kStayBlank, kStayRepeat, kExtend };

struct Candidate {
  std::vector<int32_t> key;
  double pb = kNegInf, pnb = kNegInf;
  double ctx = 0.0;
  int32_t ctx_state = 0;
  // Winning contribution.
  double best = kNegInf;
  size_t src = 0;
  Origin origin = Origin::kStayBlank;
  int32_t token = -1;
  float token_logp = 0.f;
};

}  // namespace

void CtcBeamSearchConfig::Validate() const {
  ECHOIC_CHECK(beam >= 1, ErrorCode::kInvalidArgument, "CtcBeamSearchConfig: beam must be >= 1, got ", beam);
  ECHOIC_CHECK(top_k >= 0, ErrorCode::kInvalidArgument, "CtcBeamSearchConfig: top_k must be >= 0, got ", top_k);
  ECHOIC_CHECK(!std::isnan(log_prob_floor) && log_prob_floor <= 0.f, ErrorCode::kInvalidArgument,
               "CtcBeamSearchConfig: log_prob_floor must be <= 0 (a log-probability), got ", log_prob_floor);
}

double CtcPrefixBeamSearch::Prefix::Total() const { return LogAdd(pb, pnb); }

CtcPrefixBeamSearch::CtcPrefixBeamSearch(int32_t vocab_size, int32_t blank_id, const CtcBeamSearchConfig& config,
                                         std::shared_ptr<const ContextGraph> context)
    : vocab_size_(vocab_size), blank_id_(blank_id), config_(config), context_(std::move(context)) {
  ECHOIC_CHECK(vocab_size > 0, ErrorCode::kInvalidArgument, "CtcPrefixBeamSearch: vocab size must be > 0, got ",
               vocab_size);
  ECHOIC_CHECK(blank_id >= 0 && blank_id < vocab_size, ErrorCode::kInvalidArgument, "CtcPrefixBeamSearch: blank id ",
               blank_id, " is outside the vocabulary of ", vocab_size);
  config_.Validate();
  Reset();
}

void CtcPrefixBeamSearch::SetContextGraph(std::shared_ptr<const ContextGraph> context) {
  ECHOIC_CHECK(num_frames_ == 0, ErrorCode::kState, "CtcPrefixBeamSearch: the hotword graph can only change before ",
               "the first frame (", num_frames_, " frames decoded; call Reset() first)");
  context_ = std::move(context);
  Reset();
}

void CtcPrefixBeamSearch::Reset() {
  num_frames_ = 0;
  beam_.clear();
  Prefix empty;
  empty.pb = 0.0;
  empty.pnb = kNegInf;
  empty.ctx_state = context_ ? context_->Root() : 0;
  beam_.push_back(std::move(empty));
}

void CtcPrefixBeamSearch::Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size) {
  CheckLogProbs("CtcPrefixBeamSearch", log_probs, num_frames, vocab_size, vocab_size_, num_frames_);
  for (int32_t t = 0; t < num_frames; ++t) {
    Step(log_probs + static_cast<int64_t>(t) * vocab_size, static_cast<int32_t>(num_frames_));
    ++num_frames_;
  }
}

void CtcPrefixBeamSearch::Step(const float* row, int32_t frame) {
  // Candidate tokens: the top_k best above the floor; the argmax always.
  const int32_t k = std::min(vocab_size_, config_.top_k > 0 ? config_.top_k : config_.beam);
  scratch_.clear();
  for (int32_t v = 0; v < vocab_size_; ++v) scratch_.emplace_back(row[v], v);
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::partial_sort(scratch_.begin(), scratch_.begin() + k, scratch_.end(), better);
  scratch_.resize(k);
  while (scratch_.size() > 1 && scratch_.back().first < config_.log_prob_floor) scratch_.pop_back();

  std::vector<Candidate> cands;
  std::unordered_map<std::vector<int32_t>, size_t, VecHash> index;
  cands.reserve(beam_.size() * (scratch_.size() + 1));
  auto slot = [&](std::vector<int32_t>&& key, bool* fresh) -> Candidate& {
    auto [it, inserted] = index.emplace(std::move(key), cands.size());
    *fresh = inserted;
    if (inserted) {
      cands.emplace_back();
      cands.back().key = it->first;
    }
    return cands[it->second];
  };
  auto note = [](Candidate& c, double contrib, size_t src, Origin origin, int32_t token, float lp) {
    if (contrib > c.best) {
      c.best = contrib;
      c.src = src;
      c.origin = origin;
      c.token = token;
      c.token_logp = lp;
    }
  };

  for (size_t i = 0; i < beam_.size(); ++i) {
    const Prefix& p = beam_[i];
    const double total = p.Total();
    const int32_t last = p.tokens.empty() ? -1 : p.tokens.back();
    for (auto [lpf, c] : scratch_) {
      const double lp = lpf;
      bool fresh = false;
      if (c == blank_id_) {
        Candidate& n = slot(std::vector<int32_t>(p.tokens), &fresh);
        if (fresh) { n.ctx = p.ctx; n.ctx_state = p.ctx_state; }
        n.pb = LogAdd(n.pb, total + lp);
        note(n, total + lp, i, Origin::kStayBlank, c, lpf);
        continue;
      }
      if (c == last) {
        // Repeat without a blank in between collapses into the same prefix.
        Candidate& n = slot(std::vector<int32_t>(p.tokens), &fresh);
        if (fresh) { n.ctx = p.ctx; n.ctx_state = p.ctx_state; }
        n.pnb = LogAdd(n.pnb, p.pnb + lp);
        note(n, p.pnb + lp, i, Origin::kStayRepeat, c, lpf);
      }
      const double from = (c == last) ? p.pb : total;  // a real repeat needs a blank between
      if (from == kNegInf) continue;
      std::vector<int32_t> key;
      key.reserve(p.tokens.size() + 1);
      key = p.tokens;
      key.push_back(c);
      Candidate& q = slot(std::move(key), &fresh);
      if (fresh) {
        if (context_) {
          ContextGraph::Step s = context_->Forward(p.ctx_state, c);
          q.ctx = p.ctx + s.score;
          q.ctx_state = s.state;
        } else {
          q.ctx = p.ctx;
        }
      }
      q.pnb = LogAdd(q.pnb, from + lp);
      note(q, from + lp, i, Origin::kExtend, c, lpf);
    }
  }

  // Keep the best `beam` by log P + context score; ties by token sequence so
  // the order never depends on hash-table layout.
  std::vector<size_t> order(cands.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto score = [&](size_t i) { return LogAdd(cands[i].pb, cands[i].pnb) + cands[i].ctx; };
  auto ranked = [&](size_t a, size_t b) {
    double sa = score(a), sb = score(b);
    if (sa != sb) return sa > sb;
    return cands[a].key < cands[b].key;
  };
  const size_t keep = std::min(order.size(), static_cast<size_t>(config_.beam));
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), ranked);

  std::vector<Prefix> next;
  next.reserve(keep);
  for (size_t r = 0; r < keep; ++r) {
    Candidate& c = cands[order[r]];
    const Prefix& src = beam_[c.src];
    Prefix p;
    p.tokens = std::move(c.key);
    p.frames = src.frames;
    p.end_frames = src.end_frames;
    p.run_len = src.run_len;
    p.prob_sum = src.prob_sum;
    const double prob = std::exp(static_cast<double>(c.token_logp));
    if (c.origin == Origin::kExtend) {
      p.frames.push_back(frame);
      p.end_frames.push_back(frame);
      p.run_len.push_back(1);
      p.prob_sum.push_back(prob);
    } else if (c.origin == Origin::kStayRepeat) {
      p.end_frames.back() = frame;
      p.run_len.back() += 1;
      p.prob_sum.back() += prob;
    }
    p.pb = c.pb;
    p.pnb = c.pnb;
    p.ctx = c.ctx;
    p.ctx_state = c.ctx_state;
    next.push_back(std::move(p));
  }
  beam_ = std::move(next);
}

std::vector<size_t> CtcPrefixBeamSearch::Ranked(bool finalize) const {
  std::vector<double> s(beam_.size());
  for (size_t i = 0; i < beam_.size(); ++i) {
    s[i] = beam_[i].Total() + beam_[i].ctx;
    if (finalize && context_) s[i] += context_->Finalize(beam_[i].ctx_state);
  }
  std::vector<size_t> order(beam_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (s[a] != s[b]) return s[a] > s[b];
    return beam_[a].tokens < beam_[b].tokens;
  });
  return order;
}

Hypothesis CtcPrefixBeamSearch::ToHypothesis(const Prefix& p, bool finalize) const {
  Hypothesis h;
  h.tokens = p.tokens;
  h.frames = p.frames;
  h.end_frames = p.end_frames;
  h.confidences.reserve(p.tokens.size());
  for (size_t i = 0; i < p.tokens.size(); ++i)
    h.confidences.push_back(static_cast<float>(p.prob_sum[i] / p.run_len[i]));
  h.log_prob = p.Total();
  h.context_score = p.ctx + ((finalize && context_) ? context_->Finalize(p.ctx_state) : 0.0);
  return h;
}

Hypothesis CtcPrefixBeamSearch::Best(bool finalize) const { return ToHypothesis(beam_[Ranked(finalize)[0]], finalize); }

std::vector<Hypothesis> CtcPrefixBeamSearch::NBest(bool finalize) const {
  std::vector<Hypothesis> out;
  for (size_t i : Ranked(finalize)) out.push_back(ToHypothesis(beam_[i], finalize));
  return out;
}

int64_t CtcPrefixBeamSearch::trailing_blank_frames() const {
  const Prefix& p = beam_[Ranked(false)[0]];
  return p.end_frames.empty() ? num_frames_ : num_frames_ - (p.end_frames.back() + 1);
}

bool CtcPrefixBeamSearch::decoded_something() const { return !beam_[Ranked(false)[0]].tokens.empty(); }

}  // namespace echoic::asr
