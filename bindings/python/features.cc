// Python bindings of the streaming front-end: FbankOptions, OnlineFbank,
// compute_fbank and Resampler. Heavy work runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>

#include "bind.h"
#include "echoic/audio/samples.h"
#include "echoic/features/online_fbank.h"
#include "echoic/features/resampler.h"
#include "echoic/features/whisper_log_mel.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using features::FbankOptions;
using features::OnlineFbank;
using features::Resampler;

// 1-D float32 (or float64, checked for NaN/Inf while converting) samples.
std::vector<float> Samples(const py::array& a, const char* what) {
  ECHOIC_CHECK(a.ndim() == 1, ErrorCode::kInvalidArgument, what, ": expected a 1-D array of samples, got ", a.ndim(),
               "-D (downmix multi-channel audio first)");
  if (a.dtype().is(py::dtype::of<double>())) {
    auto arr = py::array_t<double, py::array::c_style>::ensure(a);
    return audio::Float64ToFloat(arr.data(), static_cast<size_t>(arr.size()), what);
  }
  ECHOIC_CHECK(a.dtype().is(py::dtype::of<float>()), ErrorCode::kInvalidArgument, what,
               ": expected float32 samples, got dtype ", std::string(py::str(a.dtype())),
               " (convert integer PCM with echoic.audio.from_array)");
  auto arr = py::array_t<float, py::array::c_style>::ensure(a);
  audio::ValidateSamples(arr.data(), static_cast<size_t>(arr.size()), what);  // the components take checked audio
  return std::vector<float>(arr.data(), arr.data() + arr.size());
}

py::array_t<float> ToNumpy(const std::vector<float>& v) {
  py::array_t<float> out(static_cast<py::ssize_t>(v.size()));
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(float));
  return out;
}

void SetOption(FbankOptions& o, const std::string& key, const py::handle& value) {
  py::object self = py::cast(&o, py::return_value_policy::reference);
  ECHOIC_CHECK(py::hasattr(self, key.c_str()) && key.rfind("_", 0) != 0 && key != "validate",
               ErrorCode::kInvalidArgument, "FbankOptions has no option '", key, "'");
  try {
    self.attr(key.c_str()) = value;
  } catch (py::error_already_set&) {
    Fail(ErrorCode::kInvalidArgument, "FbankOptions.", key, ": cannot use value ", std::string(py::repr(value)));
  }
}

FbankOptions FromKwargs(const py::kwargs& kwargs) {
  FbankOptions o;
  for (auto item : kwargs) SetOption(o, py::cast<std::string>(item.first), item.second);
  return o;
}

}  // namespace

