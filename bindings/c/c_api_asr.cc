// C API of the streaming recognizer (see the "streaming recognizer" section of echoic.h).
#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>

#include "c_api_asr.h"
#include "c_api_util.h"
#include "echoic/asr/recognizer.h"
#include "echoic/decoding/hotwords.h"

struct echoic_recognizer {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kRecognizer;
  std::shared_ptr<echoic::asr::Recognizer> impl;
};
struct echoic_stream {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kStream;
  std::unique_ptr<echoic::asr::Stream> impl;
};

using echoic::ErrorCode;
using echoic::c_api::Guard;

namespace echoic::c_api {

std::vector<decoding::Hotword> ParseHotwordLines(const char* text) {
  return text ? decoding::ParseHotwords(text) : std::vector<decoding::Hotword>{};
}

void CopyDecodingConfig(const echoic_recognizer_config& c, asr::RecognizerConfig* cfg) {
  if (c.decoding_method) cfg->decoding_method = c.decoding_method;
  cfg->beam_size = c.beam_size;
  cfg->hotword_score = c.hotword_score;
  cfg->lm = c.lm ? c.lm : "";
  cfg->lm_scale = c.lm_scale;
  cfg->word_bonus = c.word_bonus;
  cfg->enable_endpoint = c.enable_endpoint != 0;
  cfg->endpoint.rule1.min_trailing_silence_s = c.rule1_min_trailing_silence;
  cfg->endpoint.rule2.min_trailing_silence_s = c.rule2_min_trailing_silence;
  cfg->endpoint.rule3.min_utterance_length_s = c.rule3_max_utterance_length;
  cfg->session.intra_op_threads = c.num_threads;
  cfg->session.cpu_mem_arena = c.cpu_mem_arena != 0;
  cfg->max_batch = c.max_batch;
  cfg->nbest = c.nbest;
}

}  // namespace echoic::c_api

extern "C" {

void echoic_recognizer_config_default(echoic_recognizer_config* c) {
  if (!c) return;
  echoic::asr::RecognizerConfig d;
  c->model = nullptr;
  c->tokens = nullptr;
  c->decoding_method = "auto";
  c->beam_size = d.beam_size;
  c->hotword_score = d.hotword_score;
  c->lm = "auto";
  c->lm_scale = d.lm_scale;
  c->word_bonus = d.word_bonus;
  c->enable_endpoint = d.enable_endpoint ? 1 : 0;
  c->rule1_min_trailing_silence = d.endpoint.rule1.min_trailing_silence_s;
  c->rule2_min_trailing_silence = d.endpoint.rule2.min_trailing_silence_s;
  c->rule3_max_utterance_length = d.endpoint.rule3.min_utterance_length_s;
  c->num_threads = d.session.intra_op_threads;
  c->cpu_mem_arena = d.session.cpu_mem_arena ? 1 : 0;
  c->max_batch = d.max_batch;
  c->nbest = d.nbest;
  c->vad = nullptr;
  c->vad_model = nullptr;
}

echoic_status echoic_recognizer_create(const echoic_recognizer_config* c, echoic_recognizer** out) {
  return Guard([&] {
    ECHOIC_C_REQUIRE(c);
    ECHOIC_C_REQUIRE(out);
    ECHOIC_CHECK(c->model != nullptr, ErrorCode::kInvalidArgument, "echoic_recognizer_create: config->model is NULL");
    echoic::asr::RecognizerConfig cfg;
    cfg.model = c->model;
    if (c->tokens) cfg.tokens = c->tokens;
    echoic::c_api::CopyDecodingConfig(*c, &cfg);
    if (c->vad) cfg.vad = c->vad;
    if (c->vad_model) cfg.vad_model = c->vad_model;
    auto r = std::make_unique<echoic_recognizer>();
    r->impl = std::make_shared<echoic::asr::Recognizer>(cfg);
    *out = echoic::c_api::Adopt(std::move(r));
  });
}

echoic_status echoic_recognizer_free(echoic_recognizer* r) {
  return echoic::c_api::DestroyHandle(r, "echoic_recognizer_free");
}

echoic_status echoic_stream_create(const echoic_recognizer* r, const char* hotwords, echoic_stream** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    auto s = std::make_unique<echoic_stream>();
    s->impl = r->impl->CreateStream(echoic::c_api::ParseHotwordLines(hotwords));
    *out = echoic::c_api::Adopt(std::move(s));
  });
}

echoic_status echoic_stream_free(echoic_stream* s) { return echoic::c_api::DestroyHandle(s, "echoic_stream_free"); }

