// Shared by the fuzz targets: typed echoic errors are the expected way to refuse
// hostile input; anything else (another exception, a crash, a sanitizer report)
// escapes and libFuzzer records it as a finding.
#ifndef ECHOIC_FUZZ_FUZZ_COMMON_H_
#define ECHOIC_FUZZ_FUZZ_COMMON_H_

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "echoic/ort/session.h"
#include "echoic/runtime/error.h"

namespace echoic::fuzz {

template <typename F>
void ExpectTypedErrors(F&& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

// A private scratch folder for targets that go through files (removed by the OS's tmp policy;
// each libFuzzer worker gets its own).
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/echoic-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) std::abort();
    return templ;
  }();
  return dir;
}

// Model contracts in text, one session per "[name]" section (a first section needs no header):
//   key=value                      metadata (value to the end of the line)
//   >name:type:d0,d1,...           an input tensor (type as ElementTypeFromName, -1 = dynamic)
//   <name:type:d0,d1,...           an output tensor
// Malformed tensor lines are skipped: the fuzzer is after the model code, not this reader.
struct Contract {
  std::string name;
  std::vector<ort::TensorInfo> inputs, outputs;
  std::map<std::string, std::string> metadata;
};

inline bool ParseTensorLine(const std::string& line, ort::TensorInfo* t) {
  size_t a = line.find(':', 1);
  if (a == std::string::npos) return false;
  size_t b = line.find(':', a + 1);
  if (b == std::string::npos) return false;
  t->name = line.substr(1, a - 1);
  try {
    t->type = ort::ElementTypeFromName(line.substr(a + 1, b - a - 1));
  } catch (const Error&) {
    return false;
  }
  t->shape.clear();
  std::string dims = line.substr(b + 1);
  size_t pos = 0;
  while (pos < dims.size() && t->shape.size() < 16) {
    size_t end = dims.find(',', pos);
    if (end == std::string::npos) end = dims.size();
    char* stop = nullptr;
    std::string item = dims.substr(pos, end - pos);
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0') return false;
    t->shape.push_back(v);
    pos = end + 1;
  }
  return true;
}

inline std::vector<Contract> ParseContracts(const uint8_t* data, size_t size) {
  std::vector<Contract> out(1);
  out[0].name = "fuzz0";
  const std::string text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']' && line.size() >= 2) {
      if (!out.back().metadata.empty() || !out.back().inputs.empty() || !out.back().outputs.empty()) out.emplace_back();
      out.back().name = line.substr(1, line.size() - 2);
    } else if (line.front() == '>' || line.front() == '<') {
      ort::TensorInfo t;
      if (ParseTensorLine(line, &t)) (line.front() == '>' ? out.back().inputs : out.back().outputs).push_back(t);
    } else {
      size_t eq = line.find('=');
      if (eq != std::string::npos) out.back().metadata[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return out;
}

inline std::shared_ptr<ort::Session> SessionOf(const Contract& c) {
  return ort::Session::ContractOnly(c.name, c.inputs, c.outputs, c.metadata);
}

}  // namespace echoic::fuzz

#endif  // ECHOIC_FUZZ_FUZZ_COMMON_H_
