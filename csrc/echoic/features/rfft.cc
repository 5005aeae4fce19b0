#include "echoic/features/rfft.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::features {

RealFft::RealFft(int32_t n) : n_(n), half_(n / 2) {
  ECHOIC_CHECK(n >= 2 && (n & (n - 1)) == 0, ErrorCode::kInvalidArgument, "RealFft: size ", n,
               " is not a power of two >= 2");
  const double pi = 3.14159265358979323846;
  bitrev_.resize(half_);
  int bits = 0;
  while ((1 << bits) < half_) ++bits;
  for (int32_t i = 0; i < half_; ++i) {
    int32_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitrev_[i] = r;
  }
  twiddle_.resize(std::max(1, half_ / 2));
  for (size_t k = 0; k < twiddle_.size(); ++k)
    twiddle_[k] = std::polar(1.0, -2.0 * pi * static_cast<double>(k) / half_);
  split_.resize(half_ + 1);
  for (int32_t k = 0; k <= half_; ++k) split_[k] = std::polar(1.0, -2.0 * pi * k / n_);
}

void RealFft::Forward(const double* in, std::complex<double>* out) const {
  // Pack even/odd samples as one complex sequence of length n/2.
  thread_local std::vector<std::complex<double>> work;
  if (work.size() < static_cast<size_t>(half_)) work.resize(half_);
  std::complex<double>* z = work.data();
  for (int32_t i = 0; i < half_; ++i) z[bitrev_[i]] = {in[2 * i], in[2 * i + 1]};
  // Iterative radix-2 decimation in time.
  for (int32_t len = 2; len <= half_; len <<= 1) {
    int32_t step = half_ / len;
    for (int32_t start = 0; start < half_; start += len) {
      for (int32_t j = 0; j < len / 2; ++j) {
        std::complex<double> t = twiddle_[j * step] * z[start + j + len / 2];
        std::complex<double> u = z[start + j];
        z[start + j] = u + t;
        z[start + j + len / 2] = u - t;
      }
    }
  }
  // Split: X[k] = E[k] + W^k O[k], with E/O recovered from Z[k] and conj(Z[n/2-k]).
  for (int32_t k = 0; k <= half_; ++k) {
    std::complex<double> a = z[k == half_ ? 0 : k];
    std::complex<double> b = std::conj(z[k == 0 ? 0 : half_ - k]);
    std::complex<double> even = 0.5 * (a + b);
    std::complex<double> odd = std::complex<double>(0, -0.5) * (a - b);
    out[k] = even + split_[k] * odd;
  }
}

}  // namespace echoic::features
