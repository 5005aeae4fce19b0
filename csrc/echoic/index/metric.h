// Similarity metrics. Internally every metric is a distance where lower is better:
// L2 and cosine are squared L2 (cosine on unit vectors, where |q-x|^2 = 2 - 2cos:
// the same order, and PQ tables on it are far more accurate than on the dot
// product, since they see the reconstruction's norm); inner product is -dot.
#ifndef ECHOIC_INDEX_METRIC_H_
#define ECHOIC_INDEX_METRIC_H_

#include <string>

namespace echoic::index {

// Values are stored in index files: append only.
enum class Metric : int { kCosine = 0, kInnerProduct = 1, kL2 = 2 };

Metric ParseMetric(const std::string& name);  // "cosine" | "ip" | "l2"
const char* MetricName(Metric m);

// The metric the stored codes are scored with.
inline Metric DistanceMetric(Metric m) { return m == Metric::kCosine ? Metric::kL2 : m; }

// The score callers see: similarity for cosine/ip (higher is better), squared L2 distance for l2.
inline float ScoreFromDistance(Metric m, float dist) {
  switch (m) {
    case Metric::kCosine:
      return 1.f - 0.5f * dist;
    case Metric::kInnerProduct:
      return -dist;
    case Metric::kL2:
      return dist;
  }
  return dist;
}

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_METRIC_H_
