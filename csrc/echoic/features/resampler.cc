#include "echoic/features/resampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "echoic/audio/samples.h"
#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kKaiserBeta = 8.6;      // ~ 85 dB sidelobes
constexpr double kNumZeros = 24.0;       // sinc zero crossings each side
constexpr double kCutoffFraction = 0.9;  // passband edge / lower Nyquist
constexpr int64_t kMaxTableFloats = 1 << 21;

double BesselI0(double x) {
  double sum = 1.0, term = 1.0, q = x * x / 4.0;
  for (int k = 1; k < 64; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// Floor division for possibly negative numerators.
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

Resampler::Resampler(int32_t in_rate, int32_t out_rate) : in_rate_(in_rate), out_rate_(out_rate) {
  audio::ValidateSampleRate(in_rate, "Resampler input rate");
  audio::ValidateSampleRate(out_rate, "Resampler output rate");
  int64_t g = std::gcd<int64_t>(in_rate, out_rate);
  up_ = out_rate / g;
  down_ = in_rate / g;
  // Cut below the lower of the two Nyquist frequencies (in cycles per input sample).
  cutoff_ = kCutoffFraction * 0.5 * std::min(1.0, static_cast<double>(up_) / down_);
  half_width_ = kNumZeros / (2.0 * cutoff_);
  taps_ = static_cast<int32_t>(2 * std::ceil(half_width_) + 2);
  scratch_.resize(taps_);
  if (static_cast<int64_t>(taps_) * up_ <= kMaxTableFloats) {
    std::vector<float> table(static_cast<size_t>(taps_) * up_);
    for (int64_t p = 0; p < up_; ++p) {
      const float* w = Weights(p);
      std::copy(w, w + taps_, table.begin() + p * taps_);
    }
    table_ = std::move(table);
    cached_ = true;
  }
}

int64_t Resampler::FirstInput(int64_t k) const {
  // Output k is at input time t = k*M/L; its taps start at floor(t) - taps/2 + 1.
  return FloorDiv(k * down_, up_) - taps_ / 2 + 1;
}

const float* Resampler::Weights(int64_t phase) const {
  if (cached_) return table_.data() + phase * taps_;
  // phase = k mod L; fractional input time within a sample is (phase*M mod L)/L.
  const double frac = static_cast<double>((phase * down_) % up_) / up_;
  double sum = 0.0;
  std::vector<double> w(taps_);
  for (int32_t i = 0; i < taps_; ++i) {
    double dt = (i - taps_ / 2 + 1) - frac;  // input index minus output time
    double x = dt / half_width_;
    double win = std::fabs(x) >= 1.0 ? 0.0 : BesselI0(kKaiserBeta * std::sqrt(1.0 - x * x)) / BesselI0(kKaiserBeta);
    double arg = 2.0 * cutoff_ * dt;
    double sinc = std::fabs(arg) < 1e-12 ? 1.0 : std::sin(kPi * arg) / (kPi * arg);
    w[i] = 2.0 * cutoff_ * sinc * win;
    sum += w[i];
  }
  // Unity gain at DC for every phase (otherwise a constant input would ripple).
  for (int32_t i = 0; i < taps_; ++i) scratch_[i] = static_cast<float>(w[i] / sum);
  return scratch_.data();
}

void Resampler::Emit(int64_t upto, std::vector<float>& out) {
  for (int64_t k = num_out_; k < upto; ++k) {
    const float* w = Weights(k % up_);
    int64_t first = FirstInput(k);
    double acc = 0.0;
    for (int32_t i = 0; i < taps_; ++i) {
      int64_t j = first + i;
      if (j < 0 || j >= num_in_) continue;  // zeros outside the signal
      acc += static_cast<double>(w[i]) * buf_[static_cast<size_t>(j - buf_offset_)];
    }
    out.push_back(static_cast<float>(acc));
  }
  if (upto > num_out_) num_out_ = upto;
  int64_t keep_from = std::max<int64_t>(0, FirstInput(num_out_));
  if (keep_from - buf_offset_ > static_cast<int64_t>(buf_.size()) / 2) {
    int64_t drop = std::min<int64_t>(keep_from - buf_offset_, static_cast<int64_t>(buf_.size()));
    buf_.erase(buf_.begin(), buf_.begin() + drop);
    buf_offset_ += drop;
  }
}

std::vector<float> Resampler::Process(const float* in, size_t n) {
  ECHOIC_CHECK(!flushed_, ErrorCode::kState, "Resampler(", in_rate_, "->", out_rate_,
               ").Process: called after Flush(); call Reset() to start a new stream");
  std::vector<float> out;
  if (n == 0) return out;
  buf_.insert(buf_.end(), in, in + n);
  num_in_ += static_cast<int64_t>(n);
  // Output k is ready once its last tap FirstInput(k) + taps - 1 < num_in_, i.e.
  // floor(k*M/L) < limit, i.e. k < ceil(limit*L/M).
  int64_t limit = num_in_ - taps_ + taps_ / 2;
  int64_t ready = num_out_;
  if (limit > 0) ready = std::max(ready, (limit * up_ + down_ - 1) / down_);
  std::vector<float> result;
  result.reserve(static_cast<size_t>(std::max<int64_t>(0, ready - num_out_)));
  Emit(ready, result);
  return result;
}

std::vector<float> Resampler::Flush() {
  ECHOIC_CHECK(!flushed_, ErrorCode::kState, "Resampler(", in_rate_, "->", out_rate_,
               ").Flush: already flushed; call Reset() to start a new stream");
  flushed_ = true;
  // Outputs whose time k*M/L lies before the end of the input.
  int64_t total = (num_in_ * up_ + down_ - 1) / down_;
  std::vector<float> result;
  Emit(total, result);
  return result;
}

void Resampler::Reset() {
  buf_.clear();
  buf_offset_ = 0;
  num_in_ = 0;
  num_out_ = 0;
  flushed_ = false;
}

}  // namespace echoic::features
