#include "echoic/adaptive/fallback_policy.h"

#include <cmath>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::asr {

void FallbackPolicyConfig::Validate() const {
  ECHOIC_CHECK(low_watermark_bytes >= 0, ErrorCode::kInvalidArgument,
               "fallback policy: low_watermark must be >= 0, got ", low_watermark_bytes);
  ECHOIC_CHECK(high_watermark_bytes >= low_watermark_bytes, ErrorCode::kInvalidArgument,
               "fallback policy: high_watermark (", high_watermark_bytes, ") must be >= low_watermark (",
               low_watermark_bytes, ")");
  ECHOIC_CHECK(std::isfinite(upgrade_after_s) && upgrade_after_s >= 0, ErrorCode::kInvalidArgument,
               "fallback policy: upgrade_after must be >= 0 seconds");
  ECHOIC_CHECK(std::isfinite(down_interval_s) && down_interval_s >= 0, ErrorCode::kInvalidArgument,
               "fallback policy: down_interval must be >= 0 seconds");
}

FallbackPolicy::FallbackPolicy(const FallbackPolicyConfig& config, size_t num_tiers)
    : config_(config), num_tiers_(num_tiers) {
  config_.Validate();
  ECHOIC_CHECK(num_tiers_ >= 1, ErrorCode::kInvalidArgument, "fallback policy: no tiers");
}

namespace {
std::string Mb(int64_t b) {
  std::ostringstream os;
  os.precision(1);
  os << std::fixed << static_cast<double>(b) / (1 << 20) << " MB";
  return os.str();
}
}  // namespace

FallbackDecision FallbackPolicy::Evaluate(const MemoryState& s, size_t current, double now_s,
                                          int64_t upper_tier_bytes) {
  FallbackDecision d{current, ""};
  const size_t smallest = num_tiers_ - 1;
  const PressureLevel level = s.pressure_level;
  const PressureLevel previous = last_level_;
  last_level_ = level;

  if (level == PressureLevel::kCritical && current < smallest) {
    relaxed_since_ = -1.0;
    last_down_ = now_s;
    return {smallest, "memory pressure signal 'critical'"};
  }
  if (level >= PressureLevel::kLow && previous < level && current < smallest) {
    relaxed_since_ = -1.0;
    last_down_ = now_s;
    return {current + 1, std::string("memory pressure signal '") + PressureLevelName(level) + "'"};
  }
  if (s.available_bytes >= 0 && s.available_bytes < config_.low_watermark_bytes) {
    relaxed_since_ = -1.0;
    if (current < smallest && now_s - last_down_ >= config_.down_interval_s) {
      last_down_ = now_s;
      return {current + 1, "available " + Mb(s.available_bytes) + " < low watermark " +
                               Mb(config_.low_watermark_bytes) + " (" + s.source + ")"};
    }
    return d;
  }
  // Moving up needs room for the bigger model on top of the high watermark,
  // or its load would push us straight back under the low one.
  const int64_t need = config_.high_watermark_bytes + (upper_tier_bytes > 0 ? upper_tier_bytes : 0);
  // With no memory source at all, only the host's signals drive: "none" is relief.
  const bool relaxed = level == PressureLevel::kNone && (s.available_bytes < 0 || s.available_bytes >= need);
  if (!relaxed || current == 0) {
    relaxed_since_ = -1.0;
    return d;
  }
  if (relaxed_since_ < 0) relaxed_since_ = now_s;
  if (now_s - relaxed_since_ >= config_.upgrade_after_s) {
    std::ostringstream os;
    if (s.available_bytes >= 0)
      os << "available " << Mb(s.available_bytes) << " >= " << Mb(need) << " for " << (now_s - relaxed_since_) << " s";
    else
      os << "no memory pressure for " << (now_s - relaxed_since_) << " s";
    relaxed_since_ = -1.0;
    return {current - 1, os.str()};
  }
  return d;
}

void FallbackPolicy::UpgradeFailed(double now_s) { relaxed_since_ = -1.0; }

void FallbackPolicy::Switched(double now_s) { relaxed_since_ = -1.0; }

}  // namespace echoic::asr
