// C API of keyword lookup by example (see the "keyword lookup by example" section of echoic.h).
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "c_api_util.h"
#include "echoic/kws/keyword_lookup.h"
#include "echoic/vad/silero_vad.h"

struct echoic_lookup {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kLookup;
  std::unique_ptr<echoic::kws::KeywordLookup> lookup;
  std::unique_ptr<echoic::kws::LookupScanner> scanner;  // made at the first audio after a reset
  std::deque<echoic::kws::LookupDetection> pending;
  std::string keyword;  // of the last popped detection

  echoic::kws::LookupScanner& Scanner() {
    if (!scanner) scanner = lookup->NewScanner();
    return *scanner;
  }
  void Drain() {
    for (auto& d : scanner->TakeDetections()) pending.push_back(std::move(d));
  }
};

using echoic::ErrorCode;
using echoic::c_api::Guard;

extern "C" {

echoic_status echoic_lookup_create(const char* whisper_model, const char* projection, const char* index_path,
                                   const char* vad_model, int32_t num_threads, echoic_lookup** out) {
  return Guard([&] {
    ECHOIC_C_REQUIRE(whisper_model);
    ECHOIC_C_REQUIRE(index_path);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    ECHOIC_CHECK(num_threads >= 1, ErrorCode::kInvalidArgument, "echoic_lookup_create: num_threads ", num_threads,
                 " must be >= 1");
    echoic::ort::SessionOptions o;
    o.intra_op_threads = num_threads;
    auto encoder = echoic::kws::FrameEncoder::Load(whisper_model, o);
    std::shared_ptr<const echoic::vad::VoiceActivityDetector> vad;
    if (vad_model) vad = echoic::vad::SileroVad::FromFile(vad_model);
    auto h = std::make_unique<echoic_lookup>();
    echoic::kws::LookupOptions lo;
    if (projection) lo.embedding.projection = projection;
    h->lookup = std::make_unique<echoic::kws::KeywordLookup>(encoder, index_path, lo, vad);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_lookup_free(echoic_lookup* lookup) {
  return echoic::c_api::DestroyHandle(lookup, "echoic_lookup_free");
}

echoic_status echoic_lookup_enroll(echoic_lookup* lookup, const char* keyword, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    ECHOIC_C_REQUIRE(keyword);
    ECHOIC_C_REQUIRE(samples);
    lookup->lookup->Enroll(keyword, {std::vector<float>(samples, samples + n)});
  });
}

echoic_status echoic_lookup_accept_waveform(echoic_lookup* lookup, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "argument 'samples' is NULL");
    lookup->Scanner().AcceptWaveform(samples, n);
    lookup->Drain();
  });
}

echoic_status echoic_lookup_input_finished(echoic_lookup* lookup) {
  return Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    lookup->Scanner().InputFinished();
    lookup->Drain();
  });
}

echoic_status echoic_lookup_reset(echoic_lookup* lookup) {
  return Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    lookup->scanner.reset();
    lookup->pending.clear();
  });
}

echoic_status echoic_lookup_pop_detection(echoic_lookup* lookup, int32_t* has_detection, double* start, double* end,
                                          float* score) {
  return Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    ECHOIC_C_REQUIRE(has_detection);
    *has_detection = 0;
    if (lookup->pending.empty()) return;
    const auto& d = lookup->pending.front();
    *has_detection = 1;
    if (start) *start = d.start;
    if (end) *end = d.end;
    if (score) *score = d.score;
    lookup->keyword = d.keyword;
    lookup->pending.pop_front();
  });
}

echoic_status echoic_lookup_detection_keyword(const echoic_lookup* lookup, const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(lookup);
    ECHOIC_C_REQUIRE(out);
    *out = lookup->keyword.c_str();
  });
}

}  // extern "C"