void BindFeatures(py::module_& m) {
  py::class_<FbankOptions>(m, "FbankOptions", "Kaldi-compatible log-mel filterbank options.")
      .def(py::init([](const py::kwargs& kw) { return FromKwargs(kw); }),
           "FbankOptions(**fields): every field is a keyword, e.g. FbankOptions(num_bins=80, dither=0).")
      .def_readwrite("sample_rate", &FbankOptions::sample_rate)
      .def_readwrite("num_bins", &FbankOptions::num_bins)
      .def_readwrite("frame_length_ms", &FbankOptions::frame_length_ms)
      .def_readwrite("frame_shift_ms", &FbankOptions::frame_shift_ms)
      .def_readwrite("preemph_coeff", &FbankOptions::preemph_coeff)
      .def_readwrite("remove_dc_offset", &FbankOptions::remove_dc_offset)
      .def_readwrite("window_type", &FbankOptions::window_type)
      .def_readwrite("snip_edges", &FbankOptions::snip_edges)
      .def_readwrite("dither", &FbankOptions::dither)
      .def_readwrite("dither_seed", &FbankOptions::dither_seed)
      .def_readwrite("low_freq", &FbankOptions::low_freq)
      .def_readwrite("high_freq", &FbankOptions::high_freq)
      .def_readwrite("use_energy", &FbankOptions::use_energy)
      .def_readwrite("energy_floor", &FbankOptions::energy_floor)
      .def_readwrite("raw_energy", &FbankOptions::raw_energy)
      .def_readwrite("use_log_fbank", &FbankOptions::use_log_fbank)
      .def_readwrite("use_power", &FbankOptions::use_power)
      .def_readwrite("round_to_power_of_two", &FbankOptions::round_to_power_of_two)
      .def_property_readonly("dim", &FbankOptions::Dim)
      .def("validate", &FbankOptions::Validate, "Raises InvalidArgumentError naming the bad field.")
      .def("__repr__", &FbankOptions::ToString);

  py::class_<OnlineFbank>(m, "OnlineFbank", "Incremental log-mel filterbank; any chunking gives identical frames.")
      .def(py::init<const FbankOptions&>(), py::arg("options"))
      .def(
          "accept_waveform",
          [](OnlineFbank& f, const py::array& samples) {
            std::vector<float> x = Samples(samples, "OnlineFbank.accept_waveform");
            py::gil_scoped_release release;
            f.AcceptWaveform(x.data(), x.size());
          },
          py::arg("samples"))
      .def("input_finished", &OnlineFbank::InputFinished)
      .def_property_readonly("is_input_finished", &OnlineFbank::IsInputFinished)
      .def_property_readonly("num_frames_ready", &OnlineFbank::NumFramesReady)
      .def_property_readonly("first_available_frame", &OnlineFbank::FirstAvailableFrame)
      .def_property_readonly("dim", &OnlineFbank::Dim)
      .def_property_readonly("options", &OnlineFbank::options)
      .def(
          "get_frames",
          [](const OnlineFbank& f, int32_t start, int32_t n) {
            ECHOIC_CHECK(n >= 0, ErrorCode::kInvalidArgument, "OnlineFbank.get_frames: n=", n, " must be >= 0");
            py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(f.Dim())});
            f.GetFrames(start, n, out.mutable_data());
            return out;
          },
          py::arg("start"), py::arg("n"), "Frames [start, start+n) as an (n, dim) float32 array.")
      .def("discard_frames_before", &OnlineFbank::DiscardFramesBefore, py::arg("frame"))
      .def("reset", &OnlineFbank::Reset);

  m.def(
      "compute_fbank",
      [](const py::array& samples, int sample_rate, const py::kwargs& kw) {
        FbankOptions o = FromKwargs(kw);
        o.sample_rate = sample_rate;
        std::vector<float> x = Samples(samples, "compute_fbank");
        features::FbankMatrix mat;
        {
          py::gil_scoped_release release;
          mat = features::ComputeFbank(o, x.data(), x.size());
        }
        py::array_t<float> out({static_cast<py::ssize_t>(mat.num_frames), static_cast<py::ssize_t>(mat.dim)});
        if (!mat.data.empty()) std::memcpy(out.mutable_data(), mat.data.data(), mat.data.size() * sizeof(float));
        return out;
      },
      py::arg("samples"), py::arg("sample_rate") = 16000,
      "Whole-utterance log-mel filterbank, (num_frames, dim) float32; other FbankOptions fields as keywords.");

  m.def(
      "whisper_log_mel",
      [](const py::array& samples, int32_t n_mels, int32_t num_frames) {
        // Built once per size: the filter bank and FFT tables are immutable.
        static const features::WhisperLogMel mel80(80), mel128(128);
        ECHOIC_CHECK(n_mels == 80 || n_mels == 128, ErrorCode::kInvalidArgument,
                     "whisper_log_mel: n_mels must be 80 or 128, got ", n_mels);
        ECHOIC_CHECK(num_frames >= 0, ErrorCode::kInvalidArgument, "whisper_log_mel: negative num_frames ", num_frames);
        const features::WhisperLogMel& mel = n_mels == 80 ? mel80 : mel128;
        std::vector<float> x = Samples(samples, "whisper_log_mel");
        py::array_t<float> out({static_cast<py::ssize_t>(n_mels), static_cast<py::ssize_t>(num_frames)});
        float* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          mel.Compute(x.data(), x.size(), num_frames, dst);
        }
        return out;
      },
      py::arg("samples"), py::arg("n_mels") = 80, py::arg("num_frames") = 3000,
      "Whisper's log-mel spectrogram of 16 kHz audio zero-padded/truncated to num_frames * 160 samples, "
      "(n_mels, num_frames) float32.");

  py::class_<Resampler>(m, "Resampler", "Streaming windowed-sinc sample-rate converter.")
      .def(py::init<int32_t, int32_t>(), py::arg("in_rate"), py::arg("out_rate"))
      .def(
          "process",
          [](Resampler& r, const py::array& samples) {
            std::vector<float> x = Samples(samples, "Resampler.process");
            std::vector<float> y;
            {
              py::gil_scoped_release release;
              y = r.Process(x.data(), x.size());
            }
            return ToNumpy(y);
          },
          py::arg("samples"), "Returns the output samples whose inputs have all arrived.")
      .def(
          "flush", [](Resampler& r) { return ToNumpy(r.Flush()); }, "End of input: returns the tail.")
      .def("reset", &Resampler::Reset)
      .def_property_readonly("in_rate", &Resampler::in_rate)
      .def_property_readonly("out_rate", &Resampler::out_rate);
}

}  // namespace echoic::python
