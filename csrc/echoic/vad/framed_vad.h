// Base for detectors that score fixed-size frames: buffers any chunking into
// frames (so decisions are chunk-invariant), validates input, and feeds the
// per-frame probabilities to a SpeechSmoother.
#ifndef ECHOIC_VAD_FRAMED_VAD_H_
#define ECHOIC_VAD_FRAMED_VAD_H_

#include <string>
#include <vector>

#include "echoic/vad/smoother.h"
#include "echoic/vad/vad.h"

namespace echoic::vad {

class FramedVad : public VoiceActivityDetector {
 public:
  int32_t sample_rate() const override { return sample_rate_; }
  void Accept(const float* samples, size_t n) override;
  float TrailingSilenceSeconds() const override { return smoother_.TrailingSilenceSeconds(); }
  bool SpeechSinceReset() const override { return smoother_.SpeechSinceReset(); }
  void ResetSegment() override { smoother_.ResetSegment(); }
  void Flush() override { smoother_.Flush(); }
  std::vector<std::pair<double, double>> TakeSegments() override { return smoother_.TakeSegments(); }

  size_t frame_samples() const { return frame_; }
  const SmoothingOptions& smoothing() const { return smoother_.options(); }
  // Opt-in record of every frame's probability (for tests and plots).
  void set_record_probabilities(bool on) { record_ = on; }
  std::vector<float> TakeProbabilities();

 protected:
  FramedVad(std::string name, int32_t sample_rate, size_t frame_samples, const SmoothingOptions& smoothing);
  // Speech probability in [0, 1] of the next frame of frame_samples() samples.
  virtual float ScoreFrame(const float* frame) = 0;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int32_t sample_rate_;
  size_t frame_;
  SpeechSmoother smoother_;
  std::vector<float> pending_;
  bool record_ = false;
  std::vector<float> probs_;
};

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_FRAMED_VAD_H_
