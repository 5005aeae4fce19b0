// Facts about the build and the machine, for `echoic info` and bug reports.
#ifndef ECHOIC_RUNTIME_SYSTEM_INFO_H_
#define ECHOIC_RUNTIME_SYSTEM_INFO_H_

#include <string>
#include <vector>

namespace echoic {

const char* Version();

struct CpuFeatures {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool neon = false;
};

// Detected once at run time; SIMD kernels dispatch on it.
const CpuFeatures& GetCpuFeatures();
std::vector<std::string> CpuFeatureNames(const CpuFeatures& features);
int HardwareThreads();

}  // namespace echoic

#endif  // ECHOIC_RUNTIME_SYSTEM_INFO_H_
