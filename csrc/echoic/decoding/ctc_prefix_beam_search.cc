#include "echoic/decoding/ctc_prefix_beam_search.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <unordered_map>

#include "echoic/decoding/log_prob_input.h"
#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double LogAdd(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

uint64_t MixHash(uint64_t h, int32_t token) {
  // splitmix64 finaliser over the previous hash and the token.
  uint64_t z = h ^ (static_cast<uint64_t>(static_cast<uint32_t>(token)) + 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
constexpr uint64_t kEmptyHash = 0x6A09E667F3BCC908ull;

// How a next-frame prefix arose from a current one; the strongest contribution
// decides the prefix's token timings.
enum class Origin { kStayBlank, kStayRepeat, kExtend };

// A next-frame prefix, kept as (source prefix, optional appended token) so
// that no token vector is copied until it survives pruning.
struct Candidate {
  size_t base = 0;        // beam index whose tokens this extends (or equals)
  int32_t appended = -1;  // token appended to `base`'s tokens, -1 for none
  uint64_t hash = 0;
  size_t next_same = SIZE_MAX;  // chain of candidates sharing a hash bucket
  double pb = kNegInf, pnb = kNegInf;
  double ctx = 0.0;
  int32_t ctx_state = 0;
  double lm = 0.0;
  WordLm::State lm_state;
  // Winning contribution.
  double best = kNegInf;
  size_t src = 0;
  Origin origin = Origin::kStayBlank;
  int32_t token = -1;  // the token the winning contribution consumed
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
                                         std::shared_ptr<const ContextGraph> context, std::shared_ptr<const WordLm> lm)
    : vocab_size_(vocab_size), blank_id_(blank_id), config_(config), context_(std::move(context)), lm_(std::move(lm)) {
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
  if (lm_) empty.lm_state = lm_->Start();
  empty.hash = kEmptyHash;
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
  // Candidate tokens: the top_k best above the floor; the argmax always. A word
  // LM forbids many tokens, so it gets more candidates, and blank always: a
  // prefix must be able to wait for a token its lexicon allows.
  const int32_t default_k = lm_ ? std::max(2 * config_.beam, 16) : config_.beam;
  const int32_t k = std::min(vocab_size_, config_.top_k > 0 ? config_.top_k : default_k);
  scratch_.clear();
  for (int32_t v = 0; v < vocab_size_; ++v) scratch_.emplace_back(row[v], v);
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::partial_sort(scratch_.begin(), scratch_.begin() + k, scratch_.end(), better);
  scratch_.resize(k);
  while (scratch_.size() > 1 && scratch_.back().first < config_.log_prob_floor) scratch_.pop_back();
  if (lm_ && std::none_of(scratch_.begin(), scratch_.end(), [&](const auto& c) { return c.second == blank_id_; }))
    scratch_.emplace_back(row[blank_id_], blank_id_);

  std::vector<Candidate> cands;
  std::unordered_map<uint64_t, size_t> heads;
  cands.reserve(beam_.size() * (scratch_.size() + 1));
  heads.reserve(cands.capacity() * 2);
  auto length = [&](const Candidate& c) { return beam_[c.base].tokens.size() + (c.appended >= 0 ? 1 : 0); };
  auto at = [&](const Candidate& c, size_t i) {
    const auto& t = beam_[c.base].tokens;
    return i < t.size() ? t[i] : c.appended;
  };
  auto same_sequence = [&](const Candidate& a, size_t base, int32_t appended) {
    Candidate b;
    b.base = base;
    b.appended = appended;
    const size_t n = length(a);
    if (n != length(b)) return false;
    for (size_t i = 0; i < n; ++i)
      if (at(a, i) != at(b, i)) return false;
    return true;
  };
  // The candidate for beam_[base].tokens (+ appended), created on first use.
  auto slot = [&](size_t base, int32_t appended, bool* fresh) -> Candidate& {
    const uint64_t h = appended >= 0 ? MixHash(beam_[base].hash, appended) : beam_[base].hash;
    auto [it, inserted] = heads.emplace(h, cands.size());
    if (!inserted) {
      for (size_t i = it->second; i != SIZE_MAX; i = cands[i].next_same) {
        if (same_sequence(cands[i], base, appended)) {
          *fresh = false;
          return cands[i];
        }
      }
      // A true 64-bit collision: chain the new candidate behind the bucket head.
      cands.emplace_back();
      cands.back().next_same = cands[it->second].next_same;
      cands[it->second].next_same = cands.size() - 1;
    } else {
      cands.emplace_back();
    }
    Candidate& c = cands.back();
    c.base = base;
    c.appended = appended;
    c.hash = h;
    *fresh = true;
    return c;
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
        Candidate& n = slot(i, -1, &fresh);
        if (fresh) {
          n.ctx = p.ctx;
          n.ctx_state = p.ctx_state;
          n.lm = p.lm;
          n.lm_state = p.lm_state;
        }
        n.pb = LogAdd(n.pb, total + lp);
        note(n, total + lp, i, Origin::kStayBlank, c, lpf);
        continue;
      }
      if (c == last) {
        // Repeat without a blank in between collapses into the same prefix.
        Candidate& n = slot(i, -1, &fresh);
        if (fresh) {
          n.ctx = p.ctx;
          n.ctx_state = p.ctx_state;
          n.lm = p.lm;
          n.lm_state = p.lm_state;
        }
        n.pnb = LogAdd(n.pnb, p.pnb + lp);
        note(n, p.pnb + lp, i, Origin::kStayRepeat, c, lpf);
      }
      const double from = (c == last) ? p.pb : total;  // a real repeat needs a blank between
      if (from == kNegInf) continue;
      ContextGraph::Step hot;
      if (context_) hot = context_->Forward(p.ctx_state, c);
      WordLm::Step word{true, 0.0, p.lm_state};
      if (lm_) {
        // Inside a hotword match the lexicon may be left: hotwords are often names it lacks.
        const bool in_hotword = context_ && (hot.state != context_->Root() || hot.phrase >= 0);
        word = in_hotword ? lm_->ForwardOutOfLexicon(p.lm_state, c) : lm_->Forward(p.lm_state, c);
        if (!word.allowed) continue;  // spells no lexicon word
      }
      Candidate& q = slot(i, c, &fresh);
      if (fresh) {
        q.ctx = p.ctx + (context_ ? hot.score : 0.f);
        q.ctx_state = context_ ? hot.state : p.ctx_state;
        q.lm = p.lm + word.score;
        q.lm_state = word.state;
      }
      q.pnb = LogAdd(q.pnb, from + lp);
      note(q, from + lp, i, Origin::kExtend, c, lpf);
    }
  }

  // Keep the best `beam` by log P + context score; ties by token sequence so
  // the order never depends on hash-table layout.
  std::vector<size_t> order(cands.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<double> score(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) score[i] = LogAdd(cands[i].pb, cands[i].pnb) + cands[i].ctx + cands[i].lm;
  auto ranked = [&](size_t a, size_t b) {
    if (score[a] != score[b]) return score[a] > score[b];
    const Candidate &ca = cands[a], &cb = cands[b];
    const size_t na = length(ca), nb = length(cb);
    for (size_t i = 0; i < na && i < nb; ++i)
      if (at(ca, i) != at(cb, i)) return at(ca, i) < at(cb, i);
    return na < nb;
  };
  const size_t keep = std::min(order.size(), static_cast<size_t>(config_.beam));
  ECHOIC_CHECK(keep > 0, ErrorCode::kInternal, "CtcPrefixBeamSearch: no live prefix left at frame ", frame);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), ranked);

  std::vector<Prefix> next;
  next.reserve(keep);
  for (size_t r = 0; r < keep; ++r) {
    const Candidate& c = cands[order[r]];
    const Prefix& src = beam_[c.src];
    Prefix p;
    p.tokens = src.tokens;
    p.info = src.info;
    const double prob = std::exp(static_cast<double>(c.token_logp));
    if (c.origin == Origin::kExtend) {
      p.tokens.push_back(c.token);  // `appended` may be unset: the slot may have come from a stay
      p.info.push_back({frame, frame, 1, prob});
    } else if (c.origin == Origin::kStayRepeat) {
      p.info.back().end_frame = frame;
      p.info.back().run_len += 1;
      p.info.back().prob_sum += prob;
    }
    p.pb = c.pb;
    p.pnb = c.pnb;
    p.ctx = c.ctx;
    p.ctx_state = c.ctx_state;
    p.lm = c.lm;
    p.lm_state = c.lm_state;
    p.hash = c.hash;
    next.push_back(std::move(p));
  }
  beam_ = std::move(next);
}

