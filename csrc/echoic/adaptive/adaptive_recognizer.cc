#include "echoic/adaptive/adaptive_recognizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "echoic/audio/samples.h"
#include "echoic/ort/environment.h"
#include "echoic/ort/library.h"
#include "echoic/runtime/error.h"

namespace echoic::asr {

namespace {
constexpr size_t kMaxEvents = 256;
}

void AdaptiveRecognizerConfig::Validate() const {
  ECHOIC_CHECK(!tiers.empty(), ErrorCode::kInvalidArgument, "adaptive recognizer: no model tiers given");
  ECHOIC_CHECK(std::isfinite(max_buffer_seconds) && max_buffer_seconds > 0, ErrorCode::kInvalidArgument,
               "adaptive recognizer: max_buffer_seconds must be > 0, got ", max_buffer_seconds);
  policy.Validate();
}

// ---- AdaptiveStream --------------------------------------------------------

AdaptiveStream::AdaptiveStream(int64_t id, std::vector<decoding::Hotword> hotwords, double max_buffer_s)
    : id_(id), hotwords_(std::move(hotwords)), max_buffer_s_(max_buffer_s) {}

AdaptiveStream::~AdaptiveStream() = default;

const std::string& AdaptiveStream::tier_name() const { return tier_name_; }

double AdaptiveStream::buffered_seconds() const { return rate_ ? static_cast<double>(buffer_.size()) / rate_ : 0.0; }

double AdaptiveStream::seconds_received() const { return rate_ ? static_cast<double>(samples_) / rate_ : 0.0; }

void AdaptiveStream::AcceptWaveform(int32_t sample_rate, const float* samples, size_t n) {
  if (stream_) {
    stream_->AcceptWaveform(sample_rate, samples, n);  // validates before anything is buffered
  } else {
    // Detached after running out of memory: only buffer (checked the same way).
    ECHOIC_CHECK(!input_finished_, ErrorCode::kState, "adaptive stream ", id_,
                 ": accept_waveform after input_finished");
    ECHOIC_CHECK(rate_ == 0 || rate_ == sample_rate, ErrorCode::kInvalidArgument, "adaptive stream ", id_,
                 ": started at ", rate_, " Hz but was now given ", sample_rate, " Hz");
    audio::ValidateSamples(samples, n, "adaptive stream " + std::to_string(id_));
  }
  if (n == 0) return;
  rate_ = sample_rate;
  buffer_.insert(buffer_.end(), samples, samples + n);
  samples_ += static_cast<int64_t>(n);
  const size_t cap = static_cast<size_t>(max_buffer_s_ * rate_);
  if (buffer_.size() > cap) {
    const size_t drop = buffer_.size() - cap;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(drop));
    buffer_start_ += static_cast<int64_t>(drop);
    overflowed_ = true;
  }
}

void AdaptiveStream::Detach() {
  if (stream_) Drain();
  stream_.reset();
  rec_.reset();
}

void AdaptiveStream::InputFinished() {
  if (stream_) stream_->InputFinished();
  input_finished_ = true;
}

std::vector<Result> AdaptiveStream::PopFinalResults() {
  std::vector<Result> out(std::make_move_iterator(finals_.begin()), std::make_move_iterator(finals_.end()));
  finals_.clear();
  return out;
}

Result AdaptiveStream::PopFinalResult() {
  ECHOIC_CHECK(!finals_.empty(), ErrorCode::kState, "adaptive stream ", id_, ": no final result to pop");
  Result r = std::move(finals_.front());
  finals_.pop_front();
  return r;
}

void AdaptiveStream::Adjust(Result* r) const {
  const float off = static_cast<float>(time_offset_);
  r->segment += segment_offset_;
  r->segment_start += off;
  for (float& t : r->token_times) t += off;
  for (WordInfo& w : r->words) {
    w.start += off;
    w.end += off;
  }
  r->model = tier_name_;
}

