// Python access to the CTC decoding layer: the symbol table and a one-shot
// ctc_decode() helper over a [T, V] log-prob matrix (tests, offline use).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "bind.h"
#include "echoic/asr/context_graph.h"
#include "echoic/asr/hotwords.h"
#include "echoic/asr/ctc_greedy_decoder.h"
#include "echoic/asr/ctc_prefix_beam_search.h"
#include "echoic/asr/recognizer.h"
#include "echoic/asr/endpoint.h"
#include "echoic/asr/result.h"
#include "echoic/asr/symbol_table.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using asr::SymbolTable;

std::shared_ptr<const SymbolTable> ToSymbols(const py::object& tokens) {
  if (py::isinstance<SymbolTable>(tokens)) return tokens.cast<std::shared_ptr<SymbolTable>>();
  py::object fspath = py::module_::import("os").attr("fspath");
  std::string path;
  try {
    path = fspath(tokens).cast<std::string>();
  } catch (const py::error_already_set&) {
    Fail(ErrorCode::kInvalidArgument, "ctc_decode: tokens must be a path to tokens.txt or a SymbolTable");
  }
  return std::make_shared<SymbolTable>(SymbolTable::FromFile(path));
}

py::dict ResultToDict(const asr::Result& r) {
  py::dict d;
  d["text"] = r.text;
  d["token_ids"] = r.token_ids;
  d["tokens"] = r.tokens;
  d["token_times"] = r.token_times;
  d["token_confidences"] = r.token_confidences;
  py::list words;
  for (const auto& w : r.words) {
    py::dict wd;
    wd["word"] = w.word;
    wd["start"] = w.start;
    wd["end"] = w.end;
    wd["confidence"] = w.confidence;
    words.append(wd);
  }
  d["words"] = words;
  d["is_final"] = r.is_final;
  d["segment"] = r.segment;
  d["segment_start"] = r.segment_start;
  return d;
}

std::shared_ptr<const asr::ContextGraph> MakeGraph(const py::object& hotwords, float hotword_score,
                                                   const SymbolTable& symbols) {
  if (hotwords.is_none()) return nullptr;
  std::vector<asr::ContextPhrase> phrases;
  for (py::handle h : hotwords) {
    asr::ContextPhrase p;
    if (py::isinstance<py::str>(h)) {
      p.label = h.cast<std::string>();
    } else {
      auto pair = h.cast<std::pair<std::string, float>>();
      p.label = pair.first;
      p.boost = pair.second;
    }
    p.tokens = asr::EncodeWithTokens(p.label, symbols);
    phrases.push_back(std::move(p));
  }
  if (phrases.empty()) return nullptr;
  return std::make_shared<asr::ContextGraph>(phrases, hotword_score, symbols.size());
}

using LogProbs = py::array_t<float, py::array::c_style | py::array::forcecast>;

void CheckMatrix(const LogProbs& a, const SymbolTable& symbols, const char* who) {
  ECHOIC_CHECK(a.ndim() == 2, ErrorCode::kInvalidArgument, who, ": log_probs must be a 2-D [frames, vocab] array, got ",
               a.ndim(), " dims");
  ECHOIC_CHECK(a.shape(0) < (int64_t{1} << 31), ErrorCode::kInvalidArgument, who, ": log_probs too large");
  ECHOIC_CHECK(a.shape(1) == symbols.size(), ErrorCode::kModel, who, ": log_probs have ", a.shape(1),
               " classes per frame but '", symbols.source(), "' has ", symbols.size(), " tokens");
}

