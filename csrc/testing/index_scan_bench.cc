// index_scan_bench: the index's inner scans over synthetic data, with whichever kernel
// set ActiveKernels() picks (ECHOIC_DISABLE_SIMD=1 forces scalar). tests/aarch64.sh runs
// it under qemu-user and counts the guest instructions it retires, SIMD against scalar:
// under emulation only instruction counts mean anything, not time.
//
//   index_scan_bench SCAN N D REPEATS
//
// SCAN: flat-l2 (exhaustive L2 over N float vectors of dimension D), flat-dot, pq
// (ADC over N codes of D one-byte sub-quantizer codes, 256-entry tables), pq-topk (the
// index's top-40 scan of those codes, pq_scan.h: with NEON, bounded by byte tables),
// f16-l2 (re-ranking against N float16 vectors). REPEATS = 0 runs the set-up alone, so that
// the difference between two runs is the scan's own count. Prints the kernel set and
// a checksum of the results.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <queue>
#include <random>
#include <vector>

#include "echoic/index/float16.h"
#include "echoic/index/kernels.h"
#include "echoic/index/pq_scan.h"

using echoic::index::ActiveKernels;
using echoic::index::Kernels;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: index_scan_bench flat-l2|flat-dot|pq|pq-topk|f16-l2 N D REPEATS\n");
    return 2;
  }
  const char* scan = argv[1];
  const size_t n = std::strtoul(argv[2], nullptr, 10), d = std::strtoul(argv[3], nullptr, 10);
  const int repeats = std::atoi(argv[4]);
  const Kernels& k = ActiveKernels();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> q(d > 0 ? d : 1), out(n);
  for (float& v : q) v = u(rng);
  double checksum = 0;
  if (!std::strcmp(scan, "flat-l2") || !std::strcmp(scan, "flat-dot")) {
    std::vector<float> x(n * d);
    for (float& v : x) v = u(rng);
    const bool l2 = scan[5] == 'l';
    for (int r = 0; r < repeats; ++r)
      for (size_t i = 0; i < n; ++i) out[i] = l2 ? k.l2sq(q.data(), &x[i * d], d) : k.dot(q.data(), &x[i * d], d);
  } else if (!std::strcmp(scan, "pq")) {
    std::vector<float> lut(d * 256);
    for (float& v : lut) v = u(rng);
    std::vector<uint8_t> codes(n * d);
    for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
    for (int r = 0; r < repeats; ++r) k.adc_batch(lut.data(), codes.data(), n, d, d, out.data());
  } else if (!std::strcmp(scan, "pq-topk")) {
    std::normal_distribution<float> g;  // table entries as a trained PQ gives them: spread, not uniform
    std::vector<float> lut(d * 256);
    for (float& v : lut) v = g(rng);
    std::vector<uint8_t> codes(n * d);
    for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
    echoic::index::AdcScanBuffers buf;
    for (int r = 0; r < repeats; ++r) {
      echoic::index::AdcBoundTable table;  // built per query where the kernels use it, as a search does
      if (k.adc_bound_batch && n >= echoic::index::kAdcBoundMinCodes) table.Build(lut.data(), d);
      std::priority_queue<float> top;  // the 40 smallest distances
      auto bound = [&] { return top.size() < 40 ? std::numeric_limits<float>::infinity() : top.top(); };
      echoic::index::ScanAdcCodes(k, lut.data(), &table, codes.data(), n, d, 0.f, nullptr, &buf, bound,
                                  [&](float dist, size_t) {
                                    if (dist >= bound()) return;
                                    if (top.size() == 40) top.pop();
                                    top.push(dist);
                                  });
      for (size_t i = 0; i < n && !top.empty(); ++i, top.pop()) out[i] = top.top();
    }
  } else if (!std::strcmp(scan, "f16-l2")) {
    std::vector<uint16_t> h(n * d);
    for (uint16_t& v : h) v = echoic::index::FloatToHalf(u(rng));
    for (int r = 0; r < repeats; ++r)
      for (size_t i = 0; i < n; ++i) out[i] = k.f16_l2sq(q.data(), &h[i * d], d);
  } else {
    std::fprintf(stderr, "index_scan_bench: unknown scan '%s'\n", scan);
    return 2;
  }
  for (float v : out) checksum += v;
  std::printf("kernels %s scan %s n %zu d %zu repeats %d checksum %.6g\n", k.name, scan, n, d, repeats, checksum);
  return 0;
}
