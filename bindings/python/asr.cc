// Python access to the CTC decoding layer: the symbol table and a one-shot
// ctc_decode() helper over a [T, V] log-prob matrix (tests, offline use).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "bind.h"
#include "echoic/asr/context_graph.h"
#include "echoic/asr/ctc_greedy_decoder.h"
#include "echoic/asr/ctc_prefix_beam_search.h"
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

}  // namespace

void BindAsr(py::module_& m) {
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

  m.def(
      "ctc_decode",
      [](py::array_t<float, py::array::c_style | py::array::forcecast> log_probs, const py::object& tokens,
         const std::string& method, int beam, const py::object& hotwords, float hotword_score, float frame_shift,
         int chunk_frames) {
        ECHOIC_CHECK(log_probs.ndim() == 2, ErrorCode::kInvalidArgument,
                     "ctc_decode: log_probs must be a 2-D [frames, vocab] array, got ", log_probs.ndim(), " dims");
        ECHOIC_CHECK(method == "greedy" || method == "beam", ErrorCode::kInvalidArgument,
                     "ctc_decode: method must be 'greedy' or 'beam', got '", method, "'");
        ECHOIC_CHECK(chunk_frames >= 0, ErrorCode::kInvalidArgument, "ctc_decode: chunk_frames must be >= 0");
        auto symbols = ToSymbols(tokens);
        const int64_t frames = log_probs.shape(0), vocab = log_probs.shape(1);
        ECHOIC_CHECK(frames < (int64_t{1} << 31) && vocab < (int64_t{1} << 31), ErrorCode::kInvalidArgument,
                     "ctc_decode: log_probs too large");
        ECHOIC_CHECK(vocab == symbols->size(), ErrorCode::kModel, "ctc_decode: log_probs have ", vocab,
                     " classes per frame but '", symbols->source(), "' has ", symbols->size(), " tokens");

        std::shared_ptr<const asr::ContextGraph> graph;
        if (!hotwords.is_none()) {
          ECHOIC_CHECK(method == "beam", ErrorCode::kInvalidArgument,
                       "ctc_decode: hotwords need method='beam'");
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
            p.tokens = asr::EncodeWithTokens(p.label, *symbols);
            phrases.push_back(std::move(p));
          }
          if (!phrases.empty())
            graph = std::make_shared<asr::ContextGraph>(phrases, hotword_score, symbols->size());
        }

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
