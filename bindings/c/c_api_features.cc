// C API of the features capability: echoic_fbank_* and echoic_resampler_*.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "c_api_util.h"
#include "echoic/audio/samples.h"
#include "echoic/features/online_fbank.h"
#include "echoic/features/resampler.h"

struct echoic_fbank {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kFbank;
  std::unique_ptr<echoic::features::OnlineFbank> impl;
};

struct echoic_resampler {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kResampler;
  std::unique_ptr<echoic::features::Resampler> impl;
  std::vector<float> pending;  // produced, not yet read
  size_t read_pos = 0;
};

using echoic::ErrorCode;
using echoic::c_api::Guard;

// Like ECHOIC_C_REQUIRE, but names the C function (inside Guard's lambda __func__ is "operator()").
#define FEATURES_REQUIRE(fn, ptr) \
  ECHOIC_CHECK((ptr) != nullptr, ErrorCode::kInvalidArgument, fn, ": '", #ptr, "' is NULL")

extern "C" {

void echoic_fbank_config_default(echoic_fbank_config* config) {
  if (!config) return;
  echoic::features::FbankOptions d;
  config->sample_rate = d.sample_rate;
  config->num_bins = d.num_bins;
  config->frame_length_ms = d.frame_length_ms;
  config->frame_shift_ms = d.frame_shift_ms;
  config->preemph_coeff = d.preemph_coeff;
  config->remove_dc_offset = d.remove_dc_offset;
  config->window_type = "povey";  // static storage
  config->snip_edges = d.snip_edges;
  config->dither = d.dither;
  config->dither_seed = d.dither_seed;
  config->low_freq = d.low_freq;
  config->high_freq = d.high_freq;
  config->use_energy = d.use_energy;
  config->energy_floor = d.energy_floor;
  config->raw_energy = d.raw_energy;
  config->use_log_fbank = d.use_log_fbank;
  config->use_power = d.use_power;
  config->round_to_power_of_two = d.round_to_power_of_two;
}

echoic_status echoic_fbank_create(const echoic_fbank_config* options, echoic_fbank** out) {
  return Guard([&] {
    FEATURES_REQUIRE("echoic_fbank_create", options);
    FEATURES_REQUIRE("echoic_fbank_create", out);
    echoic::features::FbankOptions o;
    o.sample_rate = options->sample_rate;
    o.num_bins = options->num_bins;
    o.frame_length_ms = options->frame_length_ms;
    o.frame_shift_ms = options->frame_shift_ms;
    o.preemph_coeff = options->preemph_coeff;
    o.remove_dc_offset = options->remove_dc_offset != 0;
    o.window_type = options->window_type ? options->window_type : "povey";
    o.snip_edges = options->snip_edges != 0;
    o.dither = options->dither;
    o.dither_seed = options->dither_seed;
    o.low_freq = options->low_freq;
    o.high_freq = options->high_freq;
    o.use_energy = options->use_energy != 0;
    o.energy_floor = options->energy_floor;
    o.raw_energy = options->raw_energy != 0;
    o.use_log_fbank = options->use_log_fbank != 0;
    o.use_power = options->use_power != 0;
    o.round_to_power_of_two = options->round_to_power_of_two != 0;
    auto f = std::make_unique<echoic_fbank>();
    f->impl = std::make_unique<echoic::features::OnlineFbank>(o);
    *out = echoic::c_api::Adopt(std::move(f));
  });
}

echoic_status echoic_fbank_accept_waveform(echoic_fbank* fbank, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    if (n > 0) FEATURES_REQUIRE("echoic_fbank_accept_waveform", samples);
    echoic::audio::ValidateSamples(samples, n, "echoic_fbank_accept_waveform");
    fbank->impl->AcceptWaveform(samples, n);
  });
}

echoic_status echoic_fbank_input_finished(echoic_fbank* fbank) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    fbank->impl->InputFinished();
  });
}

echoic_status echoic_fbank_num_frames_ready(const echoic_fbank* fbank, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    FEATURES_REQUIRE("echoic_fbank_num_frames_ready", out);
    *out = fbank->impl->NumFramesReady();
  });
}

