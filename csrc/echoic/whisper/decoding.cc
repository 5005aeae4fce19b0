#include "echoic/whisper/decoding.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <unordered_map>

#include "echoic/runtime/error.h"

namespace echoic::whisper {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Tokens the no-timestamps grammar never samples: every special after eot
// (sot, languages, tasks, no_speech, timestamps) and the model's suppress list.
std::vector<char> SuppressMask(const WhisperModelInfo& info) {
  std::vector<char> mask(static_cast<size_t>(info.n_vocab), 0);
  for (int32_t id = info.eot + 1; id < info.n_vocab; ++id) mask[id] = 1;
  for (int32_t id : info.suppress_tokens)
    if (id >= 0 && id < info.n_vocab) mask[id] = 1;
  return mask;
}

// In place: logits -> log-softmax, with suppressed entries at -inf.
void LogSoftmax(float* x, int32_t n) {
  float mx = kNegInf;
  for (int32_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0.0;
  for (int32_t i = 0; i < n; ++i) sum += x[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(x[i] - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  for (int32_t i = 0; i < n; ++i) x[i] = x[i] == kNegInf ? kNegInf : x[i] - lse;
}

struct Prepared {
  std::vector<int32_t> head;  // sot_prev + prompt + sot_sequence up to and including sot
  std::vector<int32_t> tail;  // rest of sot_sequence, no_timestamps, prefix
};

Prepared Prepare(const WhisperModelInfo& info, const std::vector<int32_t>& prompt, const std::vector<int32_t>& prefix,
                 bool timestamps) {
  Prepared p;
  if (!prompt.empty()) {
    p.head.push_back(info.sot_prev);
    const size_t keep = std::min(prompt.size(), static_cast<size_t>(info.n_text_ctx / 2 - 1));
    p.head.insert(p.head.end(), prompt.end() - static_cast<std::ptrdiff_t>(keep), prompt.end());
  }
  auto sot = std::find(info.sot_sequence.begin(), info.sot_sequence.end(), info.sot);
  ECHOIC_CHECK(sot != info.sot_sequence.end(), ErrorCode::kModel, "whisper: sot_sequence lacks the sot token");
  p.head.insert(p.head.end(), info.sot_sequence.begin(), sot + 1);
  p.tail.assign(sot + 1, info.sot_sequence.end());
  if (!timestamps) p.tail.push_back(info.no_timestamps);
  p.tail.insert(p.tail.end(), prefix.begin(), prefix.end());
  return p;
}

std::vector<int64_t> Widen(const std::vector<int32_t>& v) { return std::vector<int64_t>(v.begin(), v.end()); }

struct Start {
  SelfCache cache;
  std::vector<float> logits;  // for the first free token (batch 1)
  float no_speech_prob = 0.f;
};

Start RunPrompt(const WhisperModel& model, const CrossCache& cross, const std::vector<int32_t>& prompt,
                const std::vector<int32_t>& prefix, bool timestamps) {
  const auto& info = model.info();
  Prepared p = Prepare(info, prompt, prefix, timestamps);
  Start s;
  s.cache = WhisperModel::EmptyCache(info, 1);
  DecoderOutput at_sot = model.Step(Widen(p.head), 1, &s.cache, cross, false);
  // Timestamp mode of an English-only model: sot is the last prompt token.
  if (p.tail.empty()) s.logits = at_sot.logits;
  LogSoftmax(at_sot.logits.data(), info.n_vocab);  // no-speech probability from the raw distribution at sot
  s.no_speech_prob = std::exp(at_sot.logits[info.no_speech]);
  if (!p.tail.empty()) s.logits = model.Step(Widen(p.tail), 1, &s.cache, cross, false).logits;
  return s;
}

// Which tokens may come next. No-timestamps mode: text tokens and eot. Timestamp
// mode (OpenAI's rules): the window opens with a timestamp no later than 1 s;
// timestamps come in pairs around text and never go back; where the timestamps
// together are likelier than any single text token, a timestamp must come.
class Grammar {
 public:
  Grammar(const WhisperModelInfo& info, bool timestamps, bool first_free,
          const std::vector<DecodingOptions::Hotword>* hotwords = nullptr, float boost = 0.f)
      : info_(info),
        timestamps_(timestamps),
        first_free_(first_free),
        mask_(SuppressMask(info)),
        hotwords_(hotwords),
        boost_(boost) {
    if (timestamps_)
      for (int32_t id = info.timestamp_begin; id < info.n_vocab; ++id) mask_[id] = 0;
  }
  bool timestamps() const { return timestamps_; }

  // logits of one hypothesis whose sampled tokens so far are `seq`.
  void Apply(float* logits, const std::vector<int32_t>& seq) const {
    const int32_t n = info_.n_vocab, tb = info_.timestamp_begin;
    for (int32_t i = 0; i < n; ++i)
      if (mask_[i]) logits[i] = kNegInf;
    if (first_free_ && seq.empty())
      for (int32_t id : info_.suppress_blank)
        if (id >= 0 && id < n) logits[id] = kNegInf;
    Bias(logits, seq);
    if (!timestamps_) return;
    const bool last_ts = !seq.empty() && seq.back() >= tb;
    const bool penult_ts = seq.size() < 2 || seq[seq.size() - 2] >= tb;
    if (last_ts) {
      if (penult_ts)
        std::fill(logits + tb, logits + n, kNegInf);  // a pair closed: text must follow
      else
        std::fill(logits, logits + info_.eot, kNegInf);  // a lone timestamp: another, or eot
    }
    int32_t last_time = -1;
    for (int32_t t : seq)
      if (t >= tb) last_time = t;
    if (last_time >= 0) {
      const int32_t floor = (last_ts && !penult_ts) ? last_time : last_time + 1;
      std::fill(logits + tb, logits + std::min(floor, n), kNegInf);
    }
    if (seq.empty()) {
      std::fill(logits, logits + tb, kNegInf);
      const int32_t last_allowed = tb + 50;  // max_initial_timestamp 1.0 s
      if (last_allowed + 1 < n) std::fill(logits + last_allowed + 1, logits + n, kNegInf);
    }
    std::vector<float> logp(logits, logits + n);
    LogSoftmax(logp.data(), n);
    float mx = kNegInf;
    for (int32_t i = tb; i < n; ++i) mx = std::max(mx, logp[i]);
    double sum = 0.0;
    for (int32_t i = tb; i < n; ++i) sum += logp[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(logp[i] - mx));
    const float ts_logprob = mx == kNegInf ? kNegInf : mx + static_cast<float>(std::log(sum));
    const float best_text = *std::max_element(logp.begin(), logp.begin() + tb);
    if (ts_logprob > best_text) std::fill(logits, logits + tb, kNegInf);
  }

 private:
  // Each hotword whose first k tokens end `seq` lifts its token k (k = 0: any
  // position may start one); a token gets the boost once.
  void Bias(float* logits, const std::vector<int32_t>& seq) const {
    if (!hotwords_ || hotwords_->empty()) return;
    std::vector<std::pair<int32_t, float>> lifted;  // token, largest boost
    for (const auto& hw : *hotwords_) {
      const auto& h = hw.tokens;
      const float boost = hw.boost > 0.f ? hw.boost : boost_;
      for (size_t k = 0; k < h.size(); ++k) {
        if (k > seq.size() || !std::equal(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(k),
                                          seq.end() - static_cast<std::ptrdiff_t>(k)))
          continue;
        auto it = std::find_if(lifted.begin(), lifted.end(), [&](const auto& p) { return p.first == h[k]; });
        if (it == lifted.end())
          lifted.emplace_back(h[k], boost);
        else
          it->second = std::max(it->second, boost);
      }
    }
    for (const auto& [id, boost] : lifted)
      if (id >= 0 && id < info_.n_vocab && logits[id] != kNegInf) logits[id] += boost;
  }

  const WhisperModelInfo& info_;
  bool timestamps_, first_free_;
  std::vector<char> mask_;
  const std::vector<DecodingOptions::Hotword>* hotwords_;
  float boost_;
};

struct Sequence {
  std::vector<int32_t> tokens;  // decoded (no eot)
  std::vector<float> probs;
  double sum_logprob = 0.0;
};

Sequence Sample(const WhisperModel& model, const CrossCache& cross, Start start, const Grammar& grammar,
                int32_t max_new, float temperature, std::mt19937* rng) {
  const auto& info = model.info();
  Sequence seq;
  std::vector<float> logits = std::move(start.logits);
  std::vector<double> weights(static_cast<size_t>(info.n_vocab));
  for (int32_t step = 0; step < max_new; ++step) {
    grammar.Apply(logits.data(), seq.tokens);
    std::vector<float> logp = logits;
    LogSoftmax(logp.data(), info.n_vocab);
    int32_t next = 0;
    if (temperature <= 0.f) {
      next = static_cast<int32_t>(std::max_element(logp.begin(), logp.end()) - logp.begin());
    } else {
      for (int32_t i = 0; i < info.n_vocab; ++i)
        weights[i] = logp[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(logp[i]) / temperature);
      next = std::discrete_distribution<int32_t>(weights.begin(), weights.end())(*rng);
    }
    seq.sum_logprob += logp[next];
    if (next == info.eot) return seq;
    seq.tokens.push_back(next);
    seq.probs.push_back(std::exp(logp[next]));
    if (start.cache.positions() + 1 > info.n_text_ctx - 1) break;
    logits = model.Step({next}, 1, &start.cache, cross, false).logits;
  }
  return seq;
}

// OpenAI-style beam search: each beam proposes its beam+1 best tokens, the best
// `beam` unfinished ones go on; a finished one (eot) is kept until beam*patience
// are collected; the winner has the best sum_logprob / length.
// Finished hypotheses are ranked by mean log-prob (OpenAI's default length penalty).
double BeamScore(const Sequence& s) {
  return s.sum_logprob / static_cast<double>(std::max<size_t>(1, s.tokens.size()));
}

// Returns the finished hypotheses, best first. `late` (optional) gets the ends that came
// after the finished set was full: more candidate texts for n-best lists, since the
// finished beams often differ in timestamp tokens only.
std::vector<Sequence> BeamSearch(const WhisperModel& model, const CrossCache& cross1, Start start,
                                 const Grammar& grammar, int32_t max_new, int32_t beam, float patience,
                                 std::vector<Sequence>* late = nullptr) {
  const auto& info = model.info();
  const size_t max_finished = static_cast<size_t>(std::max(1.f, std::round(beam * patience)));
  std::vector<Sequence> beams(1);
  std::vector<Sequence> finished;
  std::vector<float> logits = std::move(start.logits);  // rows x n_vocab
  SelfCache cache = std::move(start.cache);
  for (int32_t step = 0; step < max_new && finished.size() < max_finished; ++step) {
    struct Cand {
      double score;
      int32_t row;
      int32_t token;
      float logp;
    };
    std::vector<Cand> cands;
    for (size_t r = 0; r < beams.size(); ++r) {
      float* row = logits.data() + r * info.n_vocab;
      grammar.Apply(row, beams[r].tokens);
      LogSoftmax(row, info.n_vocab);
      std::vector<int32_t> idx(static_cast<size_t>(info.n_vocab));
      for (int32_t i = 0; i < info.n_vocab; ++i) idx[i] = i;
      const int32_t k = std::min<int32_t>(beam + 1, info.n_vocab);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
      for (int32_t j = 0; j < k; ++j)
        if (row[idx[j]] != kNegInf)
          cands.push_back({beams[r].sum_logprob + row[idx[j]], static_cast<int32_t>(r), idx[j], row[idx[j]]});
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.score > b.score; });
    std::vector<Sequence> next;
    std::vector<int32_t> rows;
    std::vector<int64_t> tokens;
    for (const Cand& c : cands) {
      Sequence s = beams[c.row];
      s.sum_logprob = c.score;
      if (c.token == info.eot) {  // only ends ranked above the beam's last live hypothesis count
        if (finished.size() < max_finished)
          finished.push_back(std::move(s));
        else if (late)
          late->push_back(std::move(s));
        continue;
      }
      s.tokens.push_back(c.token);
      s.probs.push_back(std::exp(c.logp));
      next.push_back(std::move(s));
      rows.push_back(c.row);
      tokens.push_back(c.token);
      if (static_cast<int32_t>(next.size()) == beam) break;
    }
    if (next.empty() || finished.size() >= max_finished || cache.positions() + 1 > info.n_text_ctx - 1) {
      beams = std::move(next);
      break;
    }
    cache = WhisperModel::SelectRows(cache, rows);
    beams = std::move(next);
    // Every beam reads the window's one cross-attention row (broadcast in the graph).
    logits = model.Step(tokens, static_cast<int64_t>(rows.size()), &cache, cross1, false).logits;
  }
  for (auto& b : beams)
    if (finished.size() < max_finished) finished.push_back(std::move(b));
  ECHOIC_CHECK(!finished.empty(), ErrorCode::kInternal, "whisper beam search ended with no hypothesis");
  auto better = [](const Sequence& a, const Sequence& b) { return BeamScore(a) > BeamScore(b); };
  std::stable_sort(finished.begin(), finished.end(), better);
  if (late) std::stable_sort(late->begin(), late->end(), better);
  return finished;
}

}  // namespace

float CompressionRatio(const std::string& text) {
  if (text.empty()) return 0.f;
  // Greedy LZ77 over a 32 KiB window (deflate's), costed roughly as deflate
  // codes English: ~0.7 bytes a literal, ~2.5 bytes a match, a small header.
  const size_t n = text.size();
  std::unordered_map<uint32_t, std::vector<size_t>> seen;  // 3-byte prefix -> positions
  double cost = 10.0;
  size_t i = 0;
  auto key = [&](size_t p) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(text[p])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(text[p + 1])) << 8) | static_cast<uint8_t>(text[p + 2]);
  };
  while (i < n) {
    size_t best = 0;
    if (i + 3 <= n) {
      auto it = seen.find(key(i));
      if (it != seen.end())
        for (size_t p : it->second) {
          if (i - p > 32768) continue;
          size_t len = 0;
          while (i + len < n && len < 258 && text[p + len] == text[i + len]) ++len;
          best = std::max(best, len);
        }
    }
    const size_t step = best >= 3 ? best : 1;
    cost += best >= 3 ? 2.5 : 0.7;
    for (size_t j = i; j < i + step && j + 3 <= n; ++j) seen[key(j)].push_back(j);
    i += step;
  }
  return static_cast<float>(n / cost);
}

