// OpenAI Whisper's log-mel front-end (whisper.audio.log_mel_spectrogram), reproduced
// exactly: 16 kHz, 400-point periodic Hann STFT (center, reflect), hop 160, last frame
// dropped, Slaney mel filters (librosa defaults), log10, max-8 clamp, (x+4)/4.
#ifndef ECHOIC_FEATURES_WHISPER_LOG_MEL_H_
#define ECHOIC_FEATURES_WHISPER_LOG_MEL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace echoic::features {

class WhisperLogMel {
 public:
  static constexpr int32_t kSampleRate = 16000, kNfft = 400, kHop = 160;
  static constexpr int32_t kChunkFrames = 3000;  // one 30 s window

  explicit WhisperLogMel(int32_t n_mels = 80);  // kInvalidArgument unless 80 or 128
  int32_t n_mels() const { return n_mels_; }

  // samples: 16 kHz mono in [-1, 1]. They are zero-padded (or truncated) to
  // num_frames * 160 samples first, as Whisper pads each window to 30 s; the max-8
  // clamp is taken over this output. out: n_mels x num_frames, row-major (mel-major).
  // Thread-safe (const, no shared scratch). kInvalidArgument on NaN/Inf samples.
  void Compute(const float* samples, size_t n, int32_t num_frames, float* out) const;
  std::vector<float> Compute(const float* samples, size_t n, int32_t num_frames = kChunkFrames) const;

  // The mel filter bank as a dense n_mels x 201 matrix (float32, like librosa's).
  std::vector<float> DenseFilters() const;

 private:
  struct Band {
    int32_t first_bin;
    std::vector<float> weights;
  };
  int32_t n_mels_;
  std::vector<double> window_;         // periodic Hann, 400
  std::vector<double> fft_twiddle_;    // exp(-2 pi i k / 200), interleaved re/im, k < 200
  std::vector<double> split_twiddle_;  // exp(-2 pi i k / 400), interleaved, k <= 200
  std::vector<int32_t> perm_;          // digit-reversed input order of the FFT
  std::vector<Band> bands_;
};

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_WHISPER_LOG_MEL_H_
