// Similarity metrics. Internally every metric is a distance where lower is better
// (L2: squared distance; inner product / cosine: negated dot product).
#ifndef ECHOIC_INDEX_METRIC_H_
#define ECHOIC_INDEX_METRIC_H_

#include <string>

namespace echoic::index {

// Values are stored in index files: append only.
enum class Metric : int { kCosine = 0, kInnerProduct = 1, kL2 = 2 };

Metric ParseMetric(const std::string& name);  // "cosine" | "ip" | "l2"
const char* MetricName(Metric m);

// The score callers see: similarity for cosine/ip (higher is better), squared L2 distance for l2.
inline float ScoreFromDistance(Metric m, float dist) { return m == Metric::kL2 ? dist : -dist; }

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_METRIC_H_
