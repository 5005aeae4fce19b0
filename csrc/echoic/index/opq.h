// OPQ: learns an orthogonal rotation R so that product-quantizing x R loses less.
// Starts from PCA with eigenvalue allocation (principal directions dealt to the
// sub-spaces so that each gets a similar product of variances), then alternates
// warm-started PQ steps on the rotated data with an orthogonal Procrustes update
// of R (SVD of X^T Y, Y = PQ reconstruction).
#ifndef ECHOIC_INDEX_OPQ_H_
#define ECHOIC_INDEX_OPQ_H_

#include <cstddef>
#include <vector>

#include "echoic/index/kmeans.h"

namespace echoic::index {

struct OpqOptions {
  // The allocation start does most of the work: on real d-vectors one update gives
  // 32-byte recall@10 0.971, 8 give 0.975, 20 no more (benchmarks/index/RESULTS-real.md).
  int outer_iterations = 8;      // rotation updates
  int first_pq_iterations = 16;  // Lloyd steps of the first PQ training
  int pq_iterations = 4;         // warm-started Lloyd steps before each later update
  uint64_t seed = 0x0b9;
};

// The PCA + eigenvalue-allocation rotation alone (the starting point above).
std::vector<float> EigenAllocationRotation(const float* x, size_t n, size_t d, size_t m);

// Returns R (d×d row-major, float) learned on n training vectors for an m-way PQ.
std::vector<float> TrainOpqRotation(const float* x, size_t n, size_t d, size_t m, const OpqOptions& opt);

// y[i] = x[i] R for n row vectors.
void ApplyRotation(const std::vector<float>& r, const float* x, size_t n, size_t d, float* y);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_OPQ_H_
