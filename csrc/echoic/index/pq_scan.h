// Top-k scans over 8-bit PQ codes (ADC: a code's distance is the sum of its m table
// entries). Where the kernel set has a one-byte-table kernel (adc_bound_batch: NEON),
// a scan first sums a quantized copy of the query's table, which bounds every code's
// distance from below, and computes the exact float sum only for the groups of four
// codes that could still beat the current k-th distance. Skipped codes could not have
// entered the top k, and exact sums are computed by the same adc_batch calls on the same
// four-code groups as the plain scan, so results are bit-identical to it.
#ifndef ECHOIC_INDEX_PQ_SCAN_H_
#define ECHOIC_INDEX_PQ_SCAN_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "echoic/index/kernels.h"

namespace echoic::index {

// A query's table quantized to one byte per entry: entry (j, c) >= base_j + step * q[j*256+c]
// up to float rounding, so base + step * sum_j q[...] - slack <= the float ADC sum.
struct AdcBoundTable {
  std::vector<uint8_t> q;
  float base = 0.f;   // sum over j of the smallest entry of table j
  float step = 0.f;   // one quantization step, shared by all tables (sums stay comparable)
  float slack = 0.f;  // covers float rounding in both sums
  bool usable = false;

  // Fills the table for `lut` (m × 256); usable stays false where it cannot help (m > 257:
  // the sums would overflow 16 bits; non-finite entries).
  void Build(const float* lut, size_t m);
};

// Building a table costs about as much as scanning 1,000 codes (NEON, m = 32): a query
// builds one only where it scans at least this many codes.
constexpr size_t kAdcBoundMinCodes = 4096;

// Scratch of one scan (reused across calls).
struct AdcScanBuffers {
  static constexpr size_t kBlock = 1024;  // codes per kernel call
  std::vector<float> dist = std::vector<float>(kBlock);
  std::vector<uint16_t> sums = std::vector<uint16_t>(kBlock);
};

// Scores the n codes (m bytes each, back to back) against `lut`: consider(distance, i)
// for code i, the distance being (offset + terms[i]) + ADC sum (terms may be null: 0).
// bound() is the distance a code must beat to matter (+inf while the top k is not
// full); a code the lower bound rules out is not passed to consider. `table` may be
// null or unusable: then every code is scored, as by adc_batch alone.
template <typename Bound, typename Consider>
void ScanAdcCodes(const Kernels& kern, const float* lut, const AdcBoundTable* table, const uint8_t* codes, size_t n,
                  size_t m, float offset, const float* terms, AdcScanBuffers* buf, Bound bound, Consider consider) {
  const bool bounded = table != nullptr && table->usable && kern.adc_bound_batch != nullptr;
  float* dist = buf->dist.data();
  for (size_t off = 0; off < n; off += AdcScanBuffers::kBlock) {
    const size_t len = std::min(AdcScanBuffers::kBlock, n - off);
    const uint8_t* c = codes + off * m;
    const float* t = terms ? terms + off : nullptr;
    if (!bounded) {
      kern.adc_batch(lut, c, len, m, m, dist);
      for (size_t j = 0; j < len; ++j) consider((t ? offset + t[j] : offset) + dist[j], off + j);
      continue;
    }
    uint16_t* sums = buf->sums.data();
    kern.adc_bound_batch(table->q.data(), c, len, m, m, sums);
    const float low = table->base - table->slack;
    for (size_t g16 = 0; g16 < len; g16 += 16) {
      const size_t e16 = std::min(len, g16 + 16);
      if (t == nullptr) {
        // Without row terms the test is on the byte sums alone: a code can matter only if
        // offset + low + step * sum < bound, i.e. sum < (bound - offset - low) / step; one
        // step of margin absorbs the rounding of that division. 16 codes ruled out at once.
        const float limit = (bound() - offset - low) / table->step + 1.f;
        if (!(limit > 0.f)) continue;
        if (limit < 65536.f) {
          const unsigned below = static_cast<unsigned>(std::ceil(limit));
          unsigned hit = 0;
          for (size_t j = g16; j < e16; ++j) hit |= sums[j] < below;
          if (!hit) continue;
        }
      }
      // Groups of four as adc_batch forms them (the last may be shorter): the same
      // arithmetic for every code as in the plain scan.
      for (size_t g = g16; g < e16; g += 4) {
        const size_t gl = std::min<size_t>(4, len - g);
        const float b = bound();
        bool any = false;
        for (size_t j = g; j < g + gl; ++j)
          any |= (t ? offset + t[j] : offset) + (low + table->step * static_cast<float>(sums[j])) < b;
        if (!any) continue;
        kern.adc_batch(lut, c + g * m, gl, m, m, dist + g);
        for (size_t j = g; j < g + gl; ++j) consider((t ? offset + t[j] : offset) + dist[j], off + j);
      }
    }
  }
}

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_PQ_SCAN_H_
