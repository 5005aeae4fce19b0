#include "echoic/index/metric.h"

#include "echoic/runtime/error.h"

namespace echoic::index {

Metric ParseMetric(const std::string& name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "ip" || name == "inner_product" || name == "dot") return Metric::kInnerProduct;
  if (name == "l2" || name == "euclidean") return Metric::kL2;
  Fail(ErrorCode::kInvalidArgument, "unknown metric '", name, "' (expected cosine, ip or l2)");
}

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kCosine:
      return "cosine";
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kL2:
      return "l2";
  }
  return "?";
}

}  // namespace echoic::index
