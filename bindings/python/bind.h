// Each capability's Python binding lives in its own file, mirroring csrc/echoic/.
#ifndef ECHOIC_BINDINGS_PYTHON_BIND_H_
#define ECHOIC_BINDINGS_PYTHON_BIND_H_

#include <pybind11/pybind11.h>

namespace echoic::python {

namespace py = pybind11;

void BindRuntime(py::module_& m);  // errors, version, CPU facts
void BindOrt(py::module_& m);
void BindAudio(py::module_& m);
void BindFeatures(py::module_& m);
void BindVad(py::module_& m);
void BindDecoding(py::module_& m);  // symbol table, hotword grammar, CTC decoders
void BindAsr(py::module_& m);       // recognizer, streams, results, endpointing
void BindAdaptive(py::module_& m);  // memory monitor, memory-pressure fallback (after BindAsr)
void BindIndex(py::module_& m);     // embedding index
void BindSpeaker(py::module_& m);   // speaker embedder, librosa-style mel
void BindKws(py::module_& m);       // keyword model and streaming spotter
void BindLookup(py::module_& m);    // keyword lookup by example (word embeddings)

}  // namespace echoic::python

#endif  // ECHOIC_BINDINGS_PYTHON_BIND_H_
