#include "echoic/kws/keyword_spotter.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "echoic/audio/samples.h"
#include "echoic/runtime/error.h"

namespace echoic::kws {

namespace {

std::vector<float> ResolveThresholds(const KwsModelInfo& info, const std::vector<float>& given) {
  size_t k = info.keywords.size();
  if (given.empty()) return std::vector<float>(k, info.default_threshold);
  if (given.size() == 1) return std::vector<float>(k, given[0]);
  ECHOIC_CHECK(given.size() == k, ErrorCode::kInvalidArgument, "keyword spotter ('", info.name, "'): ", given.size(),
               " thresholds given for ", k, " keywords");
  return given;
}

// log-mel of the model's "silence"; the model declares what it was trained to see.
std::vector<float> PadFrame(const KwsModel& model) {
  const auto& info = model.info();
  std::string v = model.session().GetMetadata("pad_frame", "");
  if (v.empty()) return std::vector<float>(info.fbank.num_bins, std::log(1.19209290e-07f));
  std::vector<float> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      out.push_back(std::stof(item));
    } catch (const std::exception&) {
      Fail(ErrorCode::kModel, "keyword model '", info.name, "': metadata 'pad_frame' has a non-number '", item, "'");
    }
  }
  ECHOIC_CHECK(static_cast<int32_t>(out.size()) == info.fbank.num_bins, ErrorCode::kModel, "keyword model '", info.name,
               "': metadata 'pad_frame' has ", out.size(), " values, expected num_bins = ", info.fbank.num_bins);
  return out;
}

std::shared_ptr<const KwsModel> NonNull(std::shared_ptr<const KwsModel> m) {
  ECHOIC_CHECK(m != nullptr, ErrorCode::kInvalidArgument, "keyword spotter: model is null");
  return m;
}

}  // namespace

KeywordSpotter::KeywordSpotter(std::shared_ptr<const KwsModel> model, const SpotterConfig& config)
    : model_(NonNull(std::move(model))),
      config_(config),
      smoothing_hops_(config.smoothing_hops > 0 ? config.smoothing_hops : model_->info().smoothing_hops),
      fbank_(model_->info().fbank),
      smoother_(model_->info().num_classes(), smoothing_hops_),
      detector_(model_->info().keywords, ResolveThresholds(model_->info(), config.thresholds),
                config.refractory_s >= 0 ? config.refractory_s : model_->info().default_refractory_s),
      pad_frame_(PadFrame(*model_)) {
  ECHOIC_CHECK(config.max_batch >= 1 && config.max_batch <= 4096, ErrorCode::kInvalidArgument, "keyword spotter ('",
               info().name, "'): max_batch must be in [1, 4096], got ", config.max_batch);
  ECHOIC_CHECK(std::isfinite(config.refractory_s), ErrorCode::kInvalidArgument, "keyword spotter ('", info().name,
               "'): refractory must be finite");
}

void KeywordSpotter::AcceptWaveform(const float* samples, size_t n) {
  ECHOIC_CHECK(!fbank_.IsInputFinished(), ErrorCode::kState, "keyword spotter ('", info().name,
               "'): audio accepted after input_finished(); call reset() first");
  audio::ValidateSamples(samples, n, "keyword spotter ('" + info().name + "')");
  scaled_.resize(n);
  for (size_t i = 0; i < n; ++i) scaled_[i] = samples[i] * info().input_scale;
  fbank_.AcceptWaveform(scaled_.data(), n);
  RunReadyWindows(false);
}

void KeywordSpotter::InputFinished() {
  if (fbank_.IsInputFinished()) return;
  fbank_.InputFinished();
  RunReadyWindows(true);
}

void KeywordSpotter::RunReadyWindows(bool finished) {
  const KwsModelInfo& m = info();
  const int64_t W = m.window_frames, F = m.fbank.num_bins;
  const int64_t ready = fbank_.NumFramesReady();
  // After the end, keep sliding until the last real frame is halfway through a window.
  const int64_t last_end = finished ? ready + W / 2 : ready;
  int64_t count = 0;
  while (WindowEnd(next_window_ + count) <= last_end) ++count;
  if (finished && ready == 0) count = 0;  // empty stream: nothing to spot
  while (count > 0) {
    int32_t b = static_cast<int32_t>(std::min<int64_t>(count, config_.max_batch));
    batch_.resize(static_cast<size_t>(b * W * F));
    for (int32_t i = 0; i < b; ++i) {
      int64_t end = WindowEnd(next_window_ + i), start = end - W;
      float* dst = batch_.data() + i * W * F;
      int64_t lo = std::max<int64_t>(start, 0), hi = std::min<int64_t>(end, ready);
      for (int64_t f = start; f < lo; ++f) std::copy(pad_frame_.begin(), pad_frame_.end(), dst + (f - start) * F);
      if (hi > lo) fbank_.GetFrames(static_cast<int32_t>(lo), static_cast<int32_t>(hi - lo), dst + (lo - start) * F);
      for (int64_t f = std::max(hi, lo); f < end; ++f)
        std::copy(pad_frame_.begin(), pad_frame_.end(), dst + (f - start) * F);
    }
    std::vector<float> probs = model_->Run(batch_.data(), b);
    ++model_runs_;
    const double shift_s = m.fbank.frame_shift_ms / 1000.0;
    for (int32_t i = 0; i < b; ++i) {
      const std::vector<float>& s = smoother_.Push(probs.data() + i * m.num_classes());
      double t = static_cast<double>(WindowEnd(next_window_ + i)) * shift_s;
      if (config_.record_scores) {
        scores_.insert(scores_.end(), s.begin(), s.end());
        score_times_.push_back(t);
      }
      TrackPeak(s.data(), t);
      if (auto e = detector_.Process(s.data(), t)) {
        EmitPending();
        pending_ = std::move(*e);
        pending_since_ = t;
      }
    }
    next_window_ += b;
    count -= b;
  }
  if (finished) EmitPending();
  int64_t keep_from = WindowEnd(next_window_) - W;  // first frame the next window needs
  if (keep_from > fbank_.FirstAvailableFrame() && keep_from <= ready)
    fbank_.DiscardFramesBefore(static_cast<int32_t>(keep_from));
}

void KeywordSpotter::TrackPeak(const float* smoothed, double time) {
  if (!pending_) return;
  const int32_t k = pending_->index;
  const float s = smoothed[k + 1];
  if (s < detector_.thresholds()[k] || time - pending_since_ > kMaxPeakWait) {
    EmitPending();
  } else if (s > pending_->score) {
    pending_->score = s;
    pending_->time = time;
  }
}

void KeywordSpotter::EmitPending() {
  if (pending_) events_.push_back(std::move(*pending_));
  pending_.reset();
}

std::vector<KeywordEvent> KeywordSpotter::TakeEvents() {
  std::vector<KeywordEvent> out;
  out.swap(events_);
  return out;
}

std::vector<float> KeywordSpotter::TakeScores(std::vector<double>* times) {
  std::vector<float> out;
  out.swap(scores_);
  if (times) times->swap(score_times_);
  score_times_.clear();
  return out;
}

void KeywordSpotter::Reset() {
  fbank_.Reset();
  smoother_.Reset();
  detector_.Reset();
  next_window_ = 0;
  events_.clear();
  pending_.reset();
  scores_.clear();
  score_times_.clear();
}

}  // namespace echoic::kws
