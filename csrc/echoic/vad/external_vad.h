// Decisions supplied by the host application, smoothed like every other VAD.
// The Python layer plugs the `webrtcvad` package in this way: it runs webrtcvad
// on 10/20/30 ms frames and Reports each decision. Time advances only through
// Report(); Accept() ignores the audio (it was validated where it entered the core).
#ifndef ECHOIC_VAD_EXTERNAL_VAD_H_
#define ECHOIC_VAD_EXTERNAL_VAD_H_

#include <memory>

#include "echoic/vad/smoother.h"
#include "echoic/vad/vad.h"

namespace echoic::vad {

struct ExternalVadOptions {
  int32_t sample_rate = 16000;
  SmoothingOptions smoothing;  // decisions arrive as probability 1 (speech) or 0
};

class ExternalVad : public VoiceActivityDetector {
 public:
  explicit ExternalVad(const ExternalVadOptions& opts = {});

  // `seconds` of audio (> 0, <= 10) that the host judged speech or not.
  void Report(bool is_speech, double seconds);

  int32_t sample_rate() const override { return opts_.sample_rate; }
  void Accept(const float* samples, size_t n) override;
  float TrailingSilenceSeconds() const override { return smoother_.TrailingSilenceSeconds(); }
  bool SpeechSinceReset() const override { return smoother_.SpeechSinceReset(); }
  void ResetSegment() override { smoother_.ResetSegment(); }
  void Flush() override { smoother_.Flush(); }
  std::vector<std::pair<double, double>> TakeSegments() override { return smoother_.TakeSegments(); }
  std::unique_ptr<VoiceActivityDetector> Clone() const override;

 private:
  ExternalVadOptions opts_;
  SpeechSmoother smoother_;
};

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_EXTERNAL_VAD_H_
