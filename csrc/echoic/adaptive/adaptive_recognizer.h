// A streaming recognizer that keeps working when memory tightens: it runs
// streams on the biggest model tier that fits, moves them to a smaller tier
// under pressure (and back up when memory stays free), and never loses audio.
//
// Every AdaptiveStream keeps the audio of its open segment (since its last
// final result, at most max_buffer_seconds). When its tier changes, the move
// happens at a safe point (the next Decode, between chunks): a new Stream on
// the new tier is fed that audio again, so the final result covers all of it.
// If the buffer overflowed (endpointing off, one very long segment), the old
// tier first finalizes what it heard, and the new tier starts after it.
#ifndef ECHOIC_ADAPTIVE_ADAPTIVE_RECOGNIZER_H_
#define ECHOIC_ADAPTIVE_ADAPTIVE_RECOGNIZER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echoic/adaptive/fallback_policy.h"
#include "echoic/adaptive/model_pool.h"
#include "echoic/asr/recognizer.h"
#include "echoic/runtime/memory_monitor.h"

namespace echoic::asr {

struct SwitchEvent {
  std::string from, to, reason;
  double time_s = 0;  // clock() when it happened
};

struct AdaptiveCounters {
  int64_t switches_down = 0;
  int64_t switches_up = 0;
  int64_t failed_loads = 0;            // tier loads that failed for lack of memory
  int64_t streams_moved = 0;           // stream moves between tiers
  double redecoded_seconds = 0;        // audio decoded again on a new tier
  int64_t overflow_finalizations = 0;  // moves where the buffer had overflowed
  int64_t oom_decodes = 0;             // decodes that ran out of memory and moved down a tier
};

struct AdaptiveRecognizerConfig {
  std::vector<ModelTier> tiers;  // biggest first
  RecognizerConfig base;         // decoding, endpointing, session; model/tokens unused
  FallbackPolicyConfig policy;
  MemoryMonitorOptions monitor;  // poll interval, system probes, budget
  double max_buffer_seconds = 30.0;
  // Keep the next smaller tier loaded too (when it fits), so a switch down
  // does not wait for a model load. Costs that tier's memory.
  bool preload_fallback = false;
  std::function<double()> clock;  // monotonic seconds; default steady_clock
  // Called on the switching thread (monitor thread, or the caller of a signal or
  // decode) while a switch is in progress: it must not call back into the
  // recognizer's Evaluate/SignalPressure/SetBudget/SwitchTo (it would deadlock).
  std::function<void(const SwitchEvent&)> on_switch;
  ModelPool::Loader loader;  // tests: inject load failures
  void Validate() const;
};

class AdaptiveRecognizer;

class AdaptiveStream {
 public:
  ~AdaptiveStream();
  AdaptiveStream(const AdaptiveStream&) = delete;
  AdaptiveStream& operator=(const AdaptiveStream&) = delete;

  int64_t id() const { return id_; }
  void AcceptWaveform(int32_t sample_rate, const float* samples, size_t n);
  void InputFinished();
  bool input_finished() const { return input_finished_; }
  std::vector<Result> PopFinalResults();
  Result PopFinalResult();  // the oldest; kState if there is none
  bool HasFinalResults() const { return !finals_.empty(); }
  const std::string& tier_name() const;
  size_t tier() const { return tier_; }
  double buffered_seconds() const;
  double seconds_received() const;

 private:
  friend class AdaptiveRecognizer;
  AdaptiveStream(int64_t id, std::vector<decoding::Hotword> hotwords, double max_buffer_s);
  void Drain();   // inner finals -> finals_, adjusted; trims the buffer
  void Detach();  // drops the inner stream (its audio stays buffered)
  void Adjust(Result* r) const;

  int64_t id_;
  std::vector<decoding::Hotword> hotwords_;
  double max_buffer_s_;
  size_t tier_ = 0;
  std::string tier_name_;
  std::shared_ptr<Recognizer> rec_;  // keeps the tier alive while this stream is on it
  std::unique_ptr<Stream> stream_;
  int32_t rate_ = 0;
  std::vector<float> buffer_;  // open segment's audio at the input rate
  int64_t buffer_start_ = 0;   // absolute input sample of buffer_[0]
  int64_t samples_ = 0;        // input samples received
  bool overflowed_ = false;
  bool input_finished_ = false;
  double time_offset_ = 0;      // where stream_ began, seconds since stream start
  int32_t segment_offset_ = 0;  // finals emitted before stream_ began
  int32_t segments_emitted_ = 0;
  std::deque<Result> finals_;
};

class AdaptiveRecognizer {
 public:
  // Loads the first tier that fits (the biggest, or the smallest if memory is
  // already under the low watermark). kOutOfMemory if no tier fits.
  explicit AdaptiveRecognizer(const AdaptiveRecognizerConfig& config);
  ~AdaptiveRecognizer();

  std::unique_ptr<AdaptiveStream> CreateStream(const std::vector<decoding::Hotword>& hotwords = {});
  bool IsReady(const AdaptiveStream& s) const;
  bool IsDone(const AdaptiveStream& s) const;
  // Moves streams whose tier is out of date (re-decoding their buffered audio),
  // then decodes one chunk of every ready stream, batched per tier.
  void Decode(const std::vector<AdaptiveStream*>& streams);
  void DecodeAvailable(AdaptiveStream* s);
  Result GetPartial(AdaptiveStream& s);

  // Reads memory now and applies the policy (the monitor thread does this every poll).
  void Evaluate();
  void SignalPressure(PressureLevel level);
  void SetBudget(int64_t bytes);
  // Forces a tier (tests, benchmarks, apps that know better); reason is reported.
  void SwitchTo(size_t tier, const std::string& reason);

  size_t current_tier() const;
  std::string current_tier_name() const;
  AdaptiveCounters counters() const;
  std::vector<SwitchEvent> PopEvents();  // switch events since the last call (bounded)
  MemoryState memory_state() const { return monitor_->Last(); }
  ModelPool& pool() { return *pool_; }
  MemoryMonitor& monitor() { return *monitor_; }  // add probes, read state

 private:
  double Now() const;
  void MoveIfNeeded(AdaptiveStream* s);
  // Runs fn (a decode on tier `tier`); if it runs out of memory, moves down a
  // tier and returns false (the caller moves the streams and retries).
  template <typename Fn>
  bool RunOrFallBack(size_t tier, const std::vector<AdaptiveStream*>& streams, Fn&& fn);
  void ReleaseUnused();
  void Preload();  // the tier below the current one, if asked for and it fits
  // Loads `tier` (or, going down, the next that fits); returns the tier in use.
  void Switch(size_t tier, const std::string& reason, bool down_chain);

  AdaptiveRecognizerConfig config_;
  std::unique_ptr<ModelPool> pool_;
  std::unique_ptr<FallbackPolicy> policy_;
  std::mutex switch_mu_;   // one switch / evaluation at a time
  mutable std::mutex mu_;  // current_, counters_, events_
  size_t current_ = 0;
  AdaptiveCounters counters_;
  std::deque<SwitchEvent> events_;
  std::atomic<int64_t> next_id_{1};
  std::unique_ptr<MemoryMonitor> monitor_;  // last: its thread calls Evaluate
};

}  // namespace echoic::asr

#endif  // ECHOIC_ADAPTIVE_ADAPTIVE_RECOGNIZER_H_
