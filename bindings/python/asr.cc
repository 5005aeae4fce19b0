// Python access to streaming recognition: Recognizer, Stream, Result and the
// endpoint detector (decoding.cc holds the decoders and the symbol table).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "bind.h"
#include "echoic/asr/endpoint.h"
#include "echoic/asr/recognizer.h"
#include "echoic/asr/result.h"
#include "echoic/decoding/hotwords.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

py::dict ModelInfoDict(const asr::AcousticModelInfo& m) {
  py::dict d;
  d["family"] = m.family;
  d["name"] = m.name;
  d["subsampling_factor"] = m.subsampling;
  d["vocab_size"] = m.vocab_size;
  d["feature_dim"] = m.feature_dim;
  d["sample_rate"] = m.sample_rate;
  d["blank_id"] = m.blank_id;
  d["input_scale"] = m.input_scale;
  d["chunk_frames"] = m.chunk_frames();
  d["chunk_shift_frames"] = m.chunk_shift_frames();
  d["chunk_seconds"] = m.chunk_shift_frames() * 0.01;
  if (const auto* c = dynamic_cast<const asr::StreamingCtcModelInfo*>(&m)) {
    d["num_blocks"] = c->num_blocks;
    d["head"] = c->head;
    d["head_dim"] = c->head_dim;
    d["output_size"] = c->output_size;
    d["cnn_module_kernel"] = c->cnn_kernel;
    d["right_context"] = c->right_context;
    d["chunk_size"] = c->chunk_size;
    d["num_left_chunks"] = c->num_left_chunks;
    d["batchable"] = c->batchable;
  } else if (const auto* t = dynamic_cast<const asr::StreamingTransducerModelInfo*>(&m)) {
    d["model_type"] = t->model_type;
    d["num_encoder_layers"] = t->num_encoder_layers;
    d["d_model"] = t->d_model;
    d["rnn_hidden_size"] = t->rnn_hidden_size;
    d["decode_chunk_len"] = t->decode_chunk_len;
    d["T"] = t->T;
    d["context_size"] = t->context_size;
    d["joiner_dim"] = t->joiner_dim;
    d["batchable"] = true;
  } else if (const auto* w = dynamic_cast<const whisper::WhisperModelInfo*>(&m)) {
    d["n_mels"] = w->n_mels;
    d["n_audio_ctx"] = w->n_audio_ctx;
    d["n_text_ctx"] = w->n_text_ctx;
    d["n_text_state"] = w->n_text_state;
    d["n_text_layer"] = w->n_text_layer;
    d["multilingual"] = w->multilingual;
    d["precision"] = w->precision;
    d["window_seconds"] = w->window_seconds();
  }
  return d;
}

