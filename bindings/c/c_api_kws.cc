// C API of the keyword spotter (see the "keyword spotting" section of echoic.h).
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "c_api_util.h"
#include "echoic/kws/keyword_spotter.h"

struct echoic_kws {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kKws;
  std::shared_ptr<echoic::kws::KwsModel> model;
  std::unique_ptr<echoic::kws::KeywordSpotter> spotter;
  std::deque<echoic::kws::KeywordEvent> pending;

  void Drain() {
    for (auto& e : spotter->TakeEvents()) pending.push_back(std::move(e));
  }
};

using echoic::ErrorCode;
using echoic::c_api::Guard;

extern "C" {

void echoic_kws_config_default(echoic_kws_config* c) {
  if (!c) return;
  echoic::kws::SpotterConfig d;
  c->model = nullptr;
  c->thresholds = nullptr;
  c->num_thresholds = 0;
  c->refractory_s = -1.f;
  c->smoothing_hops = 0;
  c->max_batch = d.max_batch;
  c->num_threads = 1;
}

echoic_status echoic_kws_create(const echoic_kws_config* c, echoic_kws** out) {
  return Guard([&] {
    ECHOIC_C_REQUIRE(c);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    ECHOIC_CHECK(c->model != nullptr && c->model[0] != '\0', ErrorCode::kInvalidArgument,
                 "keyword spotter config: 'model' is required");
    ECHOIC_CHECK(c->num_thresholds == 0 || c->thresholds != nullptr, ErrorCode::kInvalidArgument,
                 "keyword spotter config: 'thresholds' is NULL but num_thresholds = ", c->num_thresholds);
    ECHOIC_CHECK(c->num_threads >= 1, ErrorCode::kInvalidArgument, "keyword spotter config: num_threads must be >= 1");
    echoic::ort::SessionOptions so;
    so.intra_op_threads = c->num_threads;
    echoic::kws::SpotterConfig cfg;
    if (c->num_thresholds) cfg.thresholds.assign(c->thresholds, c->thresholds + c->num_thresholds);
    cfg.refractory_s = c->refractory_s;
    cfg.smoothing_hops = c->smoothing_hops;
    cfg.max_batch = c->max_batch;
    auto h = std::make_unique<echoic_kws>();
    h->model = echoic::kws::KwsModel::FromFile(c->model, so);
    h->spotter = std::make_unique<echoic::kws::KeywordSpotter>(h->model, cfg);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_kws_free(echoic_kws* kws) { return echoic::c_api::DestroyHandle(kws, "echoic_kws_free"); }

echoic_status echoic_kws_num_keywords(const echoic_kws* kws, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    ECHOIC_C_REQUIRE(out);
    *out = static_cast<int32_t>(kws->model->info().keywords.size());
  });
}

echoic_status echoic_kws_keyword(const echoic_kws* kws, int32_t index, const char** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    ECHOIC_C_REQUIRE(out);
    const auto& words = kws->model->info().keywords;
    ECHOIC_CHECK(index >= 0 && index < static_cast<int32_t>(words.size()), ErrorCode::kNotFound,
                 "echoic_kws_keyword: index ", index, " is outside 0..", words.size() - 1, " ('",
                 kws->model->info().name, "' has ", words.size(), " keywords)");
    *out = words[static_cast<size_t>(index)].c_str();
  });
}

echoic_status echoic_kws_sample_rate(const echoic_kws* kws, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    ECHOIC_C_REQUIRE(out);
    *out = kws->model->info().fbank.sample_rate;
  });
}

echoic_status echoic_kws_accept_waveform(echoic_kws* kws, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "argument 'samples' is NULL");
    kws->spotter->AcceptWaveform(samples, n);
    kws->Drain();
  });
}

echoic_status echoic_kws_input_finished(echoic_kws* kws) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    kws->spotter->InputFinished();
    kws->Drain();
  });
}

echoic_status echoic_kws_pop_event(echoic_kws* kws, int32_t* has_event, int32_t* keyword_index, double* time,
                                   float* score) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    ECHOIC_C_REQUIRE(has_event);
    *has_event = 0;
    if (kws->pending.empty()) return;
    const auto& e = kws->pending.front();
    *has_event = 1;
    if (keyword_index) *keyword_index = e.index;
    if (time) *time = e.time;
    if (score) *score = e.score;
    kws->pending.pop_front();
  });
}

echoic_status echoic_kws_reset(echoic_kws* kws) {
  return Guard([&] {
    ECHOIC_C_HANDLE(kws);
    kws->spotter->Reset();
    kws->pending.clear();
  });
}

}  // extern "C"
