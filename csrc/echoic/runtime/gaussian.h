// Seeded standard normal numbers that are the same from every standard library.
#pragma once

#include <cmath>
#include <cstdint>

namespace echoic {

// splitmix64 + Box-Muller. std::normal_distribution is implementation-defined; what these feed
// (a random projection, an index's codebooks) must come out the same on every machine.
class Gaussian {
 public:
  explicit Gaussian(uint64_t seed) : s_(seed) {}
  double Next() {
    const double u1 = (static_cast<double>(Bits() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(Bits() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t Bits() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t s_;
};

}  // namespace echoic
