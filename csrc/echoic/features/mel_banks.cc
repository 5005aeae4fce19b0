#include "echoic/features/mel_banks.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {
// Single precision on purpose: Kaldi builds the banks in float, and a bin's
// edge weights (near zero) multiply large neighbouring powers, so rounding the
// same way matters for low-energy bins.
float Mel(float hz) { return 1127.0f * std::log(1.0f + hz / 700.0f); }
}  // namespace

MelBanks::MelBanks(int32_t num_bins, int32_t sample_rate, int32_t fft_size, double low_freq, double high_freq) {
  const int32_t num_fft_bins = fft_size / 2;
  const float bin_hz = static_cast<float>(sample_rate) / static_cast<float>(fft_size);
  const float mel_low = Mel(static_cast<float>(low_freq)), mel_high = Mel(static_cast<float>(high_freq));
  const float delta = (mel_high - mel_low) / static_cast<float>(num_bins + 1);
  first_.resize(num_bins);
  weights_.resize(num_bins);
  for (int32_t b = 0; b < num_bins; ++b) {
    const float left = mel_low + b * delta, center = mel_low + (b + 1) * delta, right = mel_low + (b + 2) * delta;
    int32_t first = -1;
    std::vector<float> w;
    for (int32_t i = 0; i < num_fft_bins; ++i) {
      float mel = Mel(bin_hz * i);
      if (mel > left && mel < right) {
        float weight = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
        if (first < 0) first = i;
        w.resize(i - first + 1, 0.0f);
        w[i - first] = weight;
      }
    }
    ECHOIC_CHECK(first >= 0, ErrorCode::kInvalidArgument, "mel bin ", b, " of ", num_bins,
                 " covers no FFT bin (FFT size ", fft_size, "); use fewer bins or a wider frequency range");
    first_[b] = first;
    weights_[b] = std::move(w);
  }
}

void MelBanks::Apply(const float* spectrum, float* out) const {
  for (size_t b = 0; b < first_.size(); ++b) {
    const float* s = spectrum + first_[b];
    const std::vector<float>& w = weights_[b];
    float sum = 0.0f;
    for (size_t i = 0; i < w.size(); ++i) sum += w[i] * s[i];
    out[b] = sum;
  }
}

}  // namespace echoic::features
