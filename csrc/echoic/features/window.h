// Analysis windows with Kaldi's definitions (povey = hann^0.85).
#ifndef ECHOIC_FEATURES_WINDOW_H_
#define ECHOIC_FEATURES_WINDOW_H_

#include <cstdint>
#include <string>
#include <vector>

namespace echoic::features {

// Throws kInvalidArgument for an unknown type.
std::vector<double> MakeWindow(const std::string& type, int32_t length);

}  // namespace echoic::features

#endif  // ECHOIC_FEATURES_WINDOW_H_
