// echoic.audio's native half: sample checks, PCM conversions and downmixing.
// Python only picks the function by dtype; every loop over samples is here.
#include <pybind11/numpy.h>

#include <cstring>

#include "bind.h"
#include "echoic/audio/samples.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

template <typename T>
py::array_t<T, py::array::c_style> Exact(const py::array& a, const char* what, int ndim_min, int ndim_max) {
  ECHOIC_CHECK(a.ndim() >= ndim_min && a.ndim() <= ndim_max, ErrorCode::kInvalidArgument, what, ": expected a ",
               ndim_min == ndim_max ? std::to_string(ndim_min) : "1- or 2", "-D array, got ", a.ndim(), "-D");
  ECHOIC_CHECK(a.dtype().is(py::dtype::of<T>()), ErrorCode::kInvalidArgument, what, ": expected dtype ",
               std::string(py::str(py::dtype::of<T>())), ", got ", std::string(py::str(a.dtype())));
  return py::array_t<T, py::array::c_style>::ensure(a);
}

py::array_t<float> ToNumpy(std::vector<float>&& v, py::ssize_t frames, py::ssize_t channels) {
  py::array_t<float> out = channels > 1 ? py::array_t<float>({frames, channels}) : py::array_t<float>(frames);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(float));
  return out;
}

// Integer / float64 arrays of shape (n,) or (frames, channels) to float32, same shape.
template <typename T, typename Fn>
py::array_t<float> Convert(const py::array& a, const char* what, Fn fn) {
  auto arr = Exact<T>(a, what, 1, 2);
  std::vector<float> v;
  {
    py::gil_scoped_release release;
    v = fn(arr.data(), static_cast<size_t>(arr.size()));
  }
  return ToNumpy(std::move(v), arr.ndim() >= 1 ? arr.shape(0) : 0, arr.ndim() == 2 ? arr.shape(1) : 1);
}

}  // namespace

void BindAudio(py::module_& m) {
  m.def(
      "validate_samples",
      [](const py::array& a, const std::string& context) {
        auto arr = Exact<float>(a, "validate_samples", 1, 2);
        py::gil_scoped_release release;
        audio::ValidateSamples(arr.data(), static_cast<size_t>(arr.size()), context);
      },
      py::arg("samples"), py::arg("context") = "audio",
      "Raises InvalidArgumentError naming the first NaN/Inf sample (flat index) of a float32 array.");
  m.def(
      "validate_sample_rate",
      [](int64_t rate, const std::string& context) { audio::ValidateSampleRate(rate, context); }, py::arg("rate"),
      py::arg("context") = "audio");
  m.attr("MIN_SAMPLE_RATE") = audio::kMinSampleRate;
  m.attr("MAX_SAMPLE_RATE") = audio::kMaxSampleRate;
  m.def(
      "int16_to_float", [](const py::array& a) { return Convert<int16_t>(a, "int16_to_float", audio::Int16ToFloat); },
      "int16 PCM to float32 in [-1, 1) (x / 32768); keeps the shape.");
  m.def(
      "int32_to_float", [](const py::array& a) { return Convert<int32_t>(a, "int32_to_float", audio::Int32ToFloat); },
      "int32 PCM to float32 in [-1, 1) (x / 2^31); keeps the shape.");
  m.def(
      "uint8_to_float", [](const py::array& a) { return Convert<uint8_t>(a, "uint8_to_float", audio::Uint8ToFloat); },
      "unsigned 8-bit PCM (WAV convention, 128 = silence) to float32; keeps the shape.");
  m.def(
      "float64_to_float",
      [](const py::array& a, const std::string& context) {
        return Convert<double>(a, "float64_to_float",
                               [&](const double* p, size_t n) { return audio::Float64ToFloat(p, n, context); });
      },
      py::arg("samples"), py::arg("context") = "audio", "float64 to float32; NaN/Inf rejected with its index.");
  m.def(
      "downmix",
      [](const py::array& a) {
        auto arr = Exact<float>(a, "downmix", 2, 2);
        std::vector<float> v;
        {
          py::gil_scoped_release release;
          v = audio::DownmixInterleaved(arr.data(), static_cast<size_t>(arr.shape(0)), static_cast<int>(arr.shape(1)));
        }
        return ToNumpy(std::move(v), arr.shape(0), 1);
      },
      "(frames, channels) float32 to mono by averaging the channels.");
  m.def(
      "select_channel",
      [](const py::array& a, int channel) {
        auto arr = Exact<float>(a, "select_channel", 2, 2);
        auto v = audio::SelectChannel(arr.data(), static_cast<size_t>(arr.shape(0)), static_cast<int>(arr.shape(1)),
                                      channel);
        return ToNumpy(std::move(v), arr.shape(0), 1);
      },
      py::arg("samples"), py::arg("channel"));
}

}  // namespace echoic::python
