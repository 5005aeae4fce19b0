// When to move recognition to a smaller model tier and back. Pure logic over
// MemoryState readings and a clock, so it is tested deterministically.
//
//  * available < low_watermark: one tier down (at most once per down_interval,
//    so the last unload can show in the readings before another step).
//  * available >= high_watermark + the upper tier's measured size, without a
//    break for upgrade_after seconds: one tier up. Between the watermarks
//    nothing moves and the up-timer restarts: that gap is the hysteresis.
//    When no source knows the available memory, only signals drive the moves.
//  * host signals: a rise to kLow steps one tier down, kCritical goes to the
//    smallest tier; any level >= kModerate blocks moving up.
#ifndef ECHOIC_ADAPTIVE_FALLBACK_POLICY_H_
#define ECHOIC_ADAPTIVE_FALLBACK_POLICY_H_

#include <cstdint>
#include <string>

#include "echoic/runtime/memory_monitor.h"

namespace echoic::asr {

struct FallbackPolicyConfig {
  int64_t low_watermark_bytes = int64_t{64} << 20;
  int64_t high_watermark_bytes = int64_t{128} << 20;
  double upgrade_after_s = 10.0;
  double down_interval_s = 1.0;
  void Validate() const;  // kInvalidArgument naming the field
};

struct FallbackDecision {
  size_t tier = 0;
  std::string reason;  // empty when the tier stays
};

class FallbackPolicy {
 public:
  FallbackPolicy(const FallbackPolicyConfig& config, size_t num_tiers);

  // `current`: the tier in use (0 = biggest). `upper_tier_bytes`: tier current-1's
  // MemoryReport estimate (TierStats::estimated_bytes), or -1 if unknown. `now_s`: monotonic seconds.
  FallbackDecision Evaluate(const MemoryState& state, size_t current, double now_s, int64_t upper_tier_bytes);
  // A move up failed to load: wait a full upgrade_after again before retrying.
  void UpgradeFailed(double now_s);
  // The tier changed (for whatever reason): restart the timers.
  void Switched(double now_s);

  const FallbackPolicyConfig& config() const { return config_; }

 private:
  FallbackPolicyConfig config_;
  size_t num_tiers_;
  PressureLevel last_level_ = PressureLevel::kNone;
  double relaxed_since_ = -1.0;  // start of the current run above the high watermark
  double last_down_ = -1e300;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ADAPTIVE_FALLBACK_POLICY_H_
