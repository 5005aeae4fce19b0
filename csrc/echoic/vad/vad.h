// The voice activity detector interface. The streaming recognizer gates its
// endpointing with one of these; each stream owns its own detector (Clone()).
#ifndef ECHOIC_VAD_VAD_H_
#define ECHOIC_VAD_VAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace echoic::vad {

class VoiceActivityDetector {
 public:
  virtual ~VoiceActivityDetector() = default;
  // Sample rate the detector expects (Hz).
  virtual int32_t sample_rate() const = 0;
  // Samples in [-1, 1] at sample_rate(); any chunking gives the same decisions.
  // The caller validates them (audio::ValidateSamples with audio::kMaxAbsSample).
  virtual void Accept(const float* samples, size_t n) = 0;
  // Non-speech time at the end of what was accepted (seconds). During a not yet
  // confirmed speech onset (shorter than min_speech_ms) this keeps growing.
  virtual float TrailingSilenceSeconds() const = 0;
  // Whether any speech was confirmed since the last ResetSegment().
  virtual bool SpeechSinceReset() const = 0;
  // New utterance: forget SpeechSinceReset (model state and segments are kept).
  // Speech still in progress counts for the new utterance.
  virtual void ResetSegment() = 0;
  // End of input: closes an open speech segment at the current time.
  virtual void Flush() = 0;
  // Finished speech segments (start, end) in seconds since creation; cleared on return.
  virtual std::vector<std::pair<double, double>> TakeSegments() = 0;
  // A detector with fresh state sharing this one's model and options (for a new stream).
  virtual std::unique_ptr<VoiceActivityDetector> Clone() const = 0;
};

// kInvalidArgument unless `rate` equals the detector's rate; `what` names the input.
void CheckSampleRate(const VoiceActivityDetector& vad, int64_t rate, const char* what);

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_VAD_H_