void AdaptiveStream::Drain() {
  if (!stream_) return;
  for (Result& r : stream_->PopFinalResults()) {
    // A stream restarted on a new tier reports an empty "heard nothing" final
    // when it ends; the outer stream already had its results.
    if (r.tokens.empty() && segments_emitted_ > 0) continue;
    Adjust(&r);
    segments_emitted_ = r.segment + 1;
    finals_.push_back(std::move(r));
  }
  if (rate_ == 0) return;
  // Keep only the open segment's audio.
  const int64_t cut = std::llround((time_offset_ + stream_->segment_start_seconds()) * rate_);
  if (cut >= buffer_start_) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(cut - buffer_start_, static_cast<int64_t>(buffer_.size())));
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    buffer_start_ += static_cast<int64_t>(n);
    overflowed_ = false;
  }
}

// ---- AdaptiveRecognizer ----------------------------------------------------

AdaptiveRecognizer::AdaptiveRecognizer(const AdaptiveRecognizerConfig& config) : config_(config) {
  config_.Validate();
  if (!config_.clock) {
    config_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  }
  pool_ = std::make_unique<ModelPool>(config_.tiers, config_.base, config_.loader);
  policy_ = std::make_unique<FallbackPolicy>(config_.policy, pool_->size());
  // ONNX Runtime itself comes first (tens of MB), so the reading that picks
  // the starting tier already includes it.
  try {
    ort::Library::Get(config_.base.session.ort_library);
    ort::Environment::Get();
  } catch (const Error&) {
    // The first tier load reports it, naming the tier.
  }
  monitor_ = std::make_unique<MemoryMonitor>(config_.monitor);
  const MemoryState st = monitor_->Poll();
  // Already short of memory: do not even try the big tiers.
  size_t start = 0;
  if (st.available_bytes >= 0 && st.available_bytes < config_.policy.low_watermark_bytes) start = pool_->size() - 1;
  std::string errors;
  bool ok = false;
  for (size_t t = start; t < pool_->size() && !ok; ++t) {
    try {
      pool_->Get(t);
      current_ = t;
      ok = true;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kOutOfMemory) throw;
      counters_.failed_loads += 1;
      errors += std::string(errors.empty() ? "" : "; ") + e.what();
    }
  }
  if (!ok) {
    monitor_.reset();
    Fail(ErrorCode::kOutOfMemory, "adaptive recognizer: no model tier fits in memory (", errors, ")");
  }
  policy_->Switched(Now());
  Preload();
  monitor_->SetListener([this](const MemoryState& s) {
    std::lock_guard<std::mutex> lock(switch_mu_);
    size_t cur = current_tier();
    int64_t upper = cur > 0 ? pool_->stats(cur - 1).estimated_bytes : -1;
    FallbackDecision d = policy_->Evaluate(s, cur, Now(), upper);
    if (d.tier != cur)
      Switch(d.tier, d.reason, d.tier > cur);
    else
      ReleaseUnused();
  });
}

AdaptiveRecognizer::~AdaptiveRecognizer() { monitor_.reset(); }  // stop the thread before anything else goes

double AdaptiveRecognizer::Now() const { return config_.clock(); }

size_t AdaptiveRecognizer::current_tier() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::string AdaptiveRecognizer::current_tier_name() const { return pool_->name(current_tier()); }

AdaptiveCounters AdaptiveRecognizer::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

std::vector<SwitchEvent> AdaptiveRecognizer::PopEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SwitchEvent> out(events_.begin(), events_.end());
  events_.clear();
  return out;
}

void AdaptiveRecognizer::Evaluate() { monitor_->Poll(); }

void AdaptiveRecognizer::SignalPressure(PressureLevel level) {
  monitor_->SignalPressure(level);
  Evaluate();  // act now, on the caller's thread: the host is about to reclaim memory
}

void AdaptiveRecognizer::SetBudget(int64_t bytes) {
  monitor_->SetBudget(bytes);
  Evaluate();
}

void AdaptiveRecognizer::SwitchTo(size_t tier, const std::string& reason) {
  ECHOIC_CHECK(tier < pool_->size(), ErrorCode::kInvalidArgument, "adaptive recognizer: tier ", tier, " out of range (",
               pool_->size(), " tiers)");
  std::lock_guard<std::mutex> lock(switch_mu_);
  size_t cur = current_tier();
  if (tier == cur) return;
  Switch(tier, reason, false);
  ECHOIC_CHECK(current_tier() == tier, ErrorCode::kOutOfMemory, "adaptive recognizer: cannot switch to tier '",
               pool_->name(tier), "': ", pool_->stats(tier).last_error);
}

