#include "echoic/features/mel_banks.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {
double Mel(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }
}  // namespace

MelBanks::MelBanks(int32_t num_bins, int32_t sample_rate, int32_t fft_size, double low_freq, double high_freq) {
  const int32_t num_fft_bins = fft_size / 2;
  const double bin_hz = static_cast<double>(sample_rate) / fft_size;
  const double mel_low = Mel(low_freq), mel_high = Mel(high_freq);
  const double delta = (mel_high - mel_low) / (num_bins + 1);
  first_.resize(num_bins);
  weights_.resize(num_bins);
  for (int32_t b = 0; b < num_bins; ++b) {
    double left = mel_low + b * delta, center = left + delta, right = center + delta;
    int32_t first = -1;
    std::vector<double> w;
    for (int32_t i = 0; i < num_fft_bins; ++i) {
      double mel = Mel(bin_hz * i);
      if (mel > left && mel < right) {
        double weight = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
        if (first < 0) first = i;
        w.resize(i - first + 1, 0.0);
        w[i - first] = weight;
      }
    }
    ECHOIC_CHECK(first >= 0, ErrorCode::kInvalidArgument, "mel bin ", b, " of ", num_bins,
                 " covers no FFT bin (FFT size ", fft_size, "); use fewer bins or a wider frequency range");
    first_[b] = first;
    weights_[b] = std::move(w);
  }
}

void MelBanks::Apply(const double* spectrum, double* out) const {
  for (size_t b = 0; b < first_.size(); ++b) {
    const double* s = spectrum + first_[b];
    const std::vector<double>& w = weights_[b];
    double sum = 0.0;
    for (size_t i = 0; i < w.size(); ++i) sum += w[i] * s[i];
    out[b] = sum;
  }
}

}  // namespace echoic::features
