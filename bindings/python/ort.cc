// Python binding of echoic::ort: the loaded ONNX Runtime library and Session.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <stdexcept>

#include "bind.h"
#include "echoic/ort/library.h"
#include "echoic/ort/session.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using ort::ElementType;
using ort::Tensor;

py::dict LibraryInfo(const ort::Library& lib) {
  py::dict d;
  d["path"] = lib.path();
  d["version"] = lib.version();
  d["api_version"] = lib.api_version();
  d["resolved_by"] = lib.resolved_by();
  return d;
}

py::dtype DtypeOf(ElementType t) {
  switch (t) {
    case ElementType::kFloat32:
      return py::dtype("float32");
    case ElementType::kFloat16:
      return py::dtype("float16");
    case ElementType::kInt64:
      return py::dtype("int64");
    case ElementType::kInt32:
      return py::dtype("int32");
    case ElementType::kInt8:
      return py::dtype("int8");
    case ElementType::kUint8:
      return py::dtype("uint8");
    case ElementType::kBool:
      return py::dtype("bool");
  }
  return py::dtype("float32");
}

Tensor FromNumpy(const std::string& model, const std::string& name, const py::handle& obj) {
  py::array arr = py::array::ensure(obj);
  ECHOIC_CHECK(arr, ErrorCode::kInvalidArgument, model, ": input '", name, "' is not array-like");
  std::string kind = py::str(arr.dtype()).cast<std::string>();
  ElementType type;
  try {
    type = ort::ElementTypeFromName(kind);
  } catch (const Error&) {
    Fail(ErrorCode::kInvalidArgument, model, ": input '", name, "' has dtype ", kind,
         ", which echoic cannot pass to a model (use float32, float16, int64, int32, int8, uint8 or bool)");
  }
  // C-contiguous copy of the same dtype (no conversion).
  py::array contiguous = py::array::ensure(arr, py::array::c_style);
  std::vector<int64_t> shape(contiguous.shape(), contiguous.shape() + contiguous.ndim());
  Tensor t(type, shape);
  if (t.nbytes()) std::memcpy(t.raw(), contiguous.data(), t.nbytes());
  return t;
}

py::array ToNumpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::array out(DtypeOf(t.type()), shape);
  if (t.nbytes()) std::memcpy(out.mutable_data(), t.raw(), t.nbytes());
  return out;
}

py::list InfoList(const std::vector<ort::TensorInfo>& infos) {
  py::list out;
  for (const auto& i : infos) out.append(py::make_tuple(i.name, ort::ElementTypeName(i.type), i.shape));
  return out;
}

// The Python callable of set_input_observer (touched with the GIL held only).
py::object& PyObserver() {
  static auto* fn = new py::object();  // never destroyed: the interpreter may be gone at exit
  return *fn;
}

py::array CopyView(const ort::TensorView& t) {
  std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
  py::array out(DtypeOf(t.type), shape);
  if (t.nbytes()) std::memcpy(out.mutable_data(), t.data, t.nbytes());
  return out;
}

void SetObserver(py::object fn) {
  PyObserver() = fn.is_none() ? py::object() : fn;
  ort::InputObserver tap;
  if (!fn.is_none())
    tap = [](const std::string& session, const std::vector<std::string>& names,
             const std::vector<ort::TensorView>& inputs) {
      py::gil_scoped_acquire gil;
      if (!PyObserver()) return;
      py::dict feeds;
      for (size_t i = 0; i < names.size(); ++i) feeds[py::str(names[i])] = CopyView(inputs[i]);
      try {
        PyObserver()(session, feeds);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("echoic input observer");
        throw std::runtime_error("echoic input observer raised");  // the core then drops it
      }
    };
  py::gil_scoped_release release;  // the core takes its lock briefly; never wait on it holding the GIL
  ort::SetInputObserver(std::move(tap));
}

}  // namespace

void BindOrt(py::module_& m) {
  m.def("set_input_observer", &SetObserver, py::arg("observer"),
        "Calibration tap: observer(session_path, {input name: numpy copy}) is called before every model run "
        "in this process, with the inputs the engine feeds it; None turns it off. A raising observer is dropped.");
  m.def(
      "ort_library_info", [] { return LibraryInfo(ort::Library::Get()); },
      "Loads ONNX Runtime if needed (default resolution order) and describes it: dict(path, version, "
      "api_version, resolved_by).");
  m.def(
      "load_ort_library", [](const std::string& path) { return LibraryInfo(ort::Library::Get(path)); }, py::arg("path"),
      "Loads ONNX Runtime from an explicit path (once per process); returns ort_library_info().");

  py::class_<ort::Session, std::shared_ptr<ort::Session>>(m, "Session")
      .def(py::init(
               [](py::object model, int intra, int inter, const std::string& opt, bool arena, const std::string& lib) {
                 ort::SessionOptions o;
                 o.intra_op_threads = intra;
                 o.inter_op_threads = inter;
                 o.graph_optimization = ort::GraphOptimizationFromName(opt);
                 o.cpu_mem_arena = arena;
                 o.ort_library = lib;
                 if (py::isinstance<py::bytes>(model) || py::isinstance<py::bytearray>(model)) {
                   std::string bytes =
                       py::isinstance<py::bytes>(model) ? model.cast<std::string>() : std::string(py::bytes(model));
                   py::gil_scoped_release release;
                   return ort::Session::FromBuffer(bytes.data(), bytes.size(), o, "<memory>");
                 }
                 std::string path = py::str(py::module_::import("os").attr("fspath")(model)).cast<std::string>();
                 py::gil_scoped_release release;
                 return ort::Session::FromFile(path, o);
               }),
           py::arg("model"), py::arg("intra_op_threads") = 1, py::arg("inter_op_threads") = 1,
           py::arg("graph_optimization") = "all", py::arg("cpu_mem_arena") = true, py::arg("ort_library") = "")
      .def_property_readonly("name", &ort::Session::name)
      .def_property_readonly("inputs", [](const ort::Session& s) { return InfoList(s.inputs()); })
      .def_property_readonly("outputs", [](const ort::Session& s) { return InfoList(s.outputs()); })
      .def_property_readonly("metadata", &ort::Session::metadata)
      .def("get_metadata", &ort::Session::GetMetadata, py::arg("key"), py::arg("fallback"))
      .def("require_metadata", &ort::Session::RequireMetadata, py::arg("key"))
      .def("require_metadata_int", &ort::Session::RequireMetadataInt, py::arg("key"))
      .def(
          "run",
          [](const ort::Session& s, const py::dict& feeds, std::optional<std::vector<std::string>> output_names) {
            std::vector<std::string> names;
            std::vector<Tensor> tensors;
            for (auto item : feeds) {
              names.push_back(py::str(item.first).cast<std::string>());
              tensors.push_back(FromNumpy(s.name(), names.back(), item.second));
            }
            std::vector<const Tensor*> ptrs;
            for (const auto& t : tensors) ptrs.push_back(&t);
            std::vector<std::string> outs = output_names.value_or(std::vector<std::string>{});
            if (outs.empty())
              for (const auto& o : s.outputs()) outs.push_back(o.name);
            std::vector<Tensor> results;
            {
              py::gil_scoped_release release;
              results = s.Run(names, ptrs, outs);
            }
            py::dict out;
            for (size_t i = 0; i < outs.size(); ++i) out[py::str(outs[i])] = ToNumpy(results[i]);
            return out;
          },
          py::arg("feeds"), py::arg("output_names") = py::none());
}

}  // namespace echoic::python
