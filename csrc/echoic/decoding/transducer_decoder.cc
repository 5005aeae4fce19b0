#include "echoic/decoding/transducer_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

double LogAdd(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b == -std::numeric_limits<double>::infinity()) return a;
  return a + std::log1p(std::exp(b - a));
}

// log-sum-exp of a row, computed once per row for the softmax.
double LogSumExp(const float* row, int32_t n) {
  float mx = *std::max_element(row, row + n);
  double s = 0.0;
  for (int32_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(row[i]) - mx);
  return mx + std::log(s);
}

}  // namespace

void TransducerSearchConfig::Validate() const {
  ECHOIC_CHECK(vocab_size > 0, ErrorCode::kInvalidArgument, "transducer search: vocab_size must be > 0, got ",
               vocab_size);
  ECHOIC_CHECK(blank_id >= 0 && blank_id < vocab_size, ErrorCode::kInvalidArgument, "transducer search: blank_id ",
               blank_id, " outside the vocabulary of ", vocab_size);
  ECHOIC_CHECK(context_size >= 1, ErrorCode::kInvalidArgument, "transducer search: context_size must be >= 1");
  ECHOIC_CHECK(decoder_dim >= 1, ErrorCode::kInvalidArgument, "transducer search: decoder_dim must be >= 1");
  ECHOIC_CHECK(beam >= 1 && beam <= 64, ErrorCode::kInvalidArgument, "transducer search: beam must be in 1..64, got ",
               beam);
}

TransducerDecoder::TransducerDecoder(const TransducerSearchConfig& config, std::shared_ptr<const ContextGraph> context)
    : config_(config), context_(std::move(context)) {
  config_.Validate();
  greedy_ = config_.beam == 1 && !context_;
  // As sherpa-onnx: the first context is "no token" (-1) ending in one blank;
  // icefall-style prediction networks embed -1 as zeros.
  std::vector<int64_t> ctx(config_.context_size, -1);
  ctx.back() = config_.blank_id;
  Init(std::move(ctx));
}

void TransducerDecoder::Init(std::vector<int64_t> context) {
  hyps_.clear();
  Hyp h;
  h.ys = std::move(context);
  h.ctx_state = context_ ? context_->Root() : 0;
  hyps_.push_back(std::move(h));
  num_frames_ = 0;
}

void TransducerDecoder::Reset() {
  const Hyp& best = BestHyp(/*finalize=*/true);
  std::vector<int64_t> ctx(best.ys.end() - config_.context_size, best.ys.end());
  Init(std::move(ctx));
}

int32_t TransducerDecoder::PendingContexts(std::vector<int64_t>* contexts) const {
  int32_t n = 0;
  for (const Hyp& h : hyps_) {
    if (!h.decoder_out.empty()) continue;
    contexts->insert(contexts->end(), h.ys.end() - config_.context_size, h.ys.end());
    ++n;
  }
  return n;
}

void TransducerDecoder::SetDecoderOuts(const float* rows, int32_t n) {
  int32_t used = 0;
  for (Hyp& h : hyps_) {
    if (!h.decoder_out.empty()) continue;
    ECHOIC_CHECK(used < n, ErrorCode::kInvalidArgument, "transducer search: ", n,
                 " decoder outputs given, more are pending");
    h.decoder_out.assign(rows + static_cast<size_t>(used) * config_.decoder_dim,
                         rows + static_cast<size_t>(used + 1) * config_.decoder_dim);
    ++used;
  }
  ECHOIC_CHECK(used == n, ErrorCode::kInvalidArgument, "transducer search: ", n, " decoder outputs given, ", used,
               " were pending");
}

const float* TransducerDecoder::DecoderOut(int32_t row) const {
  ECHOIC_CHECK(row >= 0 && row < NumRows() && !hyps_[row].decoder_out.empty(), ErrorCode::kState,
               "transducer search: no decoder output for row ", row);
  return hyps_[row].decoder_out.data();
}

