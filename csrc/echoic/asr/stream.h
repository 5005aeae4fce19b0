// One audio stream being recognized. A stream has one owner (not thread-safe);
// the Recognizer that made it is shared and decodes many streams at once.
#ifndef ECHOIC_ASR_STREAM_H_
#define ECHOIC_ASR_STREAM_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "echoic/asr/acoustic_model.h"
#include "echoic/asr/result.h"
#include "echoic/features/online_fbank.h"
#include "echoic/features/resampler.h"
#include "echoic/vad/vad.h"

namespace echoic::decoding {
class SegmentDecoder;  // recognizer.cc: greedy or beam search, per stream
}  // namespace echoic::decoding
namespace echoic::whisper {
class StreamingDecoder;
class StreamingState;
}  // namespace echoic::whisper
namespace echoic::asr {

class Stream {
 public:
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int64_t id() const { return id_; }

  // Samples in [-1, 1] at any rate in 8-192 kHz; resampled to the model's rate.
  // NaN/Inf or a change of rate mid-stream is rejected before any state changes.
  // `model_rate_audio` (may be null) receives this chunk as the stream resampled it:
  // what a host-side detector (vad "external", Python's webrtcvad) judges, so the
  // host need not resample the audio a second time.
  void AcceptWaveform(int32_t sample_rate, const float* samples, size_t n,
                      std::vector<float>* model_rate_audio = nullptr);
  // No more audio: the tail is padded with silence so every sample is decoded.
  void InputFinished();
  bool input_finished() const { return input_finished_; }

  // Final results of segments closed since the last call (endpoints, end of input).
  std::vector<Result> PopFinalResults();
  Result PopFinalResult();  // the oldest; kState if there is none
  bool HasFinalResults() const { return !finals_.empty(); }

  // With vad "external": the host's decision for the next `seconds` of this
  // stream's audio (in order, from the stream's start). Decisions take effect
  // when decoding reaches that audio, so endpoints do not depend on chunking.
  void ReportVoiceActivity(bool is_speech, double seconds);

  // Bytes of per-stream encoder state (fixed, independent of utterance length).
  size_t StateBytes() const;
  // Seconds of audio accepted so far (at the input rate).
  double seconds_received() const;
  int32_t segment() const { return segment_; }
  // Seconds since stream start where the open (not yet final) segment began.
  double segment_start_seconds() const { return segment_start_frame_ * info_.encoder_frame_seconds(); }

 private:
  friend class Recognizer;
  Stream(int64_t id, std::shared_ptr<const AcousticModel> model, const features::FbankOptions& fbank,
         std::unique_ptr<decoding::SegmentDecoder> decoder);
  Stream(int64_t id, std::shared_ptr<const whisper::StreamingDecoder> whisper,
         std::unique_ptr<whisper::StreamingState> state);

  int32_t FramesReady() const;       // feature frames available but not yet consumed
  void FeedVadUpTo(int64_t sample);  // model-rate sample index

  int64_t id_;
  std::shared_ptr<const AcousticModel> model_;  // keeps info_ alive
  const AcousticModelInfo& info_;
  int32_t input_rate_ = 0;
  std::unique_ptr<features::Resampler> resampler_;
  features::OnlineFbank fbank_;
  int64_t samples_received_ = 0;
  bool input_finished_ = false;

  int32_t frames_consumed_ = 0;  // absolute feature frame where the next chunk starts
  std::unique_ptr<ModelState> encoder_;
  std::unique_ptr<decoding::SegmentDecoder> decoder_;
  int32_t segment_ = 0;
  int64_t segment_start_frame_ = 0;  // encoder frame where the current segment began
  int64_t encoder_frames_ = 0;       // encoder frames decoded so far
  std::deque<Result> finals_;
  std::vector<float> scratch_;
  std::unique_ptr<vad::VoiceActivityDetector> vad_;  // endpointing gate (optional)
  std::vector<float> vad_pending_;                   // model-rate samples in [-1,1] not yet given to vad_
  int64_t vad_fed_ = 0;
  std::deque<std::pair<bool, double>> vad_reports_;  // external decisions not yet applied
  double vad_reported_applied_s_ = 0.0;
  const void* owner_ = nullptr;  // the Recognizer that made it: others must refuse it
  // Whisper models: windowed decoding instead of the chunked encoder above.
  std::shared_ptr<const whisper::StreamingDecoder> whisper_;
  std::unique_ptr<whisper::StreamingState> whisper_state_;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_STREAM_H_
