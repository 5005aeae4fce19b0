// Options of the Kaldi-compatible log-mel filterbank (same names and defaults
// as Kaldi's FbankOptions, flattened).
#ifndef ECHOIC_FEATURES_FBANK_OPTIONS_H_
#define ECHOIC_FEATURES_FBANK_OPTIONS_H_

#include <cstdint>
#include <string>

namespace echoic::features {

struct FbankOptions {
  int sample_rate = 16000;
  int num_bins = 80;
  float frame_length_ms = 25;
  float frame_shift_ms = 10;
  float preemph_coeff = 0.97f;
  bool remove_dc_offset = true;
  std::string window_type = "povey";  // also hamming, hanning, rectangular
  bool snip_edges = false;
  float dither = 0;
  uint32_t dither_seed = 0;
  float low_freq = 20;
  float high_freq = 0;  // <= 0: offset from Nyquist, as Kaldi
  bool use_energy = false;
  float energy_floor = 0;
  bool raw_energy = true;
  bool use_log_fbank = true;
  bool use_power = true;
  bool round_to_power_of_two = true;

  // Throws kInvalidArgument (or kUnsupported) with a message naming the field.
  void Validate() const;

  int32_t FrameLengthSamples() const;  // Kaldi truncates: 25 ms @ 16 kHz = 400
  int32_t FrameShiftSamples() const;
  int32_t PaddedWindowSize() const;  // FFT size
  float EffectiveHighFreq() const;   // high_freq resolved against Nyquist
  int32_t Dim() const { return num_bins + (use_energy ? 1 : 0); }
  std::string ToString() const;
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_FBANK_OPTIONS_H_
