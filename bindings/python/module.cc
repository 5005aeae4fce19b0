#include "bind.h"

PYBIND11_MODULE(_echoic, m) {
  m.doc() = "echoic native core (use the `echoic` package, not this module)";
  echoic::python::BindRuntime(m);  // first: registers the exception classes
  echoic::python::BindOrt(m);
  echoic::python::BindAudio(m);
  echoic::python::BindFeatures(m);
  echoic::python::BindVad(m);
  echoic::python::BindDecoding(m);
  echoic::python::BindAsr(m);
  echoic::python::BindAdaptive(m);
  echoic::python::BindIndex(m);
  echoic::python::BindSpeaker(m);
  echoic::python::BindKws(m);
  echoic::python::BindLookup(m);
}
