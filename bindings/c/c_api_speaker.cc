// C API over echoic::speaker::SpeakerEmbedder (section "speaker embeddings" of echoic.h).
#include <algorithm>
#include <memory>
#include <vector>

#include "c_api_util.h"
#include "echoic/speaker/speaker_embedder.h"

struct echoic_speaker_model {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kSpeakerModel;
  std::shared_ptr<echoic::speaker::SpeakerEmbedder> impl;
};

namespace {
using echoic::ErrorCode;

const echoic::speaker::SpeakerEmbedder& Impl(const echoic_speaker_model* model) {
  ECHOIC_C_HANDLE(model);
  return *model->impl;
}
}  // namespace

extern "C" {

echoic_status echoic_speaker_model_create(const char* model_path, int32_t num_threads, echoic_speaker_model** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(model_path);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    ECHOIC_CHECK(num_threads >= 0, ErrorCode::kInvalidArgument, "echoic_speaker_model_create: num_threads ",
                 num_threads, " is negative");
    echoic::ort::SessionOptions o;
    o.intra_op_threads = num_threads;
    auto h = std::make_unique<echoic_speaker_model>();
    h->impl = echoic::speaker::SpeakerEmbedder::FromFile(model_path, o);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_speaker_model_dim(const echoic_speaker_model* model, size_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = static_cast<size_t>(Impl(model).dim());
  });
}

echoic_status echoic_speaker_model_sample_rate(const echoic_speaker_model* model, int32_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = Impl(model).sample_rate();
  });
}

echoic_status echoic_speaker_embed(const echoic_speaker_model* model, const float* samples, size_t n, float* out,
                                   size_t capacity) {
  return echoic::c_api::Guard([&] {
    const auto& m = Impl(model);
    ECHOIC_C_REQUIRE(samples);
    ECHOIC_C_REQUIRE(out);
    ECHOIC_CHECK(capacity >= static_cast<size_t>(m.dim()), ErrorCode::kInvalidArgument,
                 "echoic_speaker_embed: out has ", capacity, " floats, model '", m.name(), "' gives ", m.dim());
    const std::vector<float> v = m.Embed(samples, n);
    std::copy(v.begin(), v.end(), out);
  });
}

echoic_status echoic_speaker_model_free(echoic_speaker_model* model) {
  return echoic::c_api::DestroyHandle(model, "echoic_speaker_model_free");
}

}  // extern "C"