namespace {

void CheckRequest(const WhisperModelInfo& info, const std::vector<int32_t>& prefix, const DecodingOptions& options) {
  ECHOIC_CHECK(options.beam_size >= 1 && options.beam_size <= 16, ErrorCode::kInvalidArgument,
               "whisper decode: beam_size must be 1..16, got ", options.beam_size);
  ECHOIC_CHECK(options.nbest >= 1 && options.nbest <= options.beam_size, ErrorCode::kInvalidArgument,
               "whisper decode: nbest must be 1..beam_size (", options.beam_size, "), got ", options.nbest);
  ECHOIC_CHECK(!options.temperatures.empty(), ErrorCode::kInvalidArgument, "whisper decode: no temperatures");
  for (int32_t t : prefix)
    ECHOIC_CHECK(t >= 0 && t < info.eot, ErrorCode::kInvalidArgument, "whisper decode: prefix token ", t,
                 " is not a text token");
}

int32_t MaxNew(const WhisperModelInfo& info, const DecodingOptions& options, int64_t cached) {
  const int32_t limit = options.max_new_tokens > 0 ? options.max_new_tokens : info.n_text_ctx / 2 - 1;
  return std::min(limit, std::max<int32_t>(0, info.n_text_ctx - 1 - static_cast<int32_t>(cached)));
}

struct Attempt {
  DecodingResult result;
  bool fallback = false;  // failed the guards: try the next temperature
};

// The forced prefix, then the decoded text tokens (times come from DTW, not timestamp tokens).
std::vector<int32_t> TextTokens(const WhisperModelInfo& info, const std::vector<int32_t>& prefix, const Sequence& seq,
                                bool timestamps, std::vector<float>* probs) {
  std::vector<int32_t> out = prefix;
  if (probs) probs->assign(prefix.size(), 1.f);
  for (size_t k = 0; k < seq.tokens.size(); ++k)
    if (!timestamps || seq.tokens[k] < info.eot) {
      out.push_back(seq.tokens[k]);
      if (probs) probs->push_back(seq.probs[k]);
    }
  return out;
}

// The result of one decode at one temperature, and whether it passes the guards.
Attempt Judge(const WhisperModel& model, Sequence seq, const std::vector<int32_t>& prefix, float no_speech,
              float temperature, bool timestamps, const DecodingOptions& options) {
  const auto& info = model.info();
  const size_t decoded = seq.tokens.size();  // timestamps included, as OpenAI counts them
  Attempt a;
  DecodingResult& r = a.result;
  r.tokens = TextTokens(info, prefix, seq, timestamps, &r.probs);
  r.sum_logprob = seq.sum_logprob;
  r.avg_logprob = seq.sum_logprob / static_cast<double>(decoded + 1);
  r.no_speech_prob = no_speech;
  r.temperature = temperature;
  r.compression_ratio = CompressionRatio(model.tokenizer().Decode(r.tokens));
  r.no_speech = no_speech > options.no_speech_threshold && r.avg_logprob < options.logprob_threshold;
  a.fallback =
      (r.compression_ratio > options.compression_ratio_threshold || r.avg_logprob < options.logprob_threshold) &&
      no_speech <= options.no_speech_threshold;
  return a;
}

// Temperature fallback; `first` (optional) is the attempt at temperatures[0], already made.
DecodingResult WithFallback(const WhisperModel& model, const CrossCache& cross, const std::vector<int32_t>& prompt,
                            const std::vector<int32_t>& prefix, const DecodingOptions& options,
                            std::optional<Attempt> first) {
  const auto& info = model.info();
  std::mt19937 rng(options.seed);
  std::optional<DecodingResult> best;
  if (first) {
    if (!first->fallback) return std::move(first->result);
    best = std::move(first->result);
  }
  for (size_t i = first ? 1 : 0; i < options.temperatures.size(); ++i) {
    const float temperature = options.temperatures[i];
    const Grammar grammar(info, options.timestamps && prefix.empty(), prefix.empty(), &options.hotwords,
                          options.hotword_boost);
    Start start = RunPrompt(model, cross, prompt, prefix, grammar.timestamps());
    const float no_speech = start.no_speech_prob;
    const int32_t max_new = MaxNew(info, options, start.cache.positions());
    std::vector<Sequence> beams, late;
    if (temperature <= 0.f && options.beam_size > 1)
      beams = BeamSearch(model, cross, std::move(start), grammar, max_new, options.beam_size, options.patience,
                         options.nbest > 1 ? &late : nullptr);
    else
      beams.push_back(Sample(model, cross, std::move(start), grammar, max_new, temperature, &rng));
    Attempt a = Judge(model, beams[0], prefix, no_speech, temperature, grammar.timestamps(), options);
    if (options.nbest > 1) {
      // Distinct texts, the finished beams first; the result's own text stays first.
      beams.insert(beams.end(), std::make_move_iterator(late.begin()), std::make_move_iterator(late.end()));
      auto& alts = a.result.alternatives;
      for (size_t k = 0; k < beams.size() && alts.size() < static_cast<size_t>(options.nbest); ++k) {
        std::vector<int32_t> text = TextTokens(info, prefix, beams[k], grammar.timestamps(), nullptr);
        if (std::none_of(alts.begin(), alts.end(),
                         [&](const DecodingResult::Alternative& o) { return o.tokens == text; }))
          alts.push_back({std::move(text), BeamScore(beams[k])});
      }
    }
    if (!a.fallback) return std::move(a.result);
    if (!best) best = std::move(a.result);  // keep the first unless a later one passes
  }
  // No temperature gave a plausible decode: on noise Whisper invents short
  // confident-looking phrases ("You", "Thank you."), so report no speech.
  if (best->avg_logprob < options.logprob_threshold) best->no_speech = true;
  return std::move(*best);
}

}  // namespace

