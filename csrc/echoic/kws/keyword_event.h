// One detection reported by the keyword spotter.
#ifndef ECHOIC_KWS_KEYWORD_EVENT_H_
#define ECHOIC_KWS_KEYWORD_EVENT_H_

#include <cstdint>
#include <string>

namespace echoic::kws {

struct KeywordEvent {
  std::string keyword;
  int32_t index = -1;  // position in the model's keyword list
  double time = 0;     // seconds from stream start to the end of the window where the score peaked
  float score = 0;     // the peak smoothed posterior of the detection (>= the threshold)
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_KEYWORD_EVENT_H_
