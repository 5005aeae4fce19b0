// Endpointing: when has the speaker finished an utterance? Three rules, as in
// Kaldi / sherpa-onnx; any one firing ends the utterance.
#ifndef ECHOIC_ASR_ENDPOINT_H_
#define ECHOIC_ASR_ENDPOINT_H_

#include <cstdint>

namespace echoic::asr {

struct EndpointRule {
  bool enabled = true;
  bool must_contain_speech = false;  // only once something was decoded
  float min_trailing_silence_s = 0.f;
  float min_utterance_length_s = 0.f;
};

struct EndpointConfig {
  // Rule 1: 2.4 s of silence ends the utterance even if nothing was decoded.
  EndpointRule rule1{true, false, 2.4f, 0.f};
  // Rule 2: 1.2 s of silence after something was decoded.
  EndpointRule rule2{true, true, 1.2f, 0.f};
  // Rule 3: the utterance reached 20 s, whatever it holds.
  EndpointRule rule3{true, false, 0.f, 20.f};
  // kInvalidArgument: a negative or non-finite threshold, or an enabled rule
  // with both thresholds 0 (it would fire on every update).
  void Validate() const;
};

class EndpointDetector {
 public:
  explicit EndpointDetector(const EndpointConfig& config = {});

  // trailing_silence_s: trailing blank frames x frame shift from the decoder,
  // or the trailing non-speech time a VAD reports. utterance_length_s: time
  // since the utterance (segment) began. Returns true at an endpoint; the
  // rule that fired is then last_rule() (1..3; 0 when none). Negative or
  // non-finite inputs: kInvalidArgument.
  bool Update(bool decoded_something, float trailing_silence_s, float utterance_length_s);
  int last_rule() const { return last_rule_; }
  const EndpointConfig& config() const { return config_; }

  // Trailing silence from a decoder's trailing blank frame count.
  static float SilenceFromBlankFrames(int64_t trailing_blank_frames, float frame_shift_s);

 private:
  EndpointConfig config_;
  int last_rule_ = 0;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_ENDPOINT_H_