echoic_status echoic_fbank_dim(const echoic_fbank* fbank, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    FEATURES_REQUIRE("echoic_fbank_dim", out);
    *out = fbank->impl->Dim();
  });
}

echoic_status echoic_fbank_get_frames(const echoic_fbank* fbank, int32_t start, int32_t n, float* out, size_t out_len) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    ECHOIC_CHECK(n >= 0, ErrorCode::kInvalidArgument, "echoic_fbank_get_frames: n=", n, " must be >= 0");
    size_t need = static_cast<size_t>(n) * static_cast<size_t>(fbank->impl->Dim());
    if (need > 0) FEATURES_REQUIRE("echoic_fbank_get_frames", out);
    ECHOIC_CHECK(out_len >= need, ErrorCode::kInvalidArgument, "echoic_fbank_get_frames: out_len=", out_len,
                 " floats is too small for ", n, " frames x ", fbank->impl->Dim(), " dims (", need, ")");
    fbank->impl->GetFrames(start, n, out);
  });
}

echoic_status echoic_fbank_discard_frames_before(echoic_fbank* fbank, int32_t frame) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    fbank->impl->DiscardFramesBefore(frame);
  });
}

echoic_status echoic_fbank_reset(echoic_fbank* fbank) {
  return Guard([&] {
    ECHOIC_C_HANDLE(fbank);
    fbank->impl->Reset();
  });
}

echoic_status echoic_fbank_free(echoic_fbank* fbank) {
  return echoic::c_api::DestroyHandle(fbank, "echoic_fbank_free");
}

echoic_status echoic_resampler_create(int32_t in_rate, int32_t out_rate, echoic_resampler** out) {
  return Guard([&] {
    FEATURES_REQUIRE("echoic_resampler_create", out);
    auto r = std::make_unique<echoic_resampler>();
    r->impl = std::make_unique<echoic::features::Resampler>(in_rate, out_rate);
    *out = echoic::c_api::Adopt(std::move(r));
  });
}

namespace {
void Append(echoic_resampler* r, const std::vector<float>& y) {
  if (r->read_pos > 0 && r->read_pos >= r->pending.size() / 2) {  // compact
    r->pending.erase(r->pending.begin(), r->pending.begin() + static_cast<std::ptrdiff_t>(r->read_pos));
    r->read_pos = 0;
  }
  r->pending.insert(r->pending.end(), y.begin(), y.end());
}
}  // namespace

echoic_status echoic_resampler_process(echoic_resampler* r, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    if (n > 0) FEATURES_REQUIRE("echoic_resampler_process", samples);
    echoic::audio::ValidateSamples(samples, n, "echoic_resampler_process");
    Append(r, r->impl->Process(samples, n));
  });
}

echoic_status echoic_resampler_flush(echoic_resampler* r) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    Append(r, r->impl->Flush());
  });
}

echoic_status echoic_resampler_available(const echoic_resampler* r, size_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    FEATURES_REQUIRE("echoic_resampler_available", out);
    *out = r->pending.size() - r->read_pos;
  });
}

echoic_status echoic_resampler_read(echoic_resampler* r, float* out, size_t out_len, size_t* num_written) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    FEATURES_REQUIRE("echoic_resampler_read", num_written);
    size_t n = std::min(out_len, r->pending.size() - r->read_pos);
    if (n > 0) FEATURES_REQUIRE("echoic_resampler_read", out);
    std::copy(r->pending.begin() + static_cast<std::ptrdiff_t>(r->read_pos),
              r->pending.begin() + static_cast<std::ptrdiff_t>(r->read_pos + n), out);
    r->read_pos += n;
    *num_written = n;
  });
}

echoic_status echoic_resampler_reset(echoic_resampler* r) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    r->impl->Reset();
    r->pending.clear();
    r->read_pos = 0;
  });
}

echoic_status echoic_resampler_free(echoic_resampler* r) {
  return echoic::c_api::DestroyHandle(r, "echoic_resampler_free");
}

}  // extern "C"