void TransducerDecoder::Step(const float* logits, int32_t rows, int32_t vocab_size) {
  ECHOIC_CHECK(rows == NumRows() && vocab_size == config_.vocab_size, ErrorCode::kInvalidArgument,
               "transducer search: step got ", rows, " x ", vocab_size, " logits, expected ", NumRows(), " x ",
               config_.vocab_size);
  for (const Hyp& h : hyps_)
    ECHOIC_CHECK(!h.decoder_out.empty(), ErrorCode::kState, "transducer search: step before the decoder outputs");
  if (greedy_)
    StepGreedy(logits);
  else
    StepBeam(logits);
  ++num_frames_;
}

void TransducerDecoder::StepGreedy(const float* row) {
  const int32_t V = config_.vocab_size;
  Hyp& h = hyps_[0];
  // Argmax of the raw logits, first maximum on ties (as sherpa-onnx).
  const int32_t y = static_cast<int32_t>(std::max_element(row, row + V) - row);
  const double logp = row[y] - LogSumExp(row, V);
  h.log_prob += logp;
  if (y != config_.blank_id) {
    h.ys.push_back(y);
    h.frames.push_back(static_cast<int32_t>(num_frames_));
    h.confidences.push_back(static_cast<float>(std::exp(logp)));
    h.decoder_out.clear();  // the prediction network must see the new token
  }
}

void TransducerDecoder::StepBeam(const float* logits) {
  const int32_t V = config_.vocab_size;
  struct Cand {
    double score;
    int32_t hyp, token;
    float logp;
  };
  std::vector<Cand> cands;
  cands.reserve(hyps_.size() * V);
  for (size_t i = 0; i < hyps_.size(); ++i) {
    const float* row = logits + i * V;
    const double lse = LogSumExp(row, V);
    const Hyp& h = hyps_[i];
    for (int32_t k = 0; k < V; ++k) {
      float lp = static_cast<float>(row[k] - lse);
      double s = h.Score() + lp;
      if (k != config_.blank_id && context_) s += context_->Forward(h.ctx_state, k).score;
      cands.push_back({s, static_cast<int32_t>(i), k, lp});
    }
  }
  const size_t keep = std::min(cands.size(), static_cast<size_t>(config_.beam));
  // Deterministic order: score, then hypothesis, then token.
  std::partial_sort(cands.begin(), cands.begin() + keep, cands.end(), [](const Cand& a, const Cand& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.hyp != b.hyp) return a.hyp < b.hyp;
    return a.token < b.token;
  });
  std::vector<Hyp> next;
  next.reserve(keep);
  for (size_t c = 0; c < keep; ++c) {
    const Cand& cd = cands[c];
    Hyp h = hyps_[cd.hyp];
    h.log_prob += cd.logp;
    if (cd.token != config_.blank_id) {
      h.ys.push_back(cd.token);
      h.frames.push_back(static_cast<int32_t>(num_frames_));
      h.confidences.push_back(std::exp(cd.logp));
      h.decoder_out.clear();
      if (context_) {
        ContextGraph::Step st = context_->Forward(h.ctx_state, cd.token);
        h.ctx += st.score;
        h.ctx_state = st.state;
      }
    }
    // Merge paths that spell the same tokens: P(labels) sums over alignments.
    auto same = std::find_if(next.begin(), next.end(), [&](const Hyp& o) { return o.ys == h.ys; });
    if (same == next.end()) {
      next.push_back(std::move(h));
    } else {
      same->log_prob = LogAdd(same->log_prob, h.log_prob);  // keeps the better path's timing
      if (same->decoder_out.empty()) same->decoder_out = std::move(h.decoder_out);
    }
  }
  hyps_ = std::move(next);
}

double TransducerDecoder::RankScore(const Hyp& h, bool finalize) const {
  return h.Score() + (finalize && context_ ? context_->Finalize(h.ctx_state) : 0.0);
}

const TransducerDecoder::Hyp& TransducerDecoder::BestHyp(bool finalize) const {
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < hyps_.size(); ++i) {
    const double s = RankScore(hyps_[i], finalize);
    if (s > best_score) {
      best_score = s;
      best = i;
    }
  }
  return hyps_[best];
}

