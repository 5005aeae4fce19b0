// Python access to the decoding layer: the symbol table, the hotword grammar, and
// CtcDecoder / ctc_decode() over [frames, vocab] log-prob matrices (tests, offline
// use). Both build their decoder with the core's MakeCtcDecoder, the recognizer's
// own factory, so they decode (hotword gating included) as production does.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "bind.h"
#include "echoic/asr/result.h"
#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/hotwords.h"
#include "echoic/decoding/segment_decoder.h"
#include "echoic/decoding/symbol_table.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using decoding::SymbolTable;

std::shared_ptr<const SymbolTable> ToSymbols(const py::object& tokens, const char* who) {
  if (py::isinstance<SymbolTable>(tokens)) return tokens.cast<std::shared_ptr<SymbolTable>>();
  py::object fspath = py::module_::import("os").attr("fspath");
  std::string path;
  try {
    path = fspath(tokens).cast<std::string>();
  } catch (const py::error_already_set&) {
    Fail(ErrorCode::kInvalidArgument, who, ": tokens must be a path to tokens.txt or a SymbolTable");
  }
  return std::make_shared<SymbolTable>(SymbolTable::FromFile(path));
}

// None, or a list of phrases / (phrase, boost) pairs, each through the core's hotword rules.
std::vector<decoding::Hotword> ToHotwords(const py::object& hotwords, const char* who) {
  std::vector<decoding::Hotword> out;
  if (hotwords.is_none()) return out;
  ECHOIC_CHECK(!py::isinstance<py::str>(hotwords), ErrorCode::kInvalidArgument, who,
               ": hotwords is a list of phrases or (phrase, boost) pairs, not one str");
  for (py::handle h : hotwords) {
    if (py::isinstance<py::str>(h)) {
      out.push_back(decoding::MakeHotword(h.cast<std::string>(), 0.f, who));
    } else {
      auto pair = h.cast<std::pair<std::string, float>>();
      out.push_back(decoding::MakeHotword(pair.first, pair.second, who));
    }
  }
  decoding::CheckHotwordLimits(out);
  return out;
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

using LogProbs = py::array_t<float, py::array::c_style | py::array::forcecast>;

void CheckMatrix(const LogProbs& a, const SymbolTable& symbols, const char* who) {
  ECHOIC_CHECK(a.ndim() == 2, ErrorCode::kInvalidArgument, who, ": log_probs must be a 2-D [frames, vocab] array, got ",
               a.ndim(), " dims");
  ECHOIC_CHECK(a.shape(0) < (int64_t{1} << 31), ErrorCode::kInvalidArgument, who, ": log_probs too large");
  ECHOIC_CHECK(a.shape(1) == symbols.size(), ErrorCode::kModel, who, ": log_probs have ", a.shape(1),
               " classes per frame but '", symbols.source(), "' has ", symbols.size(), " tokens");
}

void CheckFrameShift(float frame_shift, const char* who) {
  ECHOIC_CHECK(std::isfinite(frame_shift) && frame_shift > 0.f, ErrorCode::kInvalidArgument, who,
               ": frame_shift must be > 0 seconds, got ", frame_shift);
}

// One stream's CTC decoder for Python, fed chunk by chunk.
class StreamDecoder {
 public:
  StreamDecoder(const py::object& tokens, const std::string& method, int beam, const py::object& hotwords,
                float hotword_score, float frame_shift)
      : symbols_(ToSymbols(tokens, "CtcDecoder")), frame_shift_(frame_shift) {
    CheckFrameShift(frame_shift, "CtcDecoder");
    decoder_ = decoding::MakeCtcDecoder(*symbols_, symbols_->blank_id(), method, beam,
                                        ToHotwords(hotwords, "CtcDecoder"), hotword_score);
  }

  void Accept(const LogProbs& a) {
    CheckMatrix(a, *symbols_, "CtcDecoder.accept");
    const int32_t T = static_cast<int32_t>(a.shape(0)), V = static_cast<int32_t>(a.shape(1));
    const float* data = a.data();
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);  // decoding runs without the GIL
    decoder_->Accept(data, T, V);
    frames_ += T;
  }

  asr::Result Result(bool final) const {
    std::lock_guard<std::mutex> lock(mu_);
    return asr::MakeResult(decoder_->Best(final), *symbols_, frame_shift_, segment_start_, segment_, final);
  }
  int64_t NumFrames() const {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }
  float TrailingSilence() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<float>(decoder_->TrailingBlankFrames()) * frame_shift_;
  }
  bool DecodedSomething() const {
    std::lock_guard<std::mutex> lock(mu_);
    return decoder_->DecodedSomething();
  }
  // Starts the next segment; its frames count from 0 again.
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    segment_start_ += static_cast<float>(frames_) * frame_shift_;
    ++segment_;
    frames_ = 0;
    decoder_->Reset();
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const SymbolTable> symbols_;
  float frame_shift_;
  float segment_start_ = 0.f;
  int32_t segment_ = 0;
  int64_t frames_ = 0;  // since the last Reset
  std::unique_ptr<decoding::SegmentDecoder> decoder_;
};

}  // namespace

