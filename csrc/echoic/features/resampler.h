// Streaming sample-rate converter: polyphase windowed sinc (Kaiser window).
// The rate pair is reduced by gcd to up/down factors L/M; output sample k sits
// at input time k*M/L and is a fixed weighted sum of input samples, so any
// chunking gives bit-identical output. Inputs before the start and after
// Flush() count as zeros.
#ifndef ECHOIC_FEATURES_RESAMPLER_H_
#define ECHOIC_FEATURES_RESAMPLER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace echoic::features {

class Resampler {
 public:
  // Rates in 8000..192000 Hz (kInvalidArgument otherwise).
  Resampler(int32_t in_rate, int32_t out_rate);

  // Returns every output sample whose inputs have all arrived. Samples must be
  // finite (validated where audio enters: audio/samples.h); kState after Flush() until Reset().
  std::vector<float> Process(const float* in, size_t n);
  // End of input: emits the remaining ceil(total_in * out/in) - emitted samples.
  std::vector<float> Flush();
  void Reset();

  int32_t in_rate() const { return in_rate_; }
  int32_t out_rate() const { return out_rate_; }
  int32_t taps() const { return taps_; }
  size_t NumBufferedSamples() const { return buf_.size(); }  // bounded by ~2 x taps + chunk
  // Group delay is zero: output k is centred on input time k * in/out.

 private:
  const float* Weights(int64_t phase) const;  // taps_ weights of one phase
  int64_t FirstInput(int64_t k) const;        // first input index of output k
  void Emit(int64_t upto_exclusive, std::vector<float>& out);

  int32_t in_rate_, out_rate_;
  int64_t up_, down_;  // L, M
  double cutoff_;      // cycles per input sample
  double half_width_;  // half filter length, in input samples
  int32_t taps_;
  bool cached_ = false;  // all phases precomputed (small L)
  std::vector<float> table_;
  std::vector<int64_t> phase_first_;  // FirstInput offset per phase when cached
  mutable std::vector<float> scratch_;

  std::vector<float> buf_;  // inputs from buf_offset_ on
  int64_t buf_offset_ = 0;
  int64_t num_in_ = 0;
  int64_t num_out_ = 0;
  bool flushed_ = false;
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_RESAMPLER_H_
