// Small dense linear algebra for OPQ: one-sided Jacobi SVD and orthogonal Procrustes.
#ifndef ECHOIC_INDEX_LINALG_H_
#define ECHOIC_INDEX_LINALG_H_

#include <cstddef>
#include <vector>

namespace echoic::index {

// SVD of a square n×n row-major matrix: a = u * diag(s) * v^T, u and v orthogonal
// (row-major), s descending. One-sided Jacobi (Hestenes) in double precision.
void JacobiSvd(const std::vector<double>& a, size_t n, std::vector<double>* u, std::vector<double>* s,
               std::vector<double>* v);

// Orthogonal R (n×n, row-major) minimising |X R - Y|_F given M = X^T Y: R = U V^T.
std::vector<double> ProcrustesRotation(const std::vector<double>& m, size_t n);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_LINALG_H_
