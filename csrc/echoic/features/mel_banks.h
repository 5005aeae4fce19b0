// Triangular mel filters on the FFT grid, as Kaldi builds them (mel = 1127 ln(1 + f/700),
// bins 0 .. N/2-1; the Nyquist bin carries no weight).
#ifndef ECHOIC_FEATURES_MEL_BANKS_H_
#define ECHOIC_FEATURES_MEL_BANKS_H_

#include <cstdint>
#include <vector>

namespace echoic::features {

class MelBanks {
 public:
  MelBanks(int32_t num_bins, int32_t sample_rate, int32_t fft_size, double low_freq, double high_freq);
  int32_t num_bins() const { return static_cast<int32_t>(first_.size()); }
  // spectrum: fft_size/2 + 1 values; out: num_bins energies.
  void Apply(const float* spectrum, float* out) const;

 private:
  std::vector<int32_t> first_;               // first FFT bin with weight, per mel bin
  std::vector<std::vector<float>> weights_;  // contiguous weights from first_
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_MEL_BANKS_H_
