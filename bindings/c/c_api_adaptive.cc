// C API of the memory-pressure fallback (the "adaptive recognizer" section of echoic.h).
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "c_api_asr.h"
#include "c_api_util.h"
#include "echoic/adaptive/adaptive_recognizer.h"

struct echoic_adaptive {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kAdaptive;
  std::unique_ptr<echoic::asr::AdaptiveRecognizer> impl;
};
struct echoic_adaptive_stream {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kAdaptiveStream;
  std::unique_ptr<echoic::asr::AdaptiveStream> impl;
};

using echoic::ErrorCode;
using echoic::c_api::Guard;

extern "C" {

void echoic_adaptive_config_default(echoic_adaptive_config* c) {
  if (!c) return;
  echoic::asr::AdaptiveRecognizerConfig d;
  c->tier_models = nullptr;
  c->tier_names = nullptr;
  c->num_tiers = 0;
  c->recognizer = nullptr;
  c->memory_budget_bytes = 0;
  c->low_watermark_bytes = d.policy.low_watermark_bytes;
  c->high_watermark_bytes = d.policy.high_watermark_bytes;
  c->upgrade_after_seconds = static_cast<float>(d.policy.upgrade_after_s);
  c->poll_interval_ms = static_cast<int32_t>(d.monitor.poll_interval.count());
  c->system_probes = 1;
  c->max_buffer_seconds = static_cast<float>(d.max_buffer_seconds);
  c->preload_fallback = 0;
  c->on_model_switch = nullptr;
  c->user_data = nullptr;
}

echoic_status echoic_adaptive_create(const echoic_adaptive_config* c, echoic_adaptive** out) {
  return Guard([&] {
    ECHOIC_C_REQUIRE(c);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    ECHOIC_CHECK(c->num_tiers > 0 && c->tier_models != nullptr, ErrorCode::kInvalidArgument,
                 "echoic_adaptive_create: no tiers (tier_models / num_tiers)");
    echoic::asr::AdaptiveRecognizerConfig cfg;
    for (size_t i = 0; i < c->num_tiers; ++i) {
      ECHOIC_CHECK(c->tier_models[i] != nullptr, ErrorCode::kInvalidArgument, "echoic_adaptive_create: tier_models[", i,
                   "] is NULL");
      echoic::asr::ModelTier t;
      t.model = c->tier_models[i];
      if (c->tier_names && c->tier_names[i]) t.name = c->tier_names[i];
      cfg.tiers.push_back(t);
    }
    if (const echoic_recognizer_config* r = c->recognizer) echoic::c_api::CopyDecodingConfig(*r, &cfg.base);
    ECHOIC_CHECK(c->memory_budget_bytes >= 0, ErrorCode::kInvalidArgument,
                 "echoic_adaptive_create: memory_budget_bytes must be >= 0");
    ECHOIC_CHECK(c->poll_interval_ms >= 0, ErrorCode::kInvalidArgument,
                 "echoic_adaptive_create: poll_interval_ms must be >= 0");
    cfg.monitor.budget_bytes = c->memory_budget_bytes;
    cfg.monitor.poll_interval = std::chrono::milliseconds(c->poll_interval_ms);
    cfg.monitor.system_probes = c->system_probes != 0;
    cfg.policy.low_watermark_bytes = c->low_watermark_bytes;
    cfg.policy.high_watermark_bytes = c->high_watermark_bytes;
    cfg.policy.upgrade_after_s = c->upgrade_after_seconds;
    cfg.max_buffer_seconds = c->max_buffer_seconds;
    cfg.preload_fallback = c->preload_fallback != 0;
    if (c->on_model_switch) {
      echoic_model_switch_callback cb = c->on_model_switch;
      void* user = c->user_data;
      cfg.on_switch = [cb, user](const echoic::asr::SwitchEvent& e) {
        cb(e.from.c_str(), e.to.c_str(), e.reason.c_str(), user);
      };
    }
    auto h = std::make_unique<echoic_adaptive>();
    h->impl = std::make_unique<echoic::asr::AdaptiveRecognizer>(cfg);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_adaptive_free(echoic_adaptive* r) {
  return echoic::c_api::DestroyHandle(r, "echoic_adaptive_free");
}

echoic_status echoic_adaptive_stream_create(echoic_adaptive* r, const char* hotwords, echoic_adaptive_stream** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    auto h = std::make_unique<echoic_adaptive_stream>();
    h->impl = r->impl->CreateStream(echoic::c_api::ParseHotwordLines(hotwords));
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_adaptive_stream_free(echoic_adaptive_stream* s) {
  return echoic::c_api::DestroyHandle(s, "echoic_adaptive_stream_free");
}

echoic_status echoic_adaptive_stream_accept_waveform(echoic_adaptive_stream* s, int32_t sample_rate,
                                                     const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    if (n > 0) ECHOIC_C_REQUIRE(samples);
    s->impl->AcceptWaveform(sample_rate, samples, n);
  });
}

echoic_status echoic_adaptive_stream_input_finished(echoic_adaptive_stream* s) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    s->impl->InputFinished();
  });
}