void BindRecognizer(py::module_& m) {
  py::class_<asr::WordInfo>(m, "Word")
      .def_readonly("word", &asr::WordInfo::word)
      .def_readonly("start", &asr::WordInfo::start)
      .def_readonly("end", &asr::WordInfo::end)
      .def_readonly("confidence", &asr::WordInfo::confidence)
      .def("__repr__", [](const asr::WordInfo& w) {
        return "Word(" + py::repr(py::str(w.word)).cast<std::string>() + ", start=" + std::to_string(w.start) +
               ", end=" + std::to_string(w.end) + ")";
      });

  py::class_<asr::Alternative>(m, "Alternative")
      .def_readonly("text", &asr::Alternative::text)
      .def_readonly("score", &asr::Alternative::score,
                    "the decoder's ranking score: higher is better; comparable within one result only")
      .def("__repr__", [](const asr::Alternative& a) {
        return "Alternative(" + py::repr(py::str(a.text)).cast<std::string>() + ", score=" + std::to_string(a.score) +
               ")";
      });

  py::class_<asr::Result>(m, "Result")
      .def_readonly("text", &asr::Result::text)
      .def_readonly("token_ids", &asr::Result::token_ids)
      .def_readonly("tokens", &asr::Result::tokens)
      .def_readonly("token_times", &asr::Result::token_times)
      .def_readonly("token_confidences", &asr::Result::token_confidences)
      .def_readonly("words", &asr::Result::words)
      .def_readonly("is_final", &asr::Result::is_final)
      .def_readonly("segment", &asr::Result::segment)
      .def_readonly("segment_start", &asr::Result::segment_start)
      .def_readonly("model", &asr::Result::model, "model (tier) that produced it")
      .def_readonly("stable_words", &asr::Result::stable_words,
                    "words[:stable_words] will not change in later partials or the final (all words of a final)")
      .def_readonly("alternatives", &asr::Result::alternatives,
                    "finals with nbest > 1: the distinct best texts, best first ([0] is text)")
      .def("__repr__", [](const asr::Result& r) {
        return std::string("Result(") + (r.is_final ? "final" : "partial") + ", segment=" + std::to_string(r.segment) +
               ", text=" + py::repr(py::str(r.text)).cast<std::string>() + ")";
      });

  py::class_<asr::RecognizerConfig>(m, "RecognizerConfig")
      .def(py::init<>())
      .def_readwrite("model", &asr::RecognizerConfig::model)
      .def_readwrite("tokens", &asr::RecognizerConfig::tokens)
      .def_readwrite("decoding_method", &asr::RecognizerConfig::decoding_method)
      .def_readwrite("beam_size", &asr::RecognizerConfig::beam_size)
      .def_readwrite("hotword_score", &asr::RecognizerConfig::hotword_score)
      .def_readwrite("nbest", &asr::RecognizerConfig::nbest)
      .def_readwrite("lm", &asr::RecognizerConfig::lm)
      .def_readwrite("lm_scale", &asr::RecognizerConfig::lm_scale)
      .def_readwrite("word_bonus", &asr::RecognizerConfig::word_bonus)
      .def_readwrite("enable_endpoint", &asr::RecognizerConfig::enable_endpoint)
      .def_readwrite("max_batch", &asr::RecognizerConfig::max_batch)
      .def_readwrite("vad", &asr::RecognizerConfig::vad)
      .def_readwrite("vad_model", &asr::RecognizerConfig::vad_model)
      .def_property(
          "rule1_min_trailing_silence",
          [](const asr::RecognizerConfig& c) { return c.endpoint.rule1.min_trailing_silence_s; },
          [](asr::RecognizerConfig& c, float v) { c.endpoint.rule1.min_trailing_silence_s = v; })
      .def_property(
          "rule2_min_trailing_silence",
          [](const asr::RecognizerConfig& c) { return c.endpoint.rule2.min_trailing_silence_s; },
          [](asr::RecognizerConfig& c, float v) { c.endpoint.rule2.min_trailing_silence_s = v; })
      .def_property(
          "rule3_max_utterance_length",
          [](const asr::RecognizerConfig& c) { return c.endpoint.rule3.min_utterance_length_s; },
          [](asr::RecognizerConfig& c, float v) { c.endpoint.rule3.min_utterance_length_s = v; })
      .def_property(
          "intra_op_threads", [](const asr::RecognizerConfig& c) { return c.session.intra_op_threads; },
          [](asr::RecognizerConfig& c, int v) { c.session.intra_op_threads = v; })
      .def_property(
          "inter_op_threads", [](const asr::RecognizerConfig& c) { return c.session.inter_op_threads; },
          [](asr::RecognizerConfig& c, int v) { c.session.inter_op_threads = v; })
      .def_property(
          "cpu_mem_arena", [](const asr::RecognizerConfig& c) { return c.session.cpu_mem_arena; },
          [](asr::RecognizerConfig& c, bool v) { c.session.cpu_mem_arena = v; })
      .def_property(
          "mem_pattern", [](const asr::RecognizerConfig& c) { return c.session.mem_pattern; },
          [](asr::RecognizerConfig& c, bool v) { c.session.mem_pattern = v; })
      .def_property(
          "shared_arena", [](const asr::RecognizerConfig& c) { return c.session.shared_arena; },
          [](asr::RecognizerConfig& c, bool v) { c.session.shared_arena = v; })
      .def_property(
          "prepacking", [](const asr::RecognizerConfig& c) { return c.session.prepacking; },
          [](asr::RecognizerConfig& c, bool v) { c.session.prepacking = v; })
      .def_property(
          "ort_library", [](const asr::RecognizerConfig& c) { return c.session.ort_library; },
          [](asr::RecognizerConfig& c, const std::string& v) { c.session.ort_library = v; });

  py::class_<asr::Stream>(m, "Stream")
      .def_property_readonly("id", &asr::Stream::id)
      .def_property_readonly("state_bytes", &asr::Stream::StateBytes)
      .def_property_readonly("segment", &asr::Stream::segment)
      .def_property_readonly("seconds_received", &asr::Stream::seconds_received)
      .def_property_readonly("input_is_finished", &asr::Stream::input_finished)
      .def(
          "accept_waveform",
          [](asr::Stream& s, int32_t sample_rate, py::array_t<float, py::array::c_style | py::array::forcecast> x,
             bool return_model_rate_audio) -> py::object {
            if (x.ndim() != 1)
              throw Error(ErrorCode::kInvalidArgument,
                          "stream " + std::to_string(s.id()) + ": accept_waveform takes a 1-D array");
            if (!return_model_rate_audio) {
              s.AcceptWaveform(sample_rate, x.data(), static_cast<size_t>(x.size()));
              return py::none();
            }
            std::vector<float> y;
            s.AcceptWaveform(sample_rate, x.data(), static_cast<size_t>(x.size()), &y);
            py::array_t<float> out(static_cast<py::ssize_t>(y.size()));
            std::copy(y.begin(), y.end(), out.mutable_data());
            return std::move(out);
          },
          py::arg("sample_rate"), py::arg("samples"), py::arg("return_model_rate_audio") = false,
          "Adds audio. return_model_rate_audio: also return the chunk as the stream resampled it (float32 at the "
          "model's rate), for a host-side VAD reporting with report_voice_activity.")
      .def("input_finished", &asr::Stream::InputFinished)
      .def("report_voice_activity", &asr::Stream::ReportVoiceActivity, py::arg("is_speech"), py::arg("seconds"))
      .def("pop_final_results", &asr::Stream::PopFinalResults);

  py::class_<asr::Recognizer, std::shared_ptr<asr::Recognizer>>(m, "Recognizer")
      .def(py::init<const asr::RecognizerConfig&>(), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("model_info", [](const asr::Recognizer& r) { return ModelInfoDict(r.model_info()); })
      .def_property_readonly("decoding_method", [](const asr::Recognizer& r) { return r.config().decoding_method; })
      .def_property_readonly(
          "word_lm",
          [](const asr::Recognizer& r) -> py::object {
            const decoding::WordLm* lm = r.word_lm();
            if (!lm) return py::none();
            py::dict d;
            d["path"] = lm->source();
            d["words"] = lm->num_words();
            d["order"] = lm->order();
            d["scale"] = lm->config().scale;
            d["word_bonus"] = lm->config().word_bonus;
            return d;
          },
          "The word LM beam search uses (path, words, order, scale, word_bonus), or None.")
      .def(
          "create_stream",
          [](const asr::Recognizer& r, const std::vector<std::pair<std::string, float>>& hotwords) {
            std::vector<decoding::Hotword> hw;
            for (const auto& [phrase, score] : hotwords) hw.push_back({phrase, score});
            return r.CreateStream(hw);
          },
          py::arg("hotwords") = std::vector<std::pair<std::string, float>>{}, py::keep_alive<0, 1>())
      .def(
          "memory_report",
          [](const asr::Recognizer& r, int64_t streams) {
            if (streams < 0) throw Error(ErrorCode::kInvalidArgument, "memory_report: streams must be >= 0");
            const asr::MemoryReport m = r.memory_report();
            py::dict d;
            d["model_file_bytes"] = m.model_file_bytes;
            d["load_bytes"] = m.load_bytes;
            d["first_run_bytes"] = m.first_run_bytes;
            d["stream_bytes"] = m.stream_bytes;
            d["max_batch"] = m.max_batch;
            d["streams"] = streams;
            d["estimated_bytes"] = m.EstimatedBytes(streams);
            return d;
          },
          py::arg("streams") = 1,
          "Memory this recognizer costs (bytes): model files, RSS growth at load and over the first decode "
          "(-1 before it), per stream, and the estimate for `streams` streams.")
      .def("is_ready", &asr::Recognizer::IsReady)
      .def("is_done", &asr::Recognizer::IsDone)
      .def("decode", &asr::Recognizer::Decode, py::call_guard<py::gil_scoped_release>())
      .def("decode_available", &asr::Recognizer::DecodeAvailable, py::call_guard<py::gil_scoped_release>())
      .def("partial", &asr::Recognizer::GetPartial, py::call_guard<py::gil_scoped_release>());
}

}  // namespace

void BindAsr(py::module_& m) {
  BindRecognizer(m);
  py::class_<asr::EndpointDetector>(m, "EndpointDetector", "Three-rule endpointing (rule 1/2/3 as in sherpa-onnx).")
      .def(py::init([](float rule1_silence, float rule2_silence, float rule3_length) {
             asr::EndpointConfig c;
             c.rule1.min_trailing_silence_s = rule1_silence;
             c.rule2.min_trailing_silence_s = rule2_silence;
             c.rule3.min_utterance_length_s = rule3_length;
             return asr::EndpointDetector(c);
           }),
           py::arg("rule1_silence") = 2.4f, py::arg("rule2_silence") = 1.2f, py::arg("rule3_length") = 20.f)
      .def("update", &asr::EndpointDetector::Update, py::arg("decoded_something"), py::arg("trailing_silence"),
           py::arg("utterance_length"), "True at an endpoint.")
      .def_property_readonly("last_rule", &asr::EndpointDetector::last_rule);
}

}  // namespace echoic::python
