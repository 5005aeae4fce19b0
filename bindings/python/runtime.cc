#include <pybind11/stl.h>

#include <cstring>

#include "bind.h"
#include "echoic/index/kernels.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/system_info.h"

namespace echoic::python {

namespace {

// One Python class per ErrorCode. Several also derive from the matching builtin
// (ValueError, OSError, MemoryError) so callers can catch either.
PyObject* g_errors[11] = {};

PyObject* NewError(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  std::string qualified = std::string("echoic.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!cls) throw py::error_already_set();
  m.attr(name) = py::reinterpret_borrow<py::object>(cls);
  return cls;
}

PyObject* Bases(PyObject* a, PyObject* b) { return b ? PyTuple_Pack(2, a, b) : PyTuple_Pack(1, a); }

}  // namespace

void BindRuntime(py::module_& m) {
  PyObject* base = NewError(m, "EchoicError", PyExc_RuntimeError,
                            "Base class of every error echoic raises; `.code` names the kind.");
  auto idx = [](ErrorCode c) { return static_cast<int>(c); };
  g_errors[idx(ErrorCode::kInvalidArgument)] =
      NewError(m, "InvalidArgumentError", Bases(base, PyExc_ValueError), "An argument is unusable.");
  g_errors[idx(ErrorCode::kIo)] =
      NewError(m, "EchoicIOError", Bases(base, PyExc_OSError), "A file is missing, unreadable or unwritable.");
  g_errors[idx(ErrorCode::kCorruptData)] =
      NewError(m, "CorruptDataError", Bases(base, PyExc_ValueError), "A model, index or audio file is damaged.");
  g_errors[idx(ErrorCode::kModel)] =
      NewError(m, "ModelError", Bases(base, nullptr), "A model breaks echoic's model contract.");
  g_errors[idx(ErrorCode::kOrt)] =
      NewError(m, "OnnxRuntimeError", Bases(base, nullptr), "ONNX Runtime failed or is unusable.");
  g_errors[idx(ErrorCode::kUnsupported)] =
      NewError(m, "UnsupportedError", Bases(base, PyExc_NotImplementedError), "Not supported by this build or model.");
  g_errors[idx(ErrorCode::kOutOfMemory)] =
      NewError(m, "EchoicMemoryError", Bases(base, PyExc_MemoryError), "Out of memory or over the memory budget.");
  g_errors[idx(ErrorCode::kState)] =
      NewError(m, "StateError", Bases(base, nullptr), "The API was used in the wrong order or state.");
  g_errors[idx(ErrorCode::kNotFound)] =
      NewError(m, "NotFoundError", Bases(base, PyExc_KeyError), "A named entry does not exist.");
  g_errors[idx(ErrorCode::kInternal)] = base;

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      int c = static_cast<int>(e.code());
      PyObject* cls = (c > 0 && c <= 10 && g_errors[c]) ? g_errors[c] : g_errors[10];
      // Messages may quote bytes from files (not always UTF-8): never let decoding the
      // message replace the typed error with a UnicodeDecodeError.
      const char* what = e.what();
      PyObject* msg = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)), "backslashreplace");
      if (msg) {
        PyErr_SetObject(cls, msg);
        Py_DECREF(msg);
      } else {
        PyErr_Clear();
        PyErr_SetString(cls, "(error message could not be decoded)");
      }
    } catch (const std::bad_alloc& e) {
      PyErr_SetString(g_errors[static_cast<int>(ErrorCode::kOutOfMemory)], "out of memory (std::bad_alloc)");
    }
  });

  m.def("version", &Version, "Version of the native core.");
  m.def(
      "cpu_features", [] { return CpuFeatureNames(GetCpuFeatures()); },
      "SIMD features the CPU offers, as detected at run time.");
  m.def(
      "index_kernels", [] { return std::string(index::ActiveKernels().name); },
      "Kernel set the index searches with: 'avx2' (x86-64), 'neon' (AArch64) or 'scalar' "
      "(no SIMD, or ECHOIC_DISABLE_SIMD set).");
  m.def("hardware_threads", &HardwareThreads);
  m.def("error_code_name", [](int code) { return ErrorCodeName(static_cast<ErrorCode>(code)); });
  m.def(
      "_raise_for_test", [](int code, const std::string& msg) { throw Error(static_cast<ErrorCode>(code), msg); },
      "Raises the exception that the given error code maps to (tests only).");
}

}  // namespace echoic::python
