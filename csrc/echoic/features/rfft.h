// Real-input FFT for power-of-two sizes: one complex radix-2 FFT of size N/2
// plus the standard split step. Computed in double; tables built once. Forward is thread-safe.
#ifndef ECHOIC_FEATURES_RFFT_H_
#define ECHOIC_FEATURES_RFFT_H_

#include <complex>
#include <cstdint>
#include <vector>

namespace echoic::features {

class RealFft {
 public:
  explicit RealFft(int32_t n);  // n: power of two >= 2
  int32_t size() const { return n_; }
  // in: n real samples; out: n/2 + 1 complex bins (DC .. Nyquist).
  void Forward(const double* in, std::complex<double>* out) const;

 private:
  int32_t n_, half_;
  std::vector<int32_t> bitrev_;                // for the size-n/2 complex FFT
  std::vector<std::complex<double>> twiddle_;  // exp(-2 pi i k / (n/2)), k < n/4
  std::vector<std::complex<double>> split_;    // exp(-2 pi i k / n), k <= n/2
  // The working buffer is per thread (rfft.cc), so one RealFft may be shared by concurrent callers.
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_RFFT_H_