double CtcPrefixBeamSearch::Bias(const Prefix& p, bool finalize) const {
  double b = p.ctx + p.lm;
  if (finalize && context_) b += context_->Finalize(p.ctx_state);
  if (finalize && lm_) b += lm_->Finalize(p.lm_state);
  return b;
}

std::vector<size_t> CtcPrefixBeamSearch::Ranked(bool finalize) const {
  std::vector<double> s(beam_.size());
  for (size_t i = 0; i < beam_.size(); ++i) s[i] = beam_[i].Total() + Bias(beam_[i], finalize);
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
  for (const TokenInfo& ti : p.info) {
    h.frames.push_back(ti.frame);
    h.end_frames.push_back(ti.end_frame);
    h.confidences.push_back(static_cast<float>(ti.prob_sum / ti.run_len));
  }
  h.log_prob = p.Total();
  h.rank_score = p.Total() + Bias(p, finalize);
  h.context_score = p.ctx + ((finalize && context_) ? context_->Finalize(p.ctx_state) : 0.0);
  h.context_kept = context_ ? p.ctx + context_->Finalize(p.ctx_state) : 0.0;
  return h;
}

Hypothesis CtcPrefixBeamSearch::Best(bool finalize) const { return ToHypothesis(beam_[Ranked(finalize)[0]], finalize); }

std::vector<Hypothesis> CtcPrefixBeamSearch::NBest(bool finalize, size_t max_count) const {
  std::vector<Hypothesis> out;
  for (size_t i : Ranked(finalize)) {
    if (out.size() == max_count) break;
    out.push_back(ToHypothesis(beam_[i], finalize));
  }
  return out;
}

int64_t CtcPrefixBeamSearch::trailing_blank_frames() const {
  const Prefix& p = beam_[Ranked(false)[0]];
  return p.info.empty() ? num_frames_ : num_frames_ - (p.info.back().end_frame + 1);
}

bool CtcPrefixBeamSearch::decoded_something() const { return !beam_[Ranked(false)[0]].tokens.empty(); }

}  // namespace echoic::decoding