void AdaptiveRecognizer::Switch(size_t tier, const std::string& reason, bool down_chain) {
  const size_t from = current_tier();
  size_t t = tier;
  while (true) {
    try {
      pool_->Get(t);
      break;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kOutOfMemory) throw;
      {
        std::lock_guard<std::mutex> lock(mu_);
        counters_.failed_loads += 1;
      }
      if (down_chain && t + 1 < pool_->size()) {
        ++t;  // does not fit either: try the next smaller tier
        continue;
      }
      if (t < from) policy_->UpgradeFailed(Now());
      return;  // stay where we are: that tier is loaded and works
    }
  }
  SwitchEvent ev{pool_->name(from), pool_->name(t), reason, Now()};
  if (t != tier) ev.reason += " (tier '" + pool_->name(tier) + "' did not fit)";
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = t;
    (t > from ? counters_.switches_down : counters_.switches_up) += 1;
    events_.push_back(ev);
    if (events_.size() > kMaxEvents) events_.pop_front();
  }
  policy_->Switched(Now());
  ReleaseUnused();
  Preload();
  if (config_.on_switch) {
    try {
      config_.on_switch(ev);
    } catch (...) {
      // A failing observer must not break recognition.
    }
  }
}

void AdaptiveRecognizer::ReleaseUnused() {
  const size_t cur = current_tier();
  for (size_t i = 0; i < pool_->size(); ++i) {
    if (i == cur || (config_.preload_fallback && i == cur + 1)) continue;
    if (pool_->IsLoaded(i) && pool_->Unused(i)) pool_->Unload(i);
  }
}

void AdaptiveRecognizer::Preload() {
  const size_t next = current_tier() + 1;
  if (!config_.preload_fallback || next >= pool_->size() || pool_->IsLoaded(next)) return;
  try {
    pool_->Get(next);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kOutOfMemory) throw;
    std::lock_guard<std::mutex> lock(mu_);
    counters_.failed_loads += 1;  // no room for it now: it loads at the switch instead
  }
}

std::unique_ptr<AdaptiveStream> AdaptiveRecognizer::CreateStream(const std::vector<decoding::Hotword>& hotwords) {
  const size_t tier = current_tier();
  std::unique_ptr<AdaptiveStream> s(new AdaptiveStream(next_id_.fetch_add(1), hotwords, config_.max_buffer_seconds));
  s->rec_ = pool_->Get(tier);
  s->stream_ = s->rec_->CreateStream(hotwords);
  s->tier_ = tier;
  s->tier_name_ = pool_->name(tier);
  return s;
}

bool AdaptiveRecognizer::IsReady(const AdaptiveStream& s) const {
  if (!s.stream_) return true;  // detached: re-attaching is work to do
  if (s.rec_->IsReady(*s.stream_)) return true;
  return s.tier_ != current_tier() && !s.rec_->IsDone(*s.stream_);  // a pending move is work to do
}

bool AdaptiveRecognizer::IsDone(const AdaptiveStream& s) const {
  if (!s.stream_) return false;
  return s.rec_->IsDone(*s.stream_);
}

void AdaptiveRecognizer::MoveIfNeeded(AdaptiveStream* s) {
  const size_t target = current_tier();
  if (s->stream_ && (s->tier_ == target || s->rec_->IsDone(*s->stream_))) return;
  std::shared_ptr<Recognizer> rec = pool_->Get(target);
  std::unique_ptr<Stream> fresh = rec->CreateStream(s->hotwords_);
  double redecoded = 0;
  bool overflow = false;
  if (s->overflowed_ && s->stream_) {
    // The buffer no longer reaches back to the segment start: let the old tier
    // finish the segment it heard, and start the new tier from here.
    overflow = true;
    s->stream_->InputFinished();
    s->rec_->DecodeAvailable(s->stream_.get());
    s->Drain();
    s->buffer_.clear();
    s->buffer_start_ = s->samples_;
    s->overflowed_ = false;
  } else if (!s->buffer_.empty()) {
    fresh->AcceptWaveform(s->rate_, s->buffer_.data(), s->buffer_.size());
    redecoded = s->buffered_seconds();
  }
  if (s->input_finished_) fresh->InputFinished();
  s->time_offset_ = s->rate_ ? static_cast<double>(s->buffer_start_) / s->rate_ : 0.0;
  s->segment_offset_ = s->segments_emitted_;
  s->overflowed_ = false;  // detached with an overflowed buffer: only what is buffered can be decoded again
  s->stream_ = std::move(fresh);
  s->rec_ = std::move(rec);
  s->tier_ = target;
  s->tier_name_ = pool_->name(target);
  // Catch up now, so the very next partial already comes from the new tier.
  s->rec_->DecodeAvailable(s->stream_.get());
  s->Drain();
  std::lock_guard<std::mutex> lock(mu_);
  counters_.streams_moved += 1;
  counters_.redecoded_seconds += redecoded;
  if (overflow) counters_.overflow_finalizations += 1;
}