DecodingResult DecodeWindow(const WhisperModel& model, const CrossCache& cross, const std::vector<int32_t>& prompt,
                            const std::vector<int32_t>& prefix, const DecodingOptions& options) {
  ECHOIC_CHECK(cross.batch() == 1, ErrorCode::kInvalidArgument, "whisper decode: one window at a time");
  CheckRequest(model.info(), prefix, options);
  return WithFallback(model, cross, prompt, prefix, options, std::nullopt);
}

std::vector<DecodingResult> DecodeWindows(const WhisperModel& model, const CrossCache& cross,
                                          const std::vector<std::vector<int32_t>>& prompts,
                                          const std::vector<std::vector<int32_t>>& prefixes,
                                          const std::vector<DecodingOptions>& options) {
  const auto& info = model.info();
  const size_t n = prompts.size();
  ECHOIC_CHECK(cross.batch() == static_cast<int64_t>(n) && prefixes.size() == n && options.size() == n,
               ErrorCode::kInvalidArgument, "whisper decode: ", n, " prompts, ", prefixes.size(), " prefixes, ",
               options.size(), " option sets for ", cross.batch(), " windows");
  for (size_t i = 0; i < n; ++i) CheckRequest(info, prefixes[i], options[i]);
  if (n == 1) return {WithFallback(model, cross, prompts[0], prefixes[0], options[0], std::nullopt)};
  // One window's rows of the cross cache, copied only where a window runs alone.
  auto row = [&](size_t i) { return WhisperModel::SelectRows(cross, {static_cast<int32_t>(i)}); };
  std::vector<DecodingResult> out(n);
  // Beam search (its own batch of beams) goes window by window.
  std::vector<size_t> batched;
  for (size_t i = 0; i < n; ++i) {
    if (options[i].beam_size == 1 && options[i].temperatures[0] <= 0.f)
      batched.push_back(i);
    else
      out[i] = WithFallback(model, row(i), prompts[i], prefixes[i], options[i], std::nullopt);
  }
  if (batched.empty()) return out;
  // Greedy at temperature 0 for all the others in one decoder batch: each prompt
  // runs alone (their lengths differ), then the caches are stacked and padded.
  std::vector<Grammar> grammars;
  std::vector<Start> starts;
  std::vector<const SelfCache*> caches;
  std::vector<int32_t> max_new;
  std::vector<int32_t> cross_rows;
  for (size_t i : batched) {
    const DecodingOptions& o = options[i];
    grammars.emplace_back(info, o.timestamps && prefixes[i].empty(), prefixes[i].empty(), &o.hotwords, o.hotword_boost);
    starts.push_back(RunPrompt(model, row(i), prompts[i], prefixes[i], grammars.back().timestamps()));
    max_new.push_back(MaxNew(info, o, starts.back().cache.positions()));
    cross_rows.push_back(static_cast<int32_t>(i));
  }
  for (const Start& st : starts) caches.push_back(&st.cache);
  SelfCache cache = WhisperModel::Stack(caches);
  const CrossCache batch_cross = batched.size() == n ? cross : WhisperModel::SelectRows(cross, cross_rows);
  const size_t b = batched.size();
  std::vector<Sequence> seqs(b);
  std::vector<char> done(b, 0);
  std::vector<float> logits;
  for (size_t r = 0; r < b; ++r) logits.insert(logits.end(), starts[r].logits.begin(), starts[r].logits.end());
  for (int32_t step = 0;; ++step) {
    std::vector<int64_t> next(b, info.eot);
    size_t live = 0;
    for (size_t r = 0; r < b; ++r) {
      if (done[r]) continue;
      if (step >= max_new[r]) {  // as Sample: the cap ends the row without a token
        done[r] = 1;
        continue;
      }
      float* row = logits.data() + r * info.n_vocab;
      grammars[r].Apply(row, seqs[r].tokens);
      LogSoftmax(row, info.n_vocab);
      const int32_t tok = static_cast<int32_t>(std::max_element(row, row + info.n_vocab) - row);
      seqs[r].sum_logprob += row[tok];
      if (tok == info.eot) {
        done[r] = 1;
        continue;
      }
      seqs[r].tokens.push_back(tok);
      seqs[r].probs.push_back(std::exp(row[tok]));
      next[r] = tok;
      ++live;
    }
    if (live == 0 || cache.positions() + 1 > info.n_text_ctx - 1) break;
    logits = model.Step(next, static_cast<int64_t>(b), &cache, batch_cross, false).logits;
  }
  for (size_t r = 0; r < b; ++r) {
    const size_t i = batched[r];
    Attempt a = Judge(model, std::move(seqs[r]), prefixes[i], starts[r].no_speech_prob, options[i].temperatures[0],
                      grammars[r].timestamps(), options[i]);
    out[i] = a.fallback ? WithFallback(model, row(i), prompts[i], prefixes[i], options[i], std::move(a))
                        : std::move(a.result);
  }
  return out;
}

