#include "echoic/vad/energy_vad.h"

#include <algorithm>
#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::vad {

namespace {
size_t FrameSamples(const EnergyVadOptions& o) {
  ECHOIC_CHECK(o.sample_rate >= 8000 && o.sample_rate <= 192000, ErrorCode::kInvalidArgument,
               "EnergyVad: sample rate must be in [8000, 192000], got ", o.sample_rate);
  ECHOIC_CHECK(o.frame_ms >= 5 && o.frame_ms <= 100, ErrorCode::kInvalidArgument,
               "EnergyVad: frame_ms must be in [5, 100], got ", o.frame_ms);
  ECHOIC_CHECK(o.snr_slope_db > 0.0f && o.floor_rise_db_per_s >= 0.0f, ErrorCode::kInvalidArgument,
               "EnergyVad: snr_slope_db must be > 0 and floor_rise_db_per_s >= 0");
  return static_cast<size_t>(o.sample_rate) * o.frame_ms / 1000;
}
}  // namespace

EnergyVad::EnergyVad(const EnergyVadOptions& opts)
    : FramedVad("EnergyVad", opts.sample_rate, FrameSamples(opts), opts.smoothing), opts_(opts) {}

std::unique_ptr<VoiceActivityDetector> EnergyVad::Clone() const { return std::make_unique<EnergyVad>(opts_); }

float EnergyVad::ScoreFrame(const float* frame) {
  const size_t n = frame_samples();
  double sum = 0.0, mean = 0.0;
  for (size_t i = 0; i < n; ++i) mean += frame[i];
  mean /= n;  // remove DC so an offset is not "speech"
  for (size_t i = 0; i < n; ++i) sum += (frame[i] - mean) * (frame[i] - mean);
  const float level = static_cast<float>(10.0 * std::log10(sum / n + 1e-12));
  const float clamped = std::max(level, opts_.min_floor_db);
  if (!have_floor_) {
    floor_db_ = clamped;
    have_floor_ = true;
  } else if (clamped < floor_db_) {
    floor_db_ = clamped;
  } else {
    floor_db_ = std::min(clamped, floor_db_ + opts_.floor_rise_db_per_s * opts_.frame_ms / 1000.0f);
  }
  if (level < opts_.min_level_db) return 0.0f;
  const float snr = level - floor_db_;
  return 1.0f / (1.0f + std::exp(-(snr - opts_.snr_db) / opts_.snr_slope_db));
}

}  // namespace echoic::vad
