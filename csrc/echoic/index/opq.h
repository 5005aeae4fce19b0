// OPQ: learns an orthogonal rotation R so that product-quantizing x R loses less.
// Alternates PQ training on the rotated data with an orthogonal Procrustes
// update of R (SVD of X^T Y, Y = PQ reconstruction).
#ifndef ECHOIC_INDEX_OPQ_H_
#define ECHOIC_INDEX_OPQ_H_

#include <cstddef>
#include <vector>

#include "echoic/index/kmeans.h"

namespace echoic::index {

struct OpqOptions {
  int outer_iterations = 4;  // rotation updates
  int pq_iterations = 4;     // Lloyd steps per inner PQ training
  uint64_t seed = 0x0b9;
};

// Returns R (d×d row-major, float) learned on n training vectors for an m-way PQ.
std::vector<float> TrainOpqRotation(const float* x, size_t n, size_t d, size_t m, const OpqOptions& opt);

// y[i] = x[i] R for n row vectors.
void ApplyRotation(const std::vector<float>& r, const float* x, size_t n, size_t d, float* y);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_OPQ_H_
