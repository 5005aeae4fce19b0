#include "echoic/features/fbank_options.h"

#include <cmath>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::features {

int32_t FbankOptions::FrameLengthSamples() const { return static_cast<int32_t>(sample_rate * 0.001 * frame_length_ms); }
int32_t FbankOptions::FrameShiftSamples() const { return static_cast<int32_t>(sample_rate * 0.001 * frame_shift_ms); }
int32_t FbankOptions::PaddedWindowSize() const {
  int32_t len = FrameLengthSamples();
  if (!round_to_power_of_two) return len;
  int32_t n = 1;
  while (n < len) n <<= 1;
  return n;
}
float FbankOptions::EffectiveHighFreq() const {
  float nyquist = 0.5f * static_cast<float>(sample_rate);
  return high_freq > 0 ? high_freq : nyquist + high_freq;
}

void FbankOptions::Validate() const {
  constexpr auto kBad = ErrorCode::kInvalidArgument;
  ECHOIC_CHECK(sample_rate >= 1000 && sample_rate <= 192000, kBad,
               "FbankOptions.sample_rate must be in 1000..192000 Hz, got ", sample_rate);
  ECHOIC_CHECK(num_bins >= 3 && num_bins <= 1024, kBad, "FbankOptions.num_bins must be in 3..1024, got ", num_bins);
  ECHOIC_CHECK(std::isfinite(frame_length_ms) && frame_length_ms > 0, kBad,
               "FbankOptions.frame_length_ms must be > 0, got ", frame_length_ms);
  ECHOIC_CHECK(std::isfinite(frame_shift_ms) && frame_shift_ms > 0, kBad,
               "FbankOptions.frame_shift_ms must be > 0, got ", frame_shift_ms);
  ECHOIC_CHECK(FrameLengthSamples() >= 2, kBad, "FbankOptions: frame_length_ms=", frame_length_ms,
               " gives fewer than 2 samples at ", sample_rate, " Hz");
  ECHOIC_CHECK(FrameShiftSamples() >= 1, kBad, "FbankOptions: frame_shift_ms=", frame_shift_ms, " gives no samples at ",
               sample_rate, " Hz");
  ECHOIC_CHECK(FrameLengthSamples() <= 65536, kBad, "FbankOptions.frame_length_ms=", frame_length_ms, " is too long (",
               FrameLengthSamples(), " samples > 65536)");
  ECHOIC_CHECK(std::isfinite(preemph_coeff) && preemph_coeff >= 0 && preemph_coeff <= 1, kBad,
               "FbankOptions.preemph_coeff must be in [0, 1], got ", preemph_coeff);
  ECHOIC_CHECK(
      window_type == "povey" || window_type == "hamming" || window_type == "hanning" || window_type == "rectangular",
      kBad, "FbankOptions.window_type '", window_type, "' is unknown (use povey, hamming, hanning or rectangular)");
  ECHOIC_CHECK(std::isfinite(dither) && dither >= 0, kBad, "FbankOptions.dither must be >= 0, got ", dither);
  float nyquist = 0.5f * static_cast<float>(sample_rate);
  float high = EffectiveHighFreq();
  ECHOIC_CHECK(std::isfinite(low_freq) && low_freq >= 0 && low_freq < nyquist, kBad,
               "FbankOptions.low_freq must be in [0, Nyquist=", nyquist, "), got ", low_freq);
  ECHOIC_CHECK(std::isfinite(high_freq) && high > low_freq && high <= nyquist, kBad,
               "FbankOptions.high_freq=", high_freq, " resolves to ", high,
               " Hz, which must be in (low_freq=", low_freq, ", Nyquist=", nyquist, "]");
  ECHOIC_CHECK(std::isfinite(energy_floor) && energy_floor >= 0, kBad, "FbankOptions.energy_floor must be >= 0, got ",
               energy_floor);
  int32_t padded = PaddedWindowSize();
  ECHOIC_CHECK((padded & (padded - 1)) == 0, ErrorCode::kUnsupported,
               "FbankOptions: round_to_power_of_two=false needs a power-of-two frame length (got ",
               FrameLengthSamples(), " samples); echoic's FFT handles powers of two only");
  // Every mel bin must cover at least one FFT bin or its log would be -inf-ish garbage.
  double mel_range = 1127.0 * (std::log1p(high / 700.0) - std::log1p(low_freq / 700.0));
  double bin_width_hz = static_cast<double>(sample_rate) / padded;
  ECHOIC_CHECK(mel_range / (num_bins + 1) > 0 && bin_width_hz < (high - low_freq), kBad,
               "FbankOptions: num_bins=", num_bins, " is too many for the frequency range");
}

std::string FbankOptions::ToString() const {
  std::ostringstream os;
  os << "FbankOptions(sample_rate=" << sample_rate << ", num_bins=" << num_bins
     << ", frame_length_ms=" << frame_length_ms << ", frame_shift_ms=" << frame_shift_ms
     << ", preemph_coeff=" << preemph_coeff << ", remove_dc_offset=" << (remove_dc_offset ? "True" : "False")
     << ", window_type='" << window_type << "', snip_edges=" << (snip_edges ? "True" : "False") << ", dither=" << dither
     << ", dither_seed=" << dither_seed << ", low_freq=" << low_freq << ", high_freq=" << high_freq
     << ", use_energy=" << (use_energy ? "True" : "False") << ", energy_floor=" << energy_floor
     << ", raw_energy=" << (raw_energy ? "True" : "False") << ", use_log_fbank=" << (use_log_fbank ? "True" : "False")
     << ", use_power=" << (use_power ? "True" : "False")
     << ", round_to_power_of_two=" << (round_to_power_of_two ? "True" : "False") << ")";
  return os.str();
}

}  // namespace echoic::features