echoic_status echoic_adaptive_is_ready(const echoic_adaptive* r, const echoic_adaptive_stream* s, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl->IsReady(*s->impl) ? 1 : 0;
  });
}

echoic_status echoic_adaptive_is_done(const echoic_adaptive* r, const echoic_adaptive_stream* s, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl->IsDone(*s->impl) ? 1 : 0;
  });
}

echoic_status echoic_adaptive_decode(echoic_adaptive* r, echoic_adaptive_stream** streams, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    if (n > 0) ECHOIC_C_REQUIRE(streams);
    std::vector<echoic::asr::AdaptiveStream*> v;
    for (size_t i = 0; i < n; ++i) {
      ECHOIC_CHECK(streams[i] != nullptr, ErrorCode::kInvalidArgument, "echoic_adaptive_decode: streams[", i,
                   "] is NULL");
      if (!echoic::c_api::IsLiveHandle(streams[i], echoic_adaptive_stream::kHandleType))
        echoic::c_api::FailHandle(streams[i], echoic_adaptive_stream::kHandleType,
                                  "streams[" + std::to_string(i) + "]");
      v.push_back(streams[i]->impl.get());
    }
    r->impl->Decode(v);
  });
}

echoic_status echoic_adaptive_get_partial(echoic_adaptive* r, echoic_adaptive_stream* s, echoic_result** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    auto h = std::make_unique<echoic_result>();
    h->impl = r->impl->GetPartial(*s->impl);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_adaptive_stream_pop_final(echoic_adaptive_stream* s, echoic_result** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    if (!s->impl->HasFinalResults()) return;
    auto h = std::make_unique<echoic_result>();
    h->impl = s->impl->PopFinalResult();
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_adaptive_signal_pressure(echoic_adaptive* r, echoic_pressure_level level) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    const int64_t v = echoic::c_api::EnumValue(level);
    ECHOIC_CHECK(v >= 0 && v <= 3, ErrorCode::kInvalidArgument,
                 "echoic_adaptive_signal_pressure: level must be 0..3 (ECHOIC_PRESSURE_*), got ", v);
    r->impl->SignalPressure(static_cast<echoic::PressureLevel>(v));
  });
}

echoic_status echoic_adaptive_set_budget(echoic_adaptive* r, int64_t budget) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_CHECK(budget >= 0, ErrorCode::kInvalidArgument, "echoic_adaptive_set_budget: budget must be >= 0");
    r->impl->SetBudget(budget);
  });
}

echoic_status echoic_adaptive_current_tier(const echoic_adaptive* r, int32_t* index, const char** name) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    size_t t = r->impl->current_tier();
    if (index) *index = static_cast<int32_t>(t);
    if (name) *name = r->impl->pool().name(t).c_str();
  });
}

echoic_status echoic_adaptive_get_counters(const echoic_adaptive* r, echoic_adaptive_counters* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    auto c = r->impl->counters();
    out->switches_down = c.switches_down;
    out->switches_up = c.switches_up;
    out->failed_loads = c.failed_loads;
    out->streams_moved = c.streams_moved;
    out->redecoded_seconds = c.redecoded_seconds;
  });
}

echoic_status echoic_result_model(const echoic_result* r, const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.model.c_str();
  });
}

}  // extern "C"