// One stream's decoder for Python: greedy or beam, fed chunk by chunk.
class StreamDecoder {
 public:
  StreamDecoder(const py::object& tokens, const std::string& method, int beam, const py::object& hotwords,
                float hotword_score, float frame_shift)
      : symbols_(ToSymbols(tokens)), frame_shift_(frame_shift) {
    ECHOIC_CHECK(method == "greedy" || method == "beam", ErrorCode::kInvalidArgument,
                 "CtcDecoder: method must be 'greedy' or 'beam', got '", method, "'");
    ECHOIC_CHECK(std::isfinite(frame_shift) && frame_shift > 0.f, ErrorCode::kInvalidArgument,
                 "CtcDecoder: frame_shift must be > 0 seconds, got ", frame_shift);
    auto graph = MakeGraph(hotwords, hotword_score, *symbols_);
    if (method == "greedy") {
      ECHOIC_CHECK(!graph, ErrorCode::kInvalidArgument, "CtcDecoder: hotwords need method='beam'");
      greedy_ = std::make_unique<asr::CtcGreedyDecoder>(symbols_->size(), symbols_->blank_id());
    } else {
      asr::CtcBeamSearchConfig cfg;
      cfg.beam = beam;
      beam_ = std::make_unique<asr::CtcPrefixBeamSearch>(symbols_->size(), symbols_->blank_id(), cfg, graph);
    }
  }

  void Accept(const LogProbs& a) {
    CheckMatrix(a, *symbols_, "CtcDecoder.accept");
    const int32_t T = static_cast<int32_t>(a.shape(0)), V = static_cast<int32_t>(a.shape(1));
    const float* data = a.data();
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);  // decoding runs without the GIL
    if (greedy_) greedy_->Accept(data, T, V);
    else beam_->Accept(data, T, V);
  }

  asr::Result Result(bool final) const {
    std::lock_guard<std::mutex> lock(mu_);
    asr::Hypothesis h = greedy_ ? greedy_->Best() : beam_->Best(final);
    return asr::MakeResult(h, *symbols_, frame_shift_, segment_start_, segment_, final);
  }
  int64_t NumFrames() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Frames();
  }
  float TrailingSilence() const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = greedy_ ? greedy_->trailing_blank_frames() : beam_->trailing_blank_frames();
    return static_cast<float>(n) * frame_shift_;
  }
  bool DecodedSomething() const {
    std::lock_guard<std::mutex> lock(mu_);
    return greedy_ ? greedy_->decoded_something() : beam_->decoded_something();
  }
  // Starts the next segment; its frames count from 0 again.
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    segment_start_ += static_cast<float>(Frames()) * frame_shift_;
    ++segment_;
    if (greedy_) greedy_->Reset();
    else beam_->Reset();
  }

 private:
  int64_t Frames() const { return greedy_ ? greedy_->num_frames() : beam_->num_frames(); }
  mutable std::mutex mu_;
  std::shared_ptr<const SymbolTable> symbols_;
  float frame_shift_;
  float segment_start_ = 0.f;
  int32_t segment_ = 0;
  std::unique_ptr<asr::CtcGreedyDecoder> greedy_;
  std::unique_ptr<asr::CtcPrefixBeamSearch> beam_;
};

}  // namespace

