// Python binding of echoic::speaker: the ONNX speaker embedder and the
// librosa-style log-mel front-end it uses.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>

#include "bind.h"
#include "echoic/features/mel_spectrogram.h"
#include "echoic/runtime/error.h"
#include "echoic/speaker/speaker_embedder.h"

namespace echoic::python {

namespace {

using speaker::SpeakerEmbedder;
using speaker::SpeakerModelConfig;
using Samples = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::pair<const float*, size_t> Mono(const Samples& x, const char* what) {
  ECHOIC_CHECK(x.ndim() == 1, ErrorCode::kInvalidArgument, what, ": expected 1-D mono samples, got ", x.ndim(),
               " dimensions");
  return {x.data(), static_cast<size_t>(x.size())};
}

py::array_t<float> Matrix(const std::vector<float>& data, int64_t rows, int64_t cols) {
  py::array_t<float> a({rows, cols});
  std::copy(data.begin(), data.end(), a.mutable_data());
  return a;
}

// Applies {"key": value} overrides (names as in the C++ structs) onto a config.
void ApplyOverrides(const py::dict& d, SpeakerModelConfig* c) {
  for (auto item : d) {
    const std::string k = py::str(item.first);
    py::handle v = item.second;
    if (k == "input_name")
      c->input_name = v.cast<std::string>();
    else if (k == "output_name")
      c->output_name = v.cast<std::string>();
    else if (k == "frames_per_window")
      c->frames_per_window = v.cast<int>();
    else if (k == "window_stride")
      c->window_stride = v.cast<int>();
    else if (k == "features")
      c->features = v.cast<std::string>();
    else if (k == "sample_scale")
      c->sample_scale = v.cast<float>();
    else if (k == "max_batch")
      c->max_batch = v.cast<int>();
    else if (k == "sample_rate")
      c->mel.sample_rate = c->fbank.sample_rate = v.cast<int>();
    else if (k == "n_fft")
      c->mel.n_fft = v.cast<int>();
    else if (k == "win_length")
      c->mel.win_length = v.cast<int>();
    else if (k == "hop_length")
      c->mel.hop_length = v.cast<int>();
    else if (k == "n_mels")
      c->mel.n_mels = c->fbank.num_bins = v.cast<int>();
    else if (k == "fmin")
      c->mel.fmin = v.cast<float>();
    else if (k == "fmax")
      c->mel.fmax = v.cast<float>();
    else if (k == "window")
      c->mel.window = v.cast<std::string>();
    else if (k == "mel_scale")
      c->mel.mel_scale = v.cast<std::string>();
    else if (k == "slaney_norm")
      c->mel.slaney_norm = v.cast<bool>();
    else if (k == "power")
      c->mel.power = v.cast<float>();
    else if (k == "log")
      c->mel.log = v.cast<std::string>();
    else if (k == "log_floor")
      c->mel.log_floor = v.cast<float>();
    else if (k == "center")
      c->mel.center = v.cast<bool>();
    else
      Fail(ErrorCode::kInvalidArgument, "speaker model config: unknown key '", k, "'");
  }
}

py::dict ConfigDict(const SpeakerModelConfig& c) {
  py::dict d;
  d["input_name"] = c.input_name;
  d["output_name"] = c.output_name;
  d["frames_per_window"] = c.frames_per_window;
  d["window_stride"] = c.window_stride;
  d["features"] = c.features;
  d["sample_scale"] = c.sample_scale;
  d["sample_rate"] = c.SampleRate();
  d["feature_dim"] = c.FeatureDim();
  if (c.features == "mel") {
    d["n_fft"] = c.mel.n_fft;
    d["win_length"] = c.mel.win_length;
    d["hop_length"] = c.mel.hop_length;
    d["n_mels"] = c.mel.n_mels;
    d["window"] = c.mel.window;
    d["mel_scale"] = c.mel.mel_scale;
    d["log"] = c.mel.log;
    d["log_floor"] = c.mel.log_floor;
  } else {
    d["fbank"] = c.fbank.ToString();
  }
  return d;
}

}  // namespace

void BindSpeaker(py::module_& m) {
  py::class_<SpeakerEmbedder, std::shared_ptr<SpeakerEmbedder>>(m, "SpeakerEmbedder")
      .def(py::init([](const std::string& path, py::object config, int threads, const std::string& ort_library) {
             ort::SessionOptions o;
             o.intra_op_threads = threads;
             o.ort_library = ort_library;
             if (config.is_none()) {
               py::gil_scoped_release release;
               return SpeakerEmbedder::FromFile(path, o);
             }
             SpeakerModelConfig c;
             ApplyOverrides(config.cast<py::dict>(), &c);
             py::gil_scoped_release release;
             return SpeakerEmbedder::FromFile(path, c, o);
           }),
           py::arg("model_path"), py::arg("config") = py::none(), py::arg("intra_op_threads") = 1,
           py::arg("ort_library") = "",
           "Loads an ONNX speaker encoder. config=None reads `voicefilter_lite_config` from the model "
           "metadata; a dict (input_name, frames_per_window, n_mels, ...) configures other models.")
      .def_property_readonly("dim", &SpeakerEmbedder::dim)
      .def_property_readonly("sample_rate", &SpeakerEmbedder::sample_rate)
      .def_property_readonly("name", &SpeakerEmbedder::name)
      .def_property_readonly("config", [](const SpeakerEmbedder& e) { return ConfigDict(e.config()); })
      .def(
          "features",
          [](const SpeakerEmbedder& e, const Samples& x) {
            auto [p, n] = Mono(x, "SpeakerEmbedder.features");
            features::FbankMatrix f;
            {
              py::gil_scoped_release release;
              f = e.Features(p, n);
            }
            return Matrix(f.data, f.num_frames, f.dim);
          },
          py::arg("samples"), "Model front-end frames (frames, bins) of mono float samples at sample_rate.")
      .def(
          "embed",
          [](const SpeakerEmbedder& e, const Samples& x) {
            auto [p, n] = Mono(x, "SpeakerEmbedder.embed");
            std::vector<float> v;
            {
              py::gil_scoped_release release;
              v = e.Embed(p, n);
            }
            py::array_t<float> a(static_cast<py::ssize_t>(v.size()));
            std::copy(v.begin(), v.end(), a.mutable_data());
            return a;
          },
          py::arg("samples"), "L2-normalised utterance embedding of mono float samples at sample_rate.")
      .def(
          "embed_windows",
          [](const SpeakerEmbedder& e, const Samples& x, int32_t stride) {
            auto [p, n] = Mono(x, "SpeakerEmbedder.embed_windows");
            speaker::WindowEmbeddings w;
            {
              py::gil_scoped_release release;
              w = e.EmbedWindows(p, n, stride);
            }
            py::array_t<int64_t> starts(static_cast<py::ssize_t>(w.num_windows));
            for (int32_t i = 0; i < w.num_windows; ++i)
              starts.mutable_data()[i] = static_cast<int64_t>(w.start_frames[i]) * w.frame_shift_samples;
            return py::make_tuple(Matrix(w.data, w.num_windows, w.dim), starts);
          },
          py::arg("samples"), py::arg("stride") = 0,
          "(embeddings (windows, dim) L2-normalised, start sample of each window); stride in frames, 0 = model's.");

  py::class_<features::MelSpectrogram>(m, "MelSpectrogram")
      .def(py::init([](py::dict overrides) {
             SpeakerModelConfig c;
             ApplyOverrides(overrides, &c);
             return features::MelSpectrogram(c.mel);
           }),
           py::arg("options") = py::dict(), "librosa-style log-mel; keys as SpeakerEmbedder config.")
      .def(
          "compute",
          [](const features::MelSpectrogram& mel, const Samples& x) {
            auto [p, n] = Mono(x, "MelSpectrogram.compute");
            features::FbankMatrix f;
            {
              py::gil_scoped_release release;
              f = mel.Compute(p, n);
            }
            return Matrix(f.data, f.num_frames, f.dim);
          },
          py::arg("samples"))
      .def_property_readonly("filters", [](const features::MelSpectrogram& mel) {
        const auto& o = mel.options();
        return Matrix(mel.filters(), o.n_mels, o.n_fft / 2 + 1);
      });
}

}  // namespace echoic::python
