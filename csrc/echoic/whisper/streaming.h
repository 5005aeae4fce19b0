// Streaming recognition with a Whisper model. Audio is consumed in 100 ms hops;
// a voice activity detector closes a window at a pause (or when it reaches the
// maximum length), and each closed window is decoded once, conditioned on the
// stream's earlier text. Partials re-decode the open window on demand, with the
// words already confirmed forced as the decoder's prefix; a word is confirmed
// when two successive partials agree on it (and on the word after it), so a
// confirmed word is never taken back. Windows in which the VAD heard no speech
// are never decoded, and a window the model itself judges speechless
// (no-speech probability with a low log-prob) yields nothing.
#ifndef ECHOIC_WHISPER_STREAMING_H_
#define ECHOIC_WHISPER_STREAMING_H_

#include <deque>
#include <memory>
#include <vector>

#include "echoic/asr/result.h"
#include "echoic/features/whisper_log_mel.h"
#include "echoic/vad/vad.h"
#include "echoic/whisper/decoding.h"
#include "echoic/whisper/whisper_model.h"

namespace echoic::whisper {

struct StreamingOptions {
  DecodingOptions decoding;
  float endpoint_silence_s = 1.2f;  // a pause this long after speech closes the window
  float max_window_s = 20.f;        // windows are cut (at a word boundary) at this length; <= 29 s
  float partial_step_s = 0.5f;      // a partial re-decodes only after this much new audio
  float lead_in_s = 0.3f;           // audio kept before detected speech / after its end
  float min_window_s = 0.5f;        // shorter windows (e.g. the tail after a cut) yield no text
  bool condition_on_previous_text = true;
};

// One stream's state (owned by asr::Stream).
class StreamingState {
 public:
  size_t Bytes() const { return audio_.capacity() * sizeof(float); }

 private:
  friend class StreamingDecoder;
  std::vector<float> audio_;  // 16 kHz samples from window_start_ on
  int64_t window_start_ = 0;  // absolute sample index of audio_[0]
  int64_t consumed_ = 0;      // absolute samples already judged by the VAD
  int64_t received_ = 0;      // absolute samples given
  bool finished_ = false;
  bool drained_ = false;  // input finished and every window closed
  std::unique_ptr<vad::VoiceActivityDetector> vad_;
  std::vector<DecodingOptions::Hotword> hotword_tokens_;  // each phrase as decoded (" word", " Word")
  std::vector<int32_t> context_;                          // text tokens of earlier windows
  std::vector<int32_t> confirmed_;                        // tokens of the open window shown as stable
  std::vector<int32_t> last_tail_;                        // the last partial's tokens after confirmed_
  int64_t last_partial_at_ = -1;                          // consumed_ at the last partial decode
  asr::Result partial_;
  int32_t segment_ = 0;
  std::deque<asr::Result> finals_;
};

class StreamingDecoder {
 public:
  StreamingDecoder(std::shared_ptr<const WhisperModel> model, const StreamingOptions& options);

  const WhisperModel& model() const { return *model_; }
  const StreamingOptions& options() const { return options_; }

  // `vad` judges speech (one per stream); hotwords bias decoding towards their
  // tokens (not a prompt: a prompt restyles text that holds no hotword).
  std::unique_ptr<StreamingState> NewState(std::unique_ptr<vad::VoiceActivityDetector> vad,
                                           const std::vector<std::pair<std::string, float>>& hotwords) const;
  // 16 kHz samples in [-1, 1].
  void Accept(StreamingState* s, const float* samples, size_t n) const;
  void InputFinished(StreamingState* s) const;
  bool IsReady(const StreamingState& s) const;
  // Consumes all ready audio of each stream; windows that close are decoded
  // (their encoder runs batched across streams) and queued as finals.
  void Decode(const std::vector<StreamingState*>& states) const;
  // Re-decodes the open window when enough new audio arrived; confirmed words first.
  asr::Result Partial(StreamingState* s) const;
  std::vector<asr::Result> TakeFinals(StreamingState* s) const;

 private:
  struct Closing {
    StreamingState* state;
    int64_t end;  // absolute sample where the window closes
    bool forced;  // cut at max length: keep the last word for the next window
  };
  void CloseWindows(const std::vector<Closing>& closing) const;
  std::vector<float> Mel(const StreamingState& s, int64_t end) const;
  asr::Result MakeResult(const StreamingState& s, const std::vector<int32_t>& tokens, const std::vector<float>& probs,
                         const std::vector<TokenSpan>& spans, bool is_final) const;
  std::vector<int32_t> Prompt(const StreamingState& s) const;

  std::shared_ptr<const WhisperModel> model_;
  StreamingOptions options_;
  features::WhisperLogMel mel_;
};

}  // namespace echoic::whisper

#endif  // ECHOIC_WHISPER_STREAMING_H_
