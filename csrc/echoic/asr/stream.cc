#include "echoic/asr/stream.h"

#include <algorithm>
#include <cmath>

#include "echoic/audio/samples.h"
#include "echoic/decoding/segment_decoder.h"
#include "echoic/runtime/error.h"
#include "echoic/vad/external_vad.h"
#include "echoic/whisper/streaming.h"

namespace echoic::asr {

Stream::Stream(int64_t id, std::shared_ptr<const AcousticModel> model, const features::FbankOptions& fbank,
               std::unique_ptr<decoding::SegmentDecoder> decoder)
    : id_(id),
      model_(std::move(model)),
      info_(model_->info()),
      fbank_(fbank),
      encoder_(model_->NewState()),
      decoder_(std::move(decoder)) {}

Stream::Stream(int64_t id, std::shared_ptr<const whisper::StreamingDecoder> whisper,
               std::unique_ptr<whisper::StreamingState> state)
    : id_(id),
      info_(whisper->model().info()),
      fbank_(features::FbankOptions{}),
      whisper_(std::move(whisper)),
      whisper_state_(std::move(state)) {}

Stream::~Stream() = default;

size_t Stream::StateBytes() const { return whisper_state_ ? whisper_state_->Bytes() : encoder_->Bytes(); }

void Stream::AcceptWaveform(int32_t sample_rate, const float* samples, size_t n, std::vector<float>* model_rate_audio) {
  if (model_rate_audio) model_rate_audio->clear();
  ECHOIC_CHECK(!input_finished_, ErrorCode::kState, "stream ", id_,
               ": accept_waveform after input_finished (create a new stream)");
  ECHOIC_CHECK(sample_rate >= 8000 && sample_rate <= 192000, ErrorCode::kInvalidArgument, "stream ", id_,
               ": sample rate ", sample_rate, " Hz is outside 8000-192000 Hz");
  ECHOIC_CHECK(input_rate_ == 0 || input_rate_ == sample_rate, ErrorCode::kInvalidArgument, "stream ", id_,
               ": started at ", input_rate_, " Hz but was now given ", sample_rate,
               " Hz; use one rate per stream (or resample before)");
  // The one check of this chunk, before any state changes (nothing is half-processed);
  // a VAD (Whisper streams always have one) needs samples near [-1, 1].
  audio::ValidateSamples(samples, n, "stream " + std::to_string(id_) + " (chunk not accepted)",
                         vad_ || whisper_state_ ? audio::kMaxAbsSample : audio::kAnyAmplitude);
  if (n == 0) return;
  if (input_rate_ == 0) {
    input_rate_ = sample_rate;
    if (sample_rate != info_.sample_rate)
      resampler_ = std::make_unique<features::Resampler>(sample_rate, info_.sample_rate);
  }
  samples_received_ += static_cast<int64_t>(n);
  const float* in = samples;
  size_t count = n;
  std::vector<float> resampled;
  if (resampler_) {
    resampled = resampler_->Process(samples, n);
    in = resampled.data();
    count = resampled.size();
  }
  if (model_rate_audio) model_rate_audio->assign(in, in + count);
  if (whisper_state_) return whisper_->Accept(whisper_state_.get(), in, count);
  if (vad_) vad_pending_.insert(vad_pending_.end(), in, in + count);
  scratch_.resize(count);
  for (size_t i = 0; i < count; ++i) scratch_[i] = in[i] * info_.input_scale;
  fbank_.AcceptWaveform(scratch_.data(), count);
}

void Stream::InputFinished() {
  if (input_finished_) return;
  if (whisper_state_) {
    if (resampler_) {
      std::vector<float> tail = resampler_->Flush();
      whisper_->Accept(whisper_state_.get(), tail.data(), tail.size());
    }
    whisper_->InputFinished(whisper_state_.get());
    input_finished_ = true;
    return;
  }
  if (resampler_) {
    std::vector<float> tail = resampler_->Flush();
    if (vad_) vad_pending_.insert(vad_pending_.end(), tail.begin(), tail.end());
    for (float& v : tail) v *= info_.input_scale;
    fbank_.AcceptWaveform(tail.data(), tail.size());
  }
  // Silence long enough for one full chunk, so the last real frames reach the encoder.
  const size_t shift = static_cast<size_t>(info_.sample_rate / 100);
  std::vector<float> pad(static_cast<size_t>(info_.chunk_frames()) * shift, 0.f);
  fbank_.AcceptWaveform(pad.data(), pad.size());
  if (vad_) vad_pending_.insert(vad_pending_.end(), pad.begin(), pad.end());
  fbank_.InputFinished();
  input_finished_ = true;
}

std::vector<Result> Stream::PopFinalResults() {
  std::vector<Result> out(finals_.begin(), finals_.end());
  finals_.clear();
  return out;
}

Result Stream::PopFinalResult() {
  ECHOIC_CHECK(!finals_.empty(), ErrorCode::kState, "stream ", id_, ": no final result to pop");
  Result r = std::move(finals_.front());
  finals_.pop_front();
  return r;
}

double Stream::seconds_received() const {
  return input_rate_ == 0 ? 0.0 : static_cast<double>(samples_received_) / input_rate_;
}

void Stream::ReportVoiceActivity(bool is_speech, double seconds) {
  ECHOIC_CHECK(dynamic_cast<vad::ExternalVad*>(vad_.get()) != nullptr, ErrorCode::kState, "stream ", id_,
               ": voice activity can be reported only when the recognizer was made with vad='external'");
  ECHOIC_CHECK(std::isfinite(seconds) && seconds > 0 && seconds <= 10, ErrorCode::kInvalidArgument, "stream ", id_,
               ": a voice-activity decision must cover 0 < seconds <= 10, got ", seconds);
  vad_reports_.emplace_back(is_speech, seconds);
}

void Stream::FeedVadUpTo(int64_t sample) {
  if (auto* external = dynamic_cast<vad::ExternalVad*>(vad_.get())) {
    const double until = static_cast<double>(sample) / info_.sample_rate + 1e-9;
    while (!vad_reports_.empty() && vad_reported_applied_s_ + vad_reports_.front().second <= until) {
      external->Report(vad_reports_.front().first, vad_reports_.front().second);
      vad_reported_applied_s_ += vad_reports_.front().second;
      vad_reports_.pop_front();
    }
  }
  if (!vad_ || sample <= vad_fed_) return;
  size_t n = static_cast<size_t>(std::min<int64_t>(sample - vad_fed_, static_cast<int64_t>(vad_pending_.size())));
  vad_->Accept(vad_pending_.data(), n);
  vad_pending_.erase(vad_pending_.begin(), vad_pending_.begin() + static_cast<std::ptrdiff_t>(n));
  vad_fed_ += static_cast<int64_t>(n);
}

int32_t Stream::FramesReady() const { return fbank_.NumFramesReady() - frames_consumed_; }

}  // namespace echoic::asr