void BindDecoding(py::module_& m) {
  m.def(
      "parse_hotwords",
      [](const std::string& text) {
        std::vector<std::pair<std::string, float>> out;
        for (const auto& h : decoding::ParseHotwords(text)) out.emplace_back(h.phrase, h.score);
        return out;
      },
      py::arg("text"),
      "(phrase, boost) pairs from text in the hotword grammar: one phrase per line, an optional boost "
      "after a TAB or ' :', '#' comment lines; phrases normalised like transcripts (boost 0: the default).");

  py::class_<SymbolTable, std::shared_ptr<SymbolTable>>(m, "SymbolTable",
                                                        "Token vocabulary of a CTC model (tokens.txt).")
      .def_static(
          "from_file",
          [](const py::object& path) {
            std::string p = py::module_::import("os").attr("fspath")(path).cast<std::string>();
            return std::make_shared<SymbolTable>(SymbolTable::FromFile(p));
          },
          py::arg("path"), "Loads 'symbol id' lines from a file.")
      .def_static(
          "from_string",
          [](const std::string& text, const std::string& name) {
            return std::make_shared<SymbolTable>(SymbolTable::FromString(text, name));
          },
          py::arg("text"), py::arg("name") = "<string>")
      .def("__len__", &SymbolTable::size)
      .def_property_readonly("blank_id", &SymbolTable::blank_id)
      .def_property_readonly("source", &SymbolTable::source)
      .def("token", &SymbolTable::Token, py::arg("id"))
      .def("id", &SymbolTable::Id, py::arg("symbol"))
      .def("__contains__", [](const SymbolTable& t, const std::string& s) { return t.Contains(s); })
      .def("detokenize", &SymbolTable::Detokenize, py::arg("ids"), "Token ids -> text.")
      .def("group_words", &SymbolTable::GroupWords, py::arg("ids"), "Positions in `ids` grouped into words.")
      .def(
          "encode", [](const SymbolTable& t, const std::string& text) { return decoding::EncodeWithTokens(text, t); },
          py::arg("text"), "Greedy longest-match encoding (for hotwords).")
      .def("__repr__", [](const SymbolTable& t) {
        return "<echoic.SymbolTable " + std::to_string(t.size()) + " tokens from '" + t.source() + "'>";
      });

  py::class_<StreamDecoder>(m, "CtcDecoder",
                            "Streaming CTC decoder for one stream, as the recognizer builds it: feed [frames, vocab] "
                            "log-prob chunks. Hotwords (with either method) gate a biased beam search.")
      .def(py::init<const py::object&, const std::string&, int, const py::object&, float, float>(), py::arg("tokens"),
           py::arg("method") = "greedy", py::arg("beam") = 4, py::arg("hotwords") = py::none(),
           py::arg("hotword_score") = 1.5f, py::arg("frame_shift") = 0.04f)
      .def("accept", &StreamDecoder::Accept, py::arg("log_probs"))
      .def(
          "result", [](const StreamDecoder& d, bool final) { return ResultToDict(d.Result(final)); },
          py::arg("final") = false, "Current best result; final=True drops unfinished hotword boosts.")
      .def_property_readonly("num_frames", &StreamDecoder::NumFrames)
      .def_property_readonly("trailing_silence", &StreamDecoder::TrailingSilence,
                             "Seconds of trailing blank frames (for endpointing).")
      .def_property_readonly("decoded_something", &StreamDecoder::DecodedSomething)
      .def("reset", &StreamDecoder::Reset, "Starts the next segment (times keep counting from the stream start).");

  m.def(
      "ctc_decode",
      [](const LogProbs& log_probs, const py::object& tokens, const std::string& method, int beam,
         const py::object& hotwords, float hotword_score, float frame_shift, int chunk_frames) {
        ECHOIC_CHECK(chunk_frames >= 0, ErrorCode::kInvalidArgument, "ctc_decode: chunk_frames must be >= 0");
        CheckFrameShift(frame_shift, "ctc_decode");
        auto symbols = ToSymbols(tokens, "ctc_decode");
        CheckMatrix(log_probs, *symbols, "ctc_decode");
        std::unique_ptr<decoding::SegmentDecoder> dec = decoding::MakeCtcDecoder(
            *symbols, symbols->blank_id(), method, beam, ToHotwords(hotwords, "ctc_decode"), hotword_score);
        const float* data = log_probs.data();
        const int32_t T = static_cast<int32_t>(log_probs.shape(0)), V = static_cast<int32_t>(log_probs.shape(1));
        const int32_t step = chunk_frames > 0 ? chunk_frames : std::max<int32_t>(T, 1);
        decoding::Hypothesis hyp;
        {
          py::gil_scoped_release release;
          for (int32_t t = 0; t < T; t += step)
            dec->Accept(data + static_cast<int64_t>(t) * V, std::min(step, T - t), V);
          hyp = dec->Best(/*finalize=*/true);
        }
        return ResultToDict(asr::MakeResult(hyp, *symbols, frame_shift, 0.f, 0, true));
      },
      py::arg("log_probs"), py::arg("tokens"), py::arg("method") = "greedy", py::arg("beam") = 4,
      py::arg("hotwords") = py::none(), py::arg("hotword_score") = 1.5f, py::arg("frame_shift") = 0.04f,
      py::arg("chunk_frames") = 0,
      "Decodes a [frames, vocab] CTC log-prob matrix with the recognizer's decoder. tokens: tokens.txt path or "
      "SymbolTable. hotwords: list of str or (str, per-token boost), gated as in the recognizer (the biased beam "
      "search wins only where it completes a hotword). chunk_frames > 0 feeds the decoder in chunks (results are "
      "the same). Returns a dict: text, token_ids, tokens, token_times, token_confidences, words, ...");
}

}  // namespace echoic::python