std::vector<TokenSpan> TimeTokens(const WhisperModel& model, const CrossCache& cross,
                                  const std::vector<int32_t>& tokens, int32_t audio_frames) {
  const auto& info = model.info();
  if (tokens.empty()) return {};
  ECHOIC_CHECK(info.n_alignment_heads > 0, ErrorCode::kModel, "whisper: the model lists no alignment heads");
  std::vector<int32_t> seq = info.sot_sequence;
  seq.push_back(info.no_timestamps);
  const size_t first_row = seq.size() - 1;  // the no_timestamps position predicts the first text token
  seq.insert(seq.end(), tokens.begin(), tokens.end());
  seq.push_back(info.eot);
  if (static_cast<int32_t>(seq.size()) > info.n_text_ctx) return {};
  SelfCache cache = WhisperModel::EmptyCache(info, 1);
  DecoderOutput out = model.Step(Widen(seq), 1, &cache, cross, true);
  const int32_t heads = info.n_alignment_heads, t = static_cast<int32_t>(seq.size()), a = info.n_audio_ctx;
  ECHOIC_CHECK(out.alignment.size() == static_cast<size_t>(heads) * t * a, ErrorCode::kModel,
               "whisper: alignment output has ", out.alignment.size(), " values, expected ", heads, " x ", t, " x ", a);
  const int32_t frames = std::max(1, std::min(audio_frames, a));
  const int32_t rows = static_cast<int32_t>(tokens.size()) + 1;  // text tokens + the eot prediction
  std::vector<float> att(static_cast<size_t>(heads) * rows * frames);
  for (int32_t h = 0; h < heads; ++h)
    for (int32_t r = 0; r < rows; ++r)
      std::copy_n(out.alignment.data() + (static_cast<size_t>(h) * t + first_row + r) * a, frames,
                  att.data() + (static_cast<size_t>(h) * rows + r) * frames);
  std::vector<TokenSpan> spans = AlignTokens(att.data(), heads, rows, frames);
  spans.resize(tokens.size());
  return spans;
}

}  // namespace echoic::whisper
