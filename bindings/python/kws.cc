// Python binding of echoic::kws: the keyword model and the streaming spotter.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "bind.h"
#include "echoic/kws/keyword_spotter.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using Samples = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::dict Info(const kws::KwsModel& m) {
  const auto& i = m.info();
  py::dict d;
  d["name"] = i.name;
  d["keywords"] = i.keywords;
  d["window_frames"] = i.window_frames;
  d["hop_frames"] = i.hop_frames;
  d["smoothing_hops"] = i.smoothing_hops;
  d["threshold"] = i.default_threshold;
  d["refractory_s"] = i.default_refractory_s;
  d["sample_rate"] = i.fbank.sample_rate;
  d["num_bins"] = i.fbank.num_bins;
  d["frame_shift_ms"] = i.fbank.frame_shift_ms;
  d["input_scale"] = i.input_scale;
  d["fbank_low_freq"] = i.fbank.low_freq;
  d["fbank_high_freq"] = i.fbank.high_freq;
  d["metadata"] = m.session().metadata();
  return d;
}

}  // namespace

void BindKws(py::module_& m) {
  py::class_<kws::KeywordEvent>(m, "KeywordEvent")
      .def_readonly("keyword", &kws::KeywordEvent::keyword)
      .def_readonly("index", &kws::KeywordEvent::index)
      .def_readonly("time", &kws::KeywordEvent::time)
      .def_readonly("score", &kws::KeywordEvent::score)
      .def("__repr__", [](const kws::KeywordEvent& e) {
        return "KeywordEvent(keyword='" + e.keyword + "', time=" + std::to_string(e.time) +
               ", score=" + std::to_string(e.score) + ")";
      });

  py::class_<kws::KwsModel, std::shared_ptr<kws::KwsModel>>(m, "KwsModel")
      .def(py::init([](const std::string& path, int threads) {
             ort::SessionOptions o;
             o.intra_op_threads = threads;
             return kws::KwsModel::FromFile(path, o);
           }),
           py::arg("path"), py::arg("num_threads") = 1, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("info", &Info)
      .def(
          "run",
          [](const kws::KwsModel& model, const Samples& windows) {
            const auto& i = model.info();
            ECHOIC_CHECK(
                windows.ndim() == 3 && windows.shape(1) == i.window_frames && windows.shape(2) == i.fbank.num_bins,
                ErrorCode::kInvalidArgument, "keyword model '", i.name, "': run expects [batch, ", i.window_frames,
                ", ", i.fbank.num_bins, "] features");
            int32_t b = static_cast<int32_t>(windows.shape(0));
            std::vector<float> p;
            {
              py::gil_scoped_release release;
              p = model.Run(windows.data(), b);
            }
            py::array_t<float> out({static_cast<py::ssize_t>(b), static_cast<py::ssize_t>(i.num_classes())});
            std::copy(p.begin(), p.end(), out.mutable_data());
            return out;
          },
          py::arg("windows"), "Posteriors [batch, 1 + keywords] of feature windows.");

  py::class_<kws::KeywordSpotter>(m, "KeywordSpotter")
      .def(py::init([](std::shared_ptr<kws::KwsModel> model, std::vector<float> thresholds, float refractory,
                       int smoothing_hops, int max_batch, bool record_scores) {
             kws::SpotterConfig c;
             c.thresholds = std::move(thresholds);
             c.refractory_s = refractory;
             c.smoothing_hops = smoothing_hops;
             c.max_batch = max_batch;
             c.record_scores = record_scores;
             return std::make_unique<kws::KeywordSpotter>(model, c);
           }),
           py::arg("model"), py::arg("thresholds") = std::vector<float>{}, py::arg("refractory") = -1.f,
           py::arg("smoothing_hops") = 0, py::arg("max_batch") = 16, py::arg("record_scores") = false)
      .def(
          "accept_waveform",
          [](kws::KeywordSpotter& s, const Samples& x) {
            ECHOIC_CHECK(x.ndim() == 1, ErrorCode::kInvalidArgument, "keyword spotter: expected 1-D mono samples, got ",
                         x.ndim(), " dimensions");
            const float* d = x.data();
            size_t n = static_cast<size_t>(x.size());
            py::gil_scoped_release release;
            s.AcceptWaveform(d, n);
          },
          py::arg("samples"), "Float samples in [-1, 1] at the model's sample rate.")
      .def("input_finished", &kws::KeywordSpotter::InputFinished, py::call_guard<py::gil_scoped_release>())
      .def("take_events", &kws::KeywordSpotter::TakeEvents)
      .def(
          "take_scores",
          [](kws::KeywordSpotter& s) {
            std::vector<double> times;
            std::vector<float> sc = s.TakeScores(&times);
            py::ssize_t n = static_cast<py::ssize_t>(times.size());
            py::ssize_t c = s.model().info().num_classes();
            py::array_t<float> a({n, c});
            std::copy(sc.begin(), sc.end(), a.mutable_data());
            py::array_t<double> t(n);
            std::copy(times.begin(), times.end(), t.mutable_data());
            return py::make_tuple(a, t);
          },
          "(scores [windows, classes], end times) recorded since the last call (record_scores=True).")
      .def("reset", &kws::KeywordSpotter::Reset)
      .def_property_readonly("thresholds", &kws::KeywordSpotter::thresholds)
      .def_property_readonly("refractory", &kws::KeywordSpotter::refractory)
      .def_property_readonly("smoothing_hops", &kws::KeywordSpotter::smoothing_hops)
      .def_property_readonly("num_windows", &kws::KeywordSpotter::NumWindows)
      .def_property_readonly("num_model_runs", &kws::KeywordSpotter::NumModelRuns);
}

}  // namespace echoic::python
