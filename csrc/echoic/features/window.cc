#include "echoic/features/window.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::features {

std::vector<double> MakeWindow(const std::string& type, int32_t length) {
  ECHOIC_CHECK(length >= 2, ErrorCode::kInvalidArgument, "window length must be >= 2, got ", length);
  std::vector<double> w(length);
  const double a = 2.0 * 3.14159265358979323846 / (length - 1);
  for (int32_t i = 0; i < length; ++i) {
    double c = std::cos(a * i);
    if (type == "povey") {
      w[i] = std::pow(0.5 - 0.5 * c, 0.85);
    } else if (type == "hanning") {
      w[i] = 0.5 - 0.5 * c;
    } else if (type == "hamming") {
      w[i] = 0.54 - 0.46 * c;
    } else if (type == "rectangular") {
      w[i] = 1.0;
    } else {
      Fail(ErrorCode::kInvalidArgument, "unknown window type '", type,
           "' (use povey, hamming, hanning or rectangular)");
    }
  }
  return w;
}

}  // namespace echoic::features
