// IEEE 754 binary16 conversion for the stored re-ranking vectors (portable, no F16C).
#ifndef ECHOIC_INDEX_FLOAT16_H_
#define ECHOIC_INDEX_FLOAT16_H_

#include <cstddef>
#include <cstdint>

namespace echoic::index {

uint16_t FloatToHalf(float f);  // round to nearest even; overflow -> inf
float HalfToFloat(uint16_t h);
void FloatsToHalves(const float* in, size_t n, uint16_t* out);
void HalvesToFloats(const uint16_t* in, size_t n, float* out);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_FLOAT16_H_
