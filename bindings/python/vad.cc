// Python binding of echoic::vad: the detector interface and its three
// implementations (Silero, energy, host-reported decisions).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>

#include "bind.h"
#include "echoic/audio/samples.h"
#include "echoic/runtime/error.h"
#include "echoic/vad/energy_vad.h"
#include "echoic/vad/external_vad.h"
#include "echoic/vad/silero_vad.h"

namespace echoic::python {

namespace {

using vad::VoiceActivityDetector;
using Samples = py::array_t<float, py::array::c_style | py::array::forcecast>;

vad::SmoothingOptions Smoothing(float threshold, float neg_threshold, int min_speech_ms, int min_silence_ms,
                                int speech_pad_ms) {
  vad::SmoothingOptions o;
  o.threshold = threshold;
  o.neg_threshold = neg_threshold;
  o.min_speech_ms = min_speech_ms;
  o.min_silence_ms = min_silence_ms;
  o.speech_pad_ms = speech_pad_ms;
  return o;
}

void Accept(VoiceActivityDetector& v, const Samples& samples, int64_t rate) {
  vad::CheckSampleRate(v, rate, "VAD accept");
  ECHOIC_CHECK(samples.ndim() == 1, ErrorCode::kInvalidArgument, "VAD accept: expected 1-D mono samples, got ",
               samples.ndim(), " dimensions");
  const float* data = samples.data();
  size_t n = static_cast<size_t>(samples.size());
  py::gil_scoped_release release;
  audio::ValidateSamples(data, n, "VAD accept", audio::kMaxAbsSample);  // the detectors take checked audio
  v.Accept(data, n);
}

#define ECHOIC_SMOOTHING_ARGS                                                                    \
  py::arg("threshold") = 0.5f, py::arg("neg_threshold") = -1.0f, py::arg("min_speech_ms") = 250, \
  py::arg("min_silence_ms") = 100, py::arg("speech_pad_ms") = 30

}  // namespace

void BindVad(py::module_& m) {
  py::class_<VoiceActivityDetector>(m, "VoiceActivityDetector")
      .def_property_readonly("sample_rate", &VoiceActivityDetector::sample_rate)
      .def("accept", &Accept, py::arg("samples"), py::arg("sample_rate"),
           "Feed float samples in [-1, 1] at sample_rate (must equal the detector's rate).")
      .def_property_readonly("trailing_silence", &VoiceActivityDetector::TrailingSilenceSeconds)
      .def_property_readonly("speech_since_reset", &VoiceActivityDetector::SpeechSinceReset)
      .def("reset_segment", &VoiceActivityDetector::ResetSegment)
      .def("flush", &VoiceActivityDetector::Flush)
      .def("take_segments", &VoiceActivityDetector::TakeSegments)
      .def("clone", &VoiceActivityDetector::Clone);

  py::class_<vad::FramedVad, VoiceActivityDetector>(m, "FramedVad")
      .def_property_readonly("frame_samples", &vad::FramedVad::frame_samples)
      .def("set_record_probabilities", &vad::FramedVad::set_record_probabilities, py::arg("on"))
      .def("take_probabilities", &vad::FramedVad::TakeProbabilities);

  py::class_<vad::SileroVad, vad::FramedVad>(m, "SileroVad")
      .def(py::init([](const std::string& path, int32_t rate, float threshold, float neg_threshold, int min_speech_ms,
                       int min_silence_ms, int speech_pad_ms, int threads, const std::string& ort_library) {
             vad::SileroVadOptions o;
             o.sample_rate = rate;
             o.smoothing = Smoothing(threshold, neg_threshold, min_speech_ms, min_silence_ms, speech_pad_ms);
             o.session.intra_op_threads = threads;
             o.session.ort_library = ort_library;
             py::gil_scoped_release release;
             return vad::SileroVad::FromFile(path, o);
           }),
           py::arg("model_path"), py::arg("sample_rate") = 16000, ECHOIC_SMOOTHING_ARGS,
           py::arg("intra_op_threads") = 1, py::arg("ort_library") = "");

  py::class_<vad::EnergyVad, vad::FramedVad>(m, "EnergyVad")
      .def(py::init([](int32_t rate, int frame_ms, float snr_db, float floor_rise, float threshold, float neg_threshold,
                       int min_speech_ms, int min_silence_ms, int speech_pad_ms) {
             vad::EnergyVadOptions o;
             o.sample_rate = rate;
             o.frame_ms = frame_ms;
             o.snr_db = snr_db;
             o.floor_rise_db_per_s = floor_rise;
             o.smoothing = Smoothing(threshold, neg_threshold, min_speech_ms, min_silence_ms, speech_pad_ms);
             return std::make_unique<vad::EnergyVad>(o);
           }),
           py::arg("sample_rate") = 16000, py::arg("frame_ms") = 20, py::arg("snr_db") = 10.0f,
           py::arg("floor_rise_db_per_s") = 0.5f, ECHOIC_SMOOTHING_ARGS)
      .def_property_readonly("noise_floor_db", &vad::EnergyVad::noise_floor_db);

  py::class_<vad::ExternalVad, VoiceActivityDetector>(m, "ExternalVad")
      .def(py::init([](int32_t rate, float threshold, float neg_threshold, int min_speech_ms, int min_silence_ms,
                       int speech_pad_ms) {
             vad::ExternalVadOptions o;
             o.sample_rate = rate;
             o.smoothing = Smoothing(threshold, neg_threshold, min_speech_ms, min_silence_ms, speech_pad_ms);
             return std::make_unique<vad::ExternalVad>(o);
           }),
           py::arg("sample_rate") = 16000, ECHOIC_SMOOTHING_ARGS)
      .def("report", &vad::ExternalVad::Report, py::arg("is_speech"), py::arg("seconds"));
}

}  // namespace echoic::python
