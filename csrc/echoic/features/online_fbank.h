// Incremental Kaldi-compatible log-mel filterbank. Any chunking of the input
// yields frames bit-identical to one whole-utterance call: a frame is computed
// once, from absolute sample positions, as soon as all its samples are known.
#ifndef ECHOIC_FEATURES_ONLINE_FBANK_H_
#define ECHOIC_FEATURES_ONLINE_FBANK_H_

#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "echoic/features/fbank_options.h"
#include "echoic/features/mel_banks.h"
#include "echoic/features/rfft.h"

namespace echoic::features {

class OnlineFbank {
 public:
  explicit OnlineFbank(const FbankOptions& options);  // validates; kInvalidArgument

  // Samples are used at the scale given (int16 range for Kaldi/WeNet models).
  // Samples must be finite (validated where audio enters: audio/samples.h).
  // kState after InputFinished().
  void AcceptWaveform(const float* samples, size_t n);
  // No more audio: the edge frames (reflected past the end) become ready.
  void InputFinished();
  bool IsInputFinished() const { return finished_; }

  int32_t NumFramesReady() const { return static_cast<int32_t>(num_frames_); }
  int32_t Dim() const { return opts_.Dim(); }
  const FbankOptions& options() const { return opts_; }
  // Frames [start, start+n) row-major into out (n * Dim floats). Indices are absolute.
  void GetFrames(int32_t start, int32_t n, float* out) const;
  // Frees frames before `frame` (for long streams); later indices are unchanged.
  void DiscardFramesBefore(int32_t frame);
  int32_t FirstAvailableFrame() const { return static_cast<int32_t>(frames_offset_); }
  void Reset();
  // Samples held for frames not yet computed (bounded on long streams).
  size_t NumBufferedSamples() const { return wave_.size(); }
  size_t NumStoredFrames() const { return frames_.size(); }

 private:
  int64_t FirstSample(int64_t frame) const;
  int64_t TotalFrames(int64_t num_samples, bool finished) const;
  void ComputeReadyFrames();
  void ComputeFrame(int64_t frame, float* out);

  // Window, FFT and mel tables depend on the options only: built once per process for each set
  // of options and shared by every stream (a recognizer's streams all use the same).
  struct Tables {
    Tables(const FbankOptions& o, int32_t frame_length, int32_t padded);
    std::vector<float> window;
    RealFft fft;
    MelBanks mel;
  };
  static std::shared_ptr<const Tables> SharedTables(const FbankOptions& o, int32_t frame_length, int32_t padded);

  FbankOptions opts_;
  int32_t frame_length_, frame_shift_, padded_;
  std::shared_ptr<const Tables> tables_;
  double log_energy_floor_;

  std::vector<float> wave_;  // received samples from wave_offset_ on
  int64_t wave_offset_ = 0;  // absolute index of wave_[0]
  int64_t num_samples_ = 0;  // total received
  bool finished_ = false;
  std::deque<std::vector<float>> frames_;
  int64_t frames_offset_ = 0;  // absolute index of frames_.front()
  int64_t num_frames_ = 0;     // frames computed so far
  // Per-frame scratch is per thread (online_fbank.cc), not per stream.
};

struct FbankMatrix {
  int32_t num_frames = 0;
  int32_t dim = 0;
  std::vector<float> data;  // row-major num_frames x dim
};

// Whole-utterance helper: same frames as OnlineFbank fed everything at once.
FbankMatrix ComputeFbank(const FbankOptions& options, const float* samples, size_t n);

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_ONLINE_FBANK_H_
