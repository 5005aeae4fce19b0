// Python binding of echoic::kws keyword lookup by example (word_embedding.h, keyword_lookup.h).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "bind.h"
#include "echoic/kws/keyword_lookup.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using Samples = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::vector<float> Vector(const Samples& a, const char* what) {
  ECHOIC_CHECK(a.ndim() == 1, ErrorCode::kInvalidArgument, what, ": expected 1-D samples, got ", a.ndim(), " dims");
  return std::vector<float>(a.data(), a.data() + a.size());
}

kws::LookupOptions Options(const py::dict& d) {
  kws::LookupOptions o;
  for (const auto& kv : d) {
    const std::string k = py::str(kv.first);
    const py::handle v = kv.second;
    if (k == "projection")
      o.embedding.projection = v.is_none() ? std::string() : py::str(v).cast<std::string>();
    else if (k == "slices")
      o.embedding.slices = v.cast<int32_t>();
    else if (k == "dim")
      o.embedding.dim = v.cast<int32_t>();
    else if (k == "seed")
      o.embedding.seed = v.cast<uint64_t>();
    else if (k == "scales")
      o.scales = v.cast<std::vector<float>>();
    else if (k == "min_threshold")
      o.min_threshold = v.cast<float>();
    else if (k == "calibration_margin")
      o.calibration_margin = v.cast<float>();
    else if (k == "threshold_offset")
      o.threshold_offset = v.cast<float>();
    else if (k == "refractory_s")
      o.refractory_s = v.cast<float>();
    else if (k == "overlap_suppression")
      o.overlap_suppression = v.cast<float>();
    else if (k == "hop_frames")
      o.hop_frames = v.cast<int32_t>();
    else
      Fail(ErrorCode::kInvalidArgument, "keyword lookup: unknown option '", k, "'");
  }
  return o;
}

py::dict OptionsDict(const kws::LookupOptions& o) {
  py::dict d;
  d["projection"] = o.embedding.projection;
  d["slices"] = o.embedding.slices;
  d["dim"] = o.embedding.dim;
  d["seed"] = o.embedding.seed;
  d["scales"] = o.scales;
  d["min_threshold"] = o.min_threshold;
  d["calibration_margin"] = o.calibration_margin;
  d["threshold_offset"] = o.threshold_offset;
  d["refractory_s"] = o.refractory_s;
  d["overlap_suppression"] = o.overlap_suppression;
  d["hop_frames"] = o.hop_frames;
  return d;
}

}  // namespace