// ---- streaming recognizer ------------------------------------------------

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
  m.def(
      "parse_hotwords",
      [](const std::string& text) {
        std::vector<std::pair<std::string, float>> out;
        for (const auto& h : asr::ParseHotwords(text)) out.emplace_back(h.phrase, h.score);
        return out;
      },
      py::arg("text"),
      "(phrase, boost) pairs from text in the hotword grammar: one phrase per line, an optional boost "
      "after a TAB or ' :', '#' comment lines; phrases normalised like transcripts (boost 0: the default).");
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
        return std::string("Result(") + (r.is_final ? "final" : "partial") + ", segment=" +
               std::to_string(r.segment) + ", text=" + py::repr(py::str(r.text)).cast<std::string>() + ")";
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
          "rule1_min_trailing_silence", [](const asr::RecognizerConfig& c) { return c.endpoint.rule1.min_trailing_silence_s; },
          [](asr::RecognizerConfig& c, float v) { c.endpoint.rule1.min_trailing_silence_s = v; })
      .def_property(
          "rule2_min_trailing_silence", [](const asr::RecognizerConfig& c) { return c.endpoint.rule2.min_trailing_silence_s; },
          [](asr::RecognizerConfig& c, float v) { c.endpoint.rule2.min_trailing_silence_s = v; })
      .def_property(
          "rule3_max_utterance_length", [](const asr::RecognizerConfig& c) { return c.endpoint.rule3.min_utterance_length_s; },
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
      .def("accept_waveform",
           [](asr::Stream& s, int32_t sample_rate, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
             if (x.ndim() != 1) throw Error(ErrorCode::kInvalidArgument, "stream " + std::to_string(s.id()) +
                                                                             ": accept_waveform takes a 1-D array");
             s.AcceptWaveform(sample_rate, x.data(), static_cast<size_t>(x.size()));
           })
      .def("input_finished", &asr::Stream::InputFinished)
      .def("report_voice_activity", &asr::Stream::ReportVoiceActivity, py::arg("is_speech"), py::arg("seconds"))
      .def("pop_final_results", &asr::Stream::PopFinalResults);

  py::class_<asr::Recognizer, std::shared_ptr<asr::Recognizer>>(m, "Recognizer")
      .def(py::init<const asr::RecognizerConfig&>(), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("model_info", [](const asr::Recognizer& r) { return ModelInfoDict(r.model_info()); })
      .def_property_readonly("decoding_method", [](const asr::Recognizer& r) { return r.config().decoding_method; })
      .def_property_readonly("word_lm", [](const asr::Recognizer& r) -> py::object {
        const asr::WordLm* lm = r.word_lm();
        if (!lm) return py::none();
        py::dict d;
        d["path"] = lm->source();
        d["words"] = lm->num_words();
        d["order"] = lm->order();
        d["scale"] = lm->config().scale;
        d["word_bonus"] = lm->config().word_bonus;
        return d;
      }, "The word LM beam search uses (path, words, order, scale, word_bonus), or None.")
      .def("create_stream",
           [](const asr::Recognizer& r, const std::vector<std::pair<std::string, float>>& hotwords) {
             std::vector<asr::Hotword> hw;
             for (const auto& [phrase, score] : hotwords) hw.push_back({phrase, score});
             return r.CreateStream(hw);
           },
           py::arg("hotwords") = std::vector<std::pair<std::string, float>>{},
           py::keep_alive<0, 1>())
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
  py::class_<SymbolTable, std::shared_ptr<SymbolTable>>(m, "SymbolTable",
                                                        "Token vocabulary of a CTC model (tokens.txt).")
      .def_static("from_file", [](const py::object& path) {
            std::string p = py::module_::import("os").attr("fspath")(path).cast<std::string>();
            return std::make_shared<SymbolTable>(SymbolTable::FromFile(p));
          }, py::arg("path"), "Loads 'symbol id' lines from a file.")
      .def_static("from_string", [](const std::string& text, const std::string& name) {
            return std::make_shared<SymbolTable>(SymbolTable::FromString(text, name));
          }, py::arg("text"), py::arg("name") = "<string>")
      .def("__len__", &SymbolTable::size)
      .def_property_readonly("blank_id", &SymbolTable::blank_id)
      .def_property_readonly("source", &SymbolTable::source)
      .def("token", &SymbolTable::Token, py::arg("id"))
      .def("id", &SymbolTable::Id, py::arg("symbol"))
      .def("__contains__", [](const SymbolTable& t, const std::string& s) { return t.Contains(s); })
      .def("detokenize", &SymbolTable::Detokenize, py::arg("ids"), "Token ids -> text.")
      .def("group_words", &SymbolTable::GroupWords, py::arg("ids"),
           "Positions in `ids` grouped into words.")
      .def("encode", [](const SymbolTable& t, const std::string& text) { return asr::EncodeWithTokens(text, t); },
           py::arg("text"), "Greedy longest-match encoding (for hotwords).")
      .def("__repr__", [](const SymbolTable& t) {
        return "<echoic.SymbolTable " + std::to_string(t.size()) + " tokens from '" + t.source() + "'>";
      });

  py::class_<StreamDecoder>(m, "CtcDecoder",
                            "Streaming CTC decoder for one stream: feed [frames, vocab] log-prob chunks.")
      .def(py::init<const py::object&, const std::string&, int, const py::object&, float, float>(), py::arg("tokens"),
           py::arg("method") = "greedy", py::arg("beam") = 4, py::arg("hotwords") = py::none(),
           py::arg("hotword_score") = 1.5f, py::arg("frame_shift") = 0.04f)
      .def("accept", &StreamDecoder::Accept, py::arg("log_probs"))
      .def("result", [](const StreamDecoder& d, bool final) { return ResultToDict(d.Result(final)); },
           py::arg("final") = false, "Current best result; final=True drops unfinished hotword boosts.")
      .def_property_readonly("num_frames", &StreamDecoder::NumFrames)
      .def_property_readonly("trailing_silence", &StreamDecoder::TrailingSilence,
                             "Seconds of trailing blank frames (for endpointing).")
      .def_property_readonly("decoded_something", &StreamDecoder::DecodedSomething)
      .def("reset", &StreamDecoder::Reset, "Starts the next segment (times keep counting from the stream start).");

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

  m.def(
      "ctc_decode",
      [](const LogProbs& log_probs, const py::object& tokens,
         const std::string& method, int beam, const py::object& hotwords, float hotword_score, float frame_shift,
         int chunk_frames) {
        ECHOIC_CHECK(method == "greedy" || method == "beam", ErrorCode::kInvalidArgument,
                     "ctc_decode: method must be 'greedy' or 'beam', got '", method, "'");
        ECHOIC_CHECK(chunk_frames >= 0, ErrorCode::kInvalidArgument, "ctc_decode: chunk_frames must be >= 0");
        auto symbols = ToSymbols(tokens);
        CheckMatrix(log_probs, *symbols, "ctc_decode");
        const int64_t frames = log_probs.shape(0), vocab = log_probs.shape(1);
        if (!hotwords.is_none())
          ECHOIC_CHECK(method == "beam", ErrorCode::kInvalidArgument, "ctc_decode: hotwords need method='beam'");
        auto graph = MakeGraph(hotwords, hotword_score, *symbols);

        const float* data = log_probs.data();
        const int32_t T = static_cast<int32_t>(frames), V = static_cast<int32_t>(vocab);
        const int32_t step = chunk_frames > 0 ? chunk_frames : std::max<int32_t>(T, 1);
        asr::Hypothesis hyp;
        {
          py::gil_scoped_release release;
          auto feed = [&](auto& dec) {
            for (int32_t t = 0; t < T; t += step)
              dec.Accept(data + static_cast<int64_t>(t) * V, std::min(step, T - t), V);
          };
          if (method == "greedy") {
            asr::CtcGreedyDecoder dec(V, symbols->blank_id());
            feed(dec);
            hyp = dec.Best();
          } else {
            asr::CtcBeamSearchConfig cfg;
            cfg.beam = beam;
            asr::CtcPrefixBeamSearch dec(V, symbols->blank_id(), cfg, graph);
            feed(dec);
            hyp = dec.Best(/*finalize=*/true);
          }
        }
        return ResultToDict(asr::MakeResult(hyp, *symbols, frame_shift, 0.f, 0, true));
      },
      py::arg("log_probs"), py::arg("tokens"), py::arg("method") = "greedy", py::arg("beam") = 4,
      py::arg("hotwords") = py::none(), py::arg("hotword_score") = 1.5f, py::arg("frame_shift") = 0.04f,
      py::arg("chunk_frames") = 0,
      "Decodes a [frames, vocab] CTC log-prob matrix. tokens: tokens.txt path or SymbolTable. hotwords: list of "
      "str or (str, per-token boost); beam only. chunk_frames > 0 feeds the decoder in chunks (results are the "
      "same). Returns a dict: text, token_ids, tokens, token_times, token_confidences, words, ...");
}

}  // namespace echoic::python
