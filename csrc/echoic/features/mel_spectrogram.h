// librosa-style log-mel spectrogram (librosa.feature.melspectrogram + log):
// periodic analysis window centred in an n_fft frame, no pre-emphasis or DC
// removal, Slaney (or HTK) mel scale with optional Slaney area normalisation.
// Models trained on librosa/torchaudio features (many speaker encoders) need
// this instead of the Kaldi fbank in online_fbank.h.
#ifndef ECHOIC_FEATURES_MEL_SPECTROGRAM_H_
#define ECHOIC_FEATURES_MEL_SPECTROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "echoic/features/online_fbank.h"
#include "echoic/features/rfft.h"

namespace echoic::features {

struct MelSpectrogramOptions {
  int sample_rate = 16000;
  int n_fft = 512;       // power of two
  int win_length = 400;  // <= n_fft; the window is zero-padded to n_fft, centred
  int hop_length = 160;
  int n_mels = 40;
  float fmin = 0;
  float fmax = 0;                    // <= 0: Nyquist
  std::string window = "hamming";    // hamming | hann (periodic, as scipy fftbins=True)
  std::string mel_scale = "slaney";  // slaney | htk
  bool slaney_norm = true;           // divide each filter by its bandwidth (librosa norm='slaney')
  float power = 2.0f;                // 1 = magnitude, 2 = power
  std::string log = "log10";         // log10 | ln | none
  float log_floor = 1e-10f;          // added before the log
  bool center = false;               // reflect-pad n_fft/2 each side (librosa center=True)

  void Validate() const;  // kInvalidArgument naming the field
  std::string ToString() const;
};

class MelSpectrogram {
 public:
  explicit MelSpectrogram(const MelSpectrogramOptions& opts);
  const MelSpectrogramOptions& options() const { return opts_; }
  int32_t NumFrames(size_t num_samples) const;
  // Frames x n_mels, row-major. Clips shorter than one frame are zero-padded to one.
  // Thread-safe (the FFT is per call: RealFft keeps scratch state).
  FbankMatrix Compute(const float* samples, size_t n) const;
  // (n_fft/2+1) x n_mels weights, for tests and reference comparisons.
  const std::vector<float>& filters() const { return filters_; }

 private:
  MelSpectrogramOptions opts_;
  std::vector<double> window_;         // n_fft long, zero outside the centred win_length
  std::vector<float> filters_;         // n_mels rows of (n_fft/2+1)
  std::vector<int32_t> first_, last_;  // non-zero range per filter
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_MEL_SPECTROGRAM_H_
