// Turns per-frame speech probabilities into speech segments with hysteresis.
// Shared by every detector (Silero, energy, host-supplied decisions).
//
// Rules (defaults follow the official Silero wrapper, which they were tuned for):
//  * a speech onset begins at a frame with prob >= threshold; it is confirmed once
//    it lasts min_speech_ms without a min_silence_ms run below neg_threshold
//    (onsets that die earlier are clicks and are dropped);
//  * in speech, a frame below neg_threshold = threshold - 0.15 starts a silence
//    run; a frame >= threshold cancels it; frames in between leave it running;
//    speech ends when the run reaches min_silence_ms;
//  * segments are widened by speech_pad_ms each side (never overlapping the
//    previous segment, never past the audio accepted so far).
#ifndef ECHOIC_VAD_SMOOTHER_H_
#define ECHOIC_VAD_SMOOTHER_H_

#include <utility>
#include <vector>

namespace echoic::vad {

struct SmoothingOptions {
  float threshold = 0.5f;       // speech probability that starts speech
  float neg_threshold = -1.0f;  // < 0: threshold - 0.15 (clamped at 0.01)
  int min_speech_ms = 250;      // shorter onsets are ignored
  int min_silence_ms = 100;     // silence that ends a segment (raise to ~500 to keep sentences whole)
  int speech_pad_ms = 30;       // added to both ends of every segment

  float EffectiveNegThreshold() const;
  void Validate(const char* who) const;  // kInvalidArgument on out-of-range values
};

class SpeechSmoother {
 public:
  explicit SpeechSmoother(const SmoothingOptions& opts = {});

  // One frame of `seconds` duration with speech probability `prob` in [0, 1].
  void Push(float prob, double seconds);
  void Flush();  // closes an open segment at the current time

  double now() const { return now_; }
  bool in_speech() const { return in_speech_; }
  float TrailingSilenceSeconds() const;
  bool SpeechSinceReset() const { return speech_since_reset_; }
  void ResetSegment() { speech_since_reset_ = in_speech_; }
  std::vector<std::pair<double, double>> TakeSegments();
  const SmoothingOptions& options() const { return opts_; }

 private:
  void CloseSegment(double raw_end);

  SmoothingOptions opts_;
  float neg_;
  double now_ = 0.0;
  bool in_speech_ = false;
  bool speech_since_reset_ = false;
  double onset_ = -1.0;           // start of an unconfirmed onset (<0: none)
  double silence_start_ = -1.0;   // start of the current low-prob run (<0: none)
  double seg_start_ = 0.0;        // padded start of the open segment
  double last_speech_end_ = 0.0;  // raw end of the last confirmed speech (0 if none)
  double last_seg_end_ = 0.0;     // padded end of the last closed segment
  std::vector<std::pair<double, double>> done_;
};

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_SMOOTHER_H_
