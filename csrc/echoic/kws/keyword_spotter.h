// Streaming keyword spotter: shared Kaldi front-end -> sliding window of the last
// `window_frames` frames every `hop_frames` -> KWS network (several windows per
// ONNX Runtime run when audio arrives in large chunks) -> posterior smoothing ->
// thresholds + refractory period -> events.
//
// Window w ends at frame (w + 1) * hop; frames before the stream start (and, after
// InputFinished, past its end) are the model's "pad_frame". Windows sit at fixed
// absolute positions, so any chunking of the input yields identical events.
#ifndef ECHOIC_KWS_KEYWORD_SPOTTER_H_
#define ECHOIC_KWS_KEYWORD_SPOTTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echoic/features/online_fbank.h"
#include "echoic/kws/event_detector.h"
#include "echoic/kws/keyword_event.h"
#include "echoic/kws/kws_model.h"
#include "echoic/kws/posterior_smoother.h"

namespace echoic::kws {

struct SpotterConfig {
  // Empty: the model's default; one value: every keyword; else one per keyword.
  std::vector<float> thresholds;
  float refractory_s = -1.f;   // < 0: the model's default
  int32_t smoothing_hops = 0;  // <= 0: the model's default
  int32_t max_batch = 16;      // windows per ONNX Runtime run
  bool record_scores = false;  // keep every window's smoothed posteriors (TakeScores)
};

class KeywordSpotter {
 public:
  KeywordSpotter(std::shared_ptr<const KwsModel> model, const SpotterConfig& config = {});

  // Mono float samples in [-1, 1] at the model's sample rate. kState after InputFinished.
  void AcceptWaveform(const float* samples, size_t n);
  // End of stream: runs the remaining windows (padded past the end).
  void InputFinished();
  // Events found since the last call, in time order.
  std::vector<KeywordEvent> TakeEvents();
  // Smoothed posteriors [windows x classes] since the last call (record_scores only), and
  // the end time (s) of each of those windows.
  std::vector<float> TakeScores(std::vector<double>* times = nullptr);
  void Reset();

  const KwsModel& model() const { return *model_; }
  const std::vector<float>& thresholds() const { return detector_.thresholds(); }
  double refractory() const { return detector_.refractory(); }
  int32_t smoothing_hops() const { return smoothing_hops_; }
  int64_t NumWindows() const { return next_window_; }
  int64_t NumModelRuns() const { return model_runs_; }

 private:
  void RunReadyWindows(bool finished);
  // A detection is reported at its peak: the window with the highest score until the
  // score falls below the threshold again (at most kMaxPeakWait after the crossing, or
  // the end of input), so time and score do not move with the threshold.
  void TrackPeak(const float* smoothed, double time);
  void EmitPending();
  static constexpr double kMaxPeakWait = 1.0;  // seconds
  int64_t WindowEnd(int64_t w) const { return (w + 1) * info().hop_frames; }
  const KwsModelInfo& info() const { return model_->info(); }

  std::shared_ptr<const KwsModel> model_;
  SpotterConfig config_;
  int32_t smoothing_hops_;
  features::OnlineFbank fbank_;
  PosteriorSmoother smoother_;
  EventDetector detector_;
  std::vector<float> pad_frame_;
  std::vector<float> scaled_, batch_;
  int64_t next_window_ = 0;
  int64_t model_runs_ = 0;
  std::vector<KeywordEvent> events_;
  std::optional<KeywordEvent> pending_;  // a detection whose peak may still come
  double pending_since_ = 0;
  std::vector<float> scores_;
  std::vector<double> score_times_;
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_KEYWORD_SPOTTER_H_
