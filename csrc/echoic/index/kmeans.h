// k-means (k-means++ seeding, Lloyd iterations) for PQ codebooks and IVF centroids.
// Deterministic for a given seed.
#ifndef ECHOIC_INDEX_KMEANS_H_
#define ECHOIC_INDEX_KMEANS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace echoic::index {

struct KMeansOptions {
  int iterations = 10;
  uint64_t seed = 0x5eed;
  size_t max_points = 0;   // subsample the training set to this many (0 = use all)
  bool spherical = false;  // renormalise centroids to unit length after each step
};

// Returns k centroids (k × d, row-major). Needs n >= k (kInvalidArgument otherwise).
std::vector<float> KMeans(const float* x, size_t n, size_t d, size_t k, const KMeansOptions& opt);

// Lloyd steps from the given centroids (k × d, updated in place): warm-started
// training, e.g. OPQ's codebooks after each small rotation update.
void LloydSteps(const float* x, size_t n, size_t d, size_t k, int iterations, float* centroids, bool spherical = false);

// Index of the nearest centroid (squared L2) for each of n points.
void AssignNearest(const float* x, size_t n, size_t d, const float* centroids, size_t k, uint32_t* out);

// The `count` nearest centroids to one point, nearest first.
std::vector<uint32_t> NearestCentroids(const float* x, size_t d, const float* centroids, size_t k, size_t count);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_KMEANS_H_