template <typename Fn>
bool AdaptiveRecognizer::RunOrFallBack(size_t tier, const std::vector<AdaptiveStream*>& streams, Fn&& fn) {
  std::string what;
  try {
    fn();
    return true;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kOutOfMemory) throw;
    what = e.what();
  } catch (const std::bad_alloc&) {
    what = "std::bad_alloc";
  }
  // Out of memory while running: the stream state is untouched (a chunk only
  // counts once it ran), and its audio is buffered, so a smaller tier can take over.
  ECHOIC_CHECK(tier + 1 < pool_->size(), ErrorCode::kOutOfMemory, "adaptive recognizer: out of memory decoding on '",
               pool_->name(tier), "', the smallest tier: ", what);
  // Memory is short right now: let go of the failing tier's streams (their
  // audio is buffered) so the tier itself can be freed before the next loads.
  for (AdaptiveStream* s : streams)
    if (s->tier_ == tier) s->Detach();
  if (pool_->Unused(tier)) pool_->Unload(tier);
  {
    std::lock_guard<std::mutex> lock(switch_mu_);
    if (current_tier() <= tier) Switch(tier + 1, "out of memory while decoding on '" + pool_->name(tier) + "'", true);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.oom_decodes += 1;
  }
  ECHOIC_CHECK(current_tier() > tier, ErrorCode::kOutOfMemory, "adaptive recognizer: out of memory decoding on '",
               pool_->name(tier), "' and no smaller tier could be loaded: ", what);
  return false;
}

void AdaptiveRecognizer::Decode(const std::vector<AdaptiveStream*>& streams) {
  for (AdaptiveStream* s : streams)
    ECHOIC_CHECK(s != nullptr, ErrorCode::kInvalidArgument, "adaptive decode: a stream is null");
  while (true) {
    for (AdaptiveStream* s : streams) MoveIfNeeded(s);
    std::map<Recognizer*, std::pair<size_t, std::vector<Stream*>>> groups;
    for (AdaptiveStream* s : streams) {
      auto& g = groups[s->rec_.get()];
      g.first = s->tier_;
      g.second.push_back(s->stream_.get());
    }
    bool ok = true;
    for (auto& entry : groups) {
      // Not a structured binding: C++17 lambdas cannot capture those (clang refuses).
      Recognizer* rec = entry.first;
      auto& group = entry.second;
      if (!RunOrFallBack(group.first, streams, [&] { rec->Decode(group.second); })) {
        ok = false;
        break;
      }
    }
    for (AdaptiveStream* s : streams) s->Drain();
    if (ok) break;
  }
  ReleaseUnused();
}

void AdaptiveRecognizer::DecodeAvailable(AdaptiveStream* s) {
  ECHOIC_CHECK(s != nullptr, ErrorCode::kInvalidArgument, "adaptive decode: stream is null");
  while (true) {
    MoveIfNeeded(s);
    if (RunOrFallBack(s->tier_, {s}, [&] { s->rec_->DecodeAvailable(s->stream_.get()); })) break;
  }
  s->Drain();
  ReleaseUnused();
}

Result AdaptiveRecognizer::GetPartial(AdaptiveStream& s) {
  const bool moving = s.tier_ != current_tier() || !s.stream_;
  MoveIfNeeded(&s);
  Result r = s.rec_->GetPartial(*s.stream_);
  s.Adjust(&r);
  if (moving) ReleaseUnused();  // the stream may have been the last one on its old tier
  return r;
}

}  // namespace echoic::asr