void BindLookup(py::module_& m) {
  py::class_<kws::FrameEncoder, std::shared_ptr<kws::FrameEncoder>>(m, "FrameEncoder")
      .def(py::init([](const std::string& path, int threads) {
             ort::SessionOptions o;
             o.intra_op_threads = threads;
             return kws::FrameEncoder::Load(path, o);
           }),
           py::arg("path"), py::arg("num_threads") = 1, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("window_frames", &kws::FrameEncoder::window_frames)
      .def_property_readonly("dim", &kws::FrameEncoder::dim)
      .def_property_readonly("name", &kws::FrameEncoder::name)
      .def(
          "encode",
          [](const kws::FrameEncoder& e, const Samples& x) {
            std::vector<float> v = Vector(x, "FrameEncoder.encode");
            std::vector<float> f;
            {
              py::gil_scoped_release release;
              f = e.Encode(v.data(), v.size());
            }
            py::array_t<float> out({static_cast<py::ssize_t>(e.window_frames()), static_cast<py::ssize_t>(e.dim())});
            std::copy(f.begin(), f.end(), out.mutable_data());
            return out;
          },
          py::arg("samples"), "Last hidden states [window_frames, dim] of up to 30 s of 16 kHz audio (zero-padded).");

  py::class_<kws::LookupDetection>(m, "LookupDetection")
      .def_readonly("keyword", &kws::LookupDetection::keyword)
      .def_readonly("start", &kws::LookupDetection::start)
      .def_readonly("end", &kws::LookupDetection::end)
      .def_readonly("score", &kws::LookupDetection::score)
      .def_readonly("threshold", &kws::LookupDetection::threshold)
      .def("__repr__", [](const kws::LookupDetection& d) {
        return "LookupDetection(keyword='" + d.keyword + "', start=" + std::to_string(d.start) +
               ", end=" + std::to_string(d.end) + ", score=" + std::to_string(d.score) + ")";
      });

  py::class_<kws::LookupScanner>(m, "LookupScanner")
      .def(
          "accept",
          [](kws::LookupScanner& s, const Samples& x) {
            std::vector<float> v = Vector(x, "LookupScanner.accept");
            py::gil_scoped_release release;
            s.AcceptWaveform(v.data(), v.size());
          },
          py::arg("samples"), "16 kHz mono samples in [-1, 1], any chunk size.")
      .def("input_finished", &kws::LookupScanner::InputFinished, py::call_guard<py::gil_scoped_release>())
      .def("take_detections", &kws::LookupScanner::TakeDetections)
      .def("reset", &kws::LookupScanner::Reset)
      .def_property_readonly("encoder_seconds", &kws::LookupScanner::encoder_seconds)
      .def_property_readonly("scan_seconds", &kws::LookupScanner::scan_seconds)
      .def_property_readonly("audio_seconds", &kws::LookupScanner::audio_seconds);

  py::class_<kws::KeywordLookup>(m, "KeywordLookup")
      .def(py::init([](std::shared_ptr<kws::FrameEncoder> encoder, const std::string& index_path,
                       const py::dict& options, const py::object& vad, bool read_only) {
             // None: the energy VAD trims enrollment clips.
             std::shared_ptr<const vad::VoiceActivityDetector> proto;
             if (!vad.is_none()) proto = vad.cast<const vad::VoiceActivityDetector&>().Clone();
             return std::make_unique<kws::KeywordLookup>(encoder, index_path, Options(options), proto, read_only);
           }),
           py::arg("encoder"), py::arg("index_path"), py::arg("options") = py::dict(), py::arg("vad") = py::none(),
           py::arg("read_only") = false)
      .def(
          "enroll",
          [](kws::KeywordLookup& l, const std::string& keyword, const std::vector<Samples>& clips) {
            std::vector<std::vector<float>> v;
            for (const auto& c : clips) v.push_back(Vector(c, "KeywordLookup.enroll"));
            py::gil_scoped_release release;
            return l.Enroll(keyword, v);
          },
          py::arg("keyword"), py::arg("clips"))
      .def(
          "examples",
          [](const kws::KeywordLookup& l) {
            py::list out;
            for (const auto& e : l.Examples()) out.append(py::make_tuple(e.id, e.keyword, e.frames, e.threshold));
            return out;
          },
          "[(id, keyword, frames, threshold)] of every enrolled example")
      .def("keywords", &kws::KeywordLookup::Keywords)
      .def("remove", &kws::KeywordLookup::Remove, py::arg("keyword"))
      .def(
          "speech_segments",
          [](const kws::KeywordLookup& l, const Samples& x) {
            std::vector<float> v = Vector(x, "KeywordLookup.speech_segments");
            return l.SpeechSegments(v.data(), v.size());
          },
          py::arg("samples"))
      .def("new_scanner", &kws::KeywordLookup::NewScanner)
      .def_property_readonly("options", [](const kws::KeywordLookup& l) { return OptionsDict(l.options()); })
      .def_property_readonly("embedding_id", &kws::KeywordLookup::embedding_id)
      .def_property_readonly("bytes_per_example",
                             [](const kws::KeywordLookup& l) { return l.index().bytes_per_vector(); })
      .def_property_readonly("stored_bytes_per_example",
                             [](const kws::KeywordLookup& l) { return l.index().stored_bytes_per_vector(); })
      .def_property_readonly("index_path", [](const kws::KeywordLookup& l) { return l.index().path(); })
      .def("close", &kws::KeywordLookup::Close);
}

}  // namespace echoic::python