Hypothesis TransducerDecoder::ToHypothesis(const Hyp& h, bool finalize) const {
  Hypothesis out;
  out.tokens.assign(h.ys.begin() + config_.context_size, h.ys.end());
  out.frames = h.frames;
  out.confidences = h.confidences;
  out.log_prob = h.log_prob;
  out.rank_score = RankScore(h, finalize);
  out.context_score = h.ctx + (finalize && context_ ? context_->Finalize(h.ctx_state) : 0.0);
  out.context_kept = context_ ? h.ctx + context_->Finalize(h.ctx_state) : 0.0;
  return out;
}

Hypothesis TransducerDecoder::Best(bool finalize) const { return ToHypothesis(BestHyp(finalize), finalize); }

std::vector<Hypothesis> TransducerDecoder::NBest(bool finalize, size_t max_count) const {
  std::vector<size_t> order(hyps_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return RankScore(hyps_[a], finalize) > RankScore(hyps_[b], finalize); });
  std::vector<Hypothesis> out;
  for (size_t i = 0; i < order.size() && i < max_count; ++i) out.push_back(ToHypothesis(hyps_[order[i]], finalize));
  return out;
}

int64_t TransducerDecoder::trailing_blank_frames() const {
  const Hyp& h = BestHyp(false);
  return h.frames.empty() ? num_frames_ : num_frames_ - (h.frames.back() + 1);
}

bool TransducerDecoder::decoded_something() const { return !BestHyp(false).frames.empty(); }

void DecodeTransducerChunk(const TransducerNetworks& networks, const std::vector<TransducerDecoder*>& decoders,
                           const std::vector<const float*>& encoder_out, int32_t num_frames) {
  ECHOIC_CHECK(decoders.size() == encoder_out.size(), ErrorCode::kInvalidArgument, "transducer: ", decoders.size(),
               " decoders for ", encoder_out.size(), " encoder outputs");
  if (decoders.empty()) return;
  const TransducerNetworkDims dims = networks.dims();
  const int32_t J = dims.joiner_dim, V = dims.vocab_size;
  for (const TransducerDecoder* d : decoders) {
    const TransducerSearchConfig& c = d->config();
    ECHOIC_CHECK(c.vocab_size == V && c.context_size == dims.context_size && c.decoder_dim == J,
                 ErrorCode::kInvalidArgument, "transducer: a search for vocab ", c.vocab_size, ", context ",
                 c.context_size, ", decoder_dim ", c.decoder_dim, " on networks of vocab ", V, ", context ",
                 dims.context_size, ", joiner_dim ", J);
  }
  std::vector<int32_t> counts(decoders.size());
  std::vector<int64_t> contexts;
  auto resolve = [&]() {
    contexts.clear();
    int32_t pending = 0;
    for (size_t i = 0; i < decoders.size(); ++i) {
      counts[i] = decoders[i]->PendingContexts(&contexts);
      pending += counts[i];
    }
    if (pending == 0) return;
    std::vector<float> out = networks.RunDecoder(contexts.data(), pending);
    size_t row = 0;
    for (size_t i = 0; i < decoders.size(); ++i) {
      decoders[i]->SetDecoderOuts(out.data() + row * J, counts[i]);
      row += counts[i];
    }
  };
  resolve();
  std::vector<float> enc, dec;
  for (int32_t t = 0; t < num_frames; ++t) {
    enc.clear();
    dec.clear();
    for (size_t i = 0; i < decoders.size(); ++i) {
      const float* frame = encoder_out[i] + static_cast<size_t>(t) * J;
      for (int32_t r = 0; r < decoders[i]->NumRows(); ++r) {
        enc.insert(enc.end(), frame, frame + J);
        const float* d = decoders[i]->DecoderOut(r);
        dec.insert(dec.end(), d, d + J);
      }
    }
    std::vector<float> logits = networks.RunJoiner(enc.data(), dec.data(), static_cast<int32_t>(enc.size() / J));
    size_t row = 0;
    for (TransducerDecoder* d : decoders) {
      const int32_t rows = d->NumRows();
      d->Step(logits.data() + row * V, rows, V);
      row += rows;
    }
    resolve();
  }
}

}  // namespace echoic::decoding