echoic_status echoic_stream_accept_waveform(echoic_stream* s, int32_t sample_rate, const float* samples, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument,
                 "echoic_stream_accept_waveform: 'samples' is NULL");
    s->impl->AcceptWaveform(sample_rate, samples, n);
  });
}

echoic_status echoic_stream_input_finished(echoic_stream* s) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    s->impl->InputFinished();
  });
}

echoic_status echoic_stream_report_voice_activity(echoic_stream* s, int32_t is_speech, double seconds) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    s->impl->ReportVoiceActivity(is_speech != 0, seconds);
  });
}

echoic_status echoic_recognizer_is_ready(const echoic_recognizer* r, const echoic_stream* s, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl->IsReady(*s->impl) ? 1 : 0;
  });
}

echoic_status echoic_recognizer_is_done(const echoic_recognizer* r, const echoic_stream* s, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl->IsDone(*s->impl) ? 1 : 0;
  });
}

echoic_status echoic_recognizer_decode(const echoic_recognizer* r, echoic_stream** streams, size_t n) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_CHECK(streams != nullptr || n == 0, ErrorCode::kInvalidArgument,
                 "echoic_recognizer_decode: 'streams' is NULL");
    std::vector<echoic::asr::Stream*> list;
    for (size_t i = 0; i < n; ++i) {
      ECHOIC_CHECK(streams[i] != nullptr, ErrorCode::kInvalidArgument, "echoic_recognizer_decode: streams[", i,
                   "] is NULL");
      if (!echoic::c_api::IsLiveHandle(streams[i], echoic_stream::kHandleType))
        echoic::c_api::FailHandle(streams[i], echoic_stream::kHandleType, "streams[" + std::to_string(i) + "]");
      for (auto* seen : list)
        ECHOIC_CHECK(seen != streams[i]->impl.get(), ErrorCode::kInvalidArgument, "echoic_recognizer_decode: stream ",
                     streams[i]->impl->id(), " is listed twice");
      list.push_back(streams[i]->impl.get());
    }
    r->impl->Decode(list);
  });
}

echoic_status echoic_recognizer_get_partial(const echoic_recognizer* r, const echoic_stream* s, echoic_result** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    auto res = std::make_unique<echoic_result>();
    res->impl = r->impl->GetPartial(*s->impl);
    *out = echoic::c_api::Adopt(std::move(res));
  });
}

echoic_status echoic_stream_pop_final(echoic_stream* s, echoic_result** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(s);
    ECHOIC_C_REQUIRE(out);
    *out = nullptr;
    if (!s->impl->HasFinalResults()) return;
    auto res = std::make_unique<echoic_result>();
    res->impl = s->impl->PopFinalResult();
    *out = echoic::c_api::Adopt(std::move(res));
  });
}

// Value-returning accessors: a bad handle gives the NULL-handle value and sets the last error.
echoic_status echoic_result_text(const echoic_result* r, const char** out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.text.c_str();
  });
}
echoic_status echoic_result_is_final(const echoic_result* r, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.is_final ? 1 : 0;
  });
}
echoic_status echoic_result_segment(const echoic_result* r, int32_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.segment;
  });
}
echoic_status echoic_result_num_words(const echoic_result* r, size_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.words.size();
  });
}
echoic_status echoic_result_stable_words(const echoic_result* r, size_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = static_cast<size_t>(std::max<int32_t>(0, r->impl.stable_words));
  });
}

echoic_status echoic_result_num_alternatives(const echoic_result* r, size_t* out) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(out);
    *out = r->impl.alternatives.size();
  });
}

echoic_status echoic_result_alternative(const echoic_result* r, size_t i, const char** text, double* score) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_C_REQUIRE(text);
    const auto& alts = r->impl.alternatives;
    ECHOIC_CHECK(i < alts.size(), ErrorCode::kInvalidArgument, "echoic_result_alternative: index ", i,
                 " out of range (", alts.size(), " alternatives)");
    *text = alts[i].text.c_str();
    if (score) *score = alts[i].score;
  });
}

echoic_status echoic_result_word(const echoic_result* r, size_t i, const char** word, float* start, float* end,
                                 float* confidence) {
  return Guard([&] {
    ECHOIC_C_HANDLE(r);
    ECHOIC_CHECK(i < r->impl.words.size(), ErrorCode::kInvalidArgument, "echoic_result_word: index ", i,
                 " out of range (", r->impl.words.size(), " words)");
    const auto& w = r->impl.words[i];
    if (word) *word = w.word.c_str();
    if (start) *start = w.start;
    if (end) *end = w.end;
    if (confidence) *confidence = w.confidence;
  });
}

echoic_status echoic_result_free(echoic_result* r) { return echoic::c_api::DestroyHandle(r, "echoic_result_free"); }

}  // extern "C"
