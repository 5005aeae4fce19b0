// The trained part of an index: how a (normalised) vector becomes stored bytes and
// how a query is scored against those bytes. Pipeline: optional OPQ rotation ->
// optional IVF list assignment -> flat / sq8 / pq codes -> optional residual PQ.
#ifndef ECHOIC_INDEX_CODEC_H_
#define ECHOIC_INDEX_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "echoic/index/bytes.h"
#include "echoic/index/metric.h"
#include "echoic/index/product_quantizer.h"
#include "echoic/index/scalar_quantizer.h"

namespace echoic::index {

// Values are stored in index files: append only.
enum class Encoding : int { kFlat = 0, kSq8 = 1, kPq = 2 };
Encoding ParseEncoding(const std::string& name);  // "flat" | "sq8" | "pq"
const char* EncodingName(Encoding e);

struct CodecConfig {
  size_t dim = 0;
  Metric metric = Metric::kCosine;
  Encoding encoding = Encoding::kPq;
  size_t pq_m = 32;      // pq: sub-quantizers (bytes per vector)
  size_t refine_m = 0;   // pq: sub-quantizers of the residual tier (0 = none)
  bool opq = false;      // pq: learn a rotation first
  size_t ivf_lists = 0;  // coarse k-means lists (0 = always scan everything)
  int train_iterations = 10;
  uint64_t seed = 0x5eed;
  size_t max_train_points = 32768;
  // Cosine indexes code unit vectors: their IVF centroids are kept on the unit sphere
  // (spherical k-means). Plain k-means there grows "hub" centroids of small norm that
  // draw in the points of every cluster without a centroid of its own (a 39k-row list
  // at 1M; RESULTS-1M.md). Derived from the index metric, not stored.
  bool spherical_lists = false;

  void Validate() const;  // kInvalidArgument on any inconsistency
};

// Per-query state: the query in code space, its ADC table, scratch memory.
struct CodecQuery {
  std::vector<float> q;        // rotated when OPQ is on
  std::vector<float> lut;      // pq: m × 256, one per query (residual L2: -2 q.r terms)
  std::vector<float> w;        // sq8: folded query (q*step for ip, q-min for l2)
  float sq_offset = 0.f;       // sq8 ip: q . min
  float offset = 0.f;          // added to every distance in the selected list
  std::vector<float> scratch;  // d floats
};

class Codec {
 public:
  Codec() = default;
  explicit Codec(const CodecConfig& cfg);

  const CodecConfig& config() const { return cfg_; }
  bool needs_training() const { return cfg_.encoding != Encoding::kFlat || cfg_.ivf_lists > 0; }
  bool trained() const { return trained_; }
  void Train(const float* x, size_t n);

  size_t code_size() const;    // bytes per vector of the main codes
  size_t refine_size() const;  // bytes per vector of the residual tier (0 = none)
  size_t ivf_lists() const { return cfg_.ivf_lists; }

  // With IVF, pq codes quantise the residual to the list centroid (as IVFADC does):
  // far finer than coding the raw vector at the same size.
  bool residual() const { return cfg_.encoding == Encoding::kPq && cfg_.ivf_lists > 0; }

  // x: dim floats, already normalised for cosine. Writes code_size() + refine_size()
  // bytes and the IVF list (0 without IVF).
  void Encode(const float* x, uint8_t* code, uint8_t* refine, uint32_t* list) const;
  // Encode() for n vectors back to back (codes/refines/lists likewise); the IVF
  // assignment of a batch reads each centroid once per block of vectors.
  void EncodeMany(const float* x, size_t n, uint8_t* codes, uint8_t* refines, uint32_t* lists) const;
  // Approximate original-space vector back from the codes (lossy for sq8/pq).
  void Reconstruct(const uint8_t* code, const uint8_t* refine, uint32_t list, float* x) const;

  void PrepareQuery(const float* q, CodecQuery* cq) const;
  // Residual pq under L2 (FAISS's decomposition): with x = c + r,
  //   |q - x|^2 = |q - c|^2  - 2 q.r  + (2 c.r + |r|^2).
  // The first term is one scalar per probed list, the second comes from ONE m × 256
  // inner-product table per query, the third depends only on the stored row: the
  // caller keeps it per row (RowTerm, 4 B in RAM) and adds it to Distance().
  bool uses_row_terms() const { return residual() && cfg_.metric == Metric::kL2; }
  // 2 c.r + |r|^2 for a stored code of `list` (0 unless uses_row_terms()).
  float RowTerm(const uint8_t* code, uint32_t list) const;
  // Makes Distance() valid for codes of `list` (residual pq: sets the list's offset).
  void SelectList(CodecQuery* cq, uint32_t list) const;
  // Lower is better. row_term: RowTerm() of the code when uses_row_terms().
  float Distance(CodecQuery& cq, const uint8_t* code, float row_term = 0.f) const;
  float RefinedDistance(CodecQuery& cq, const uint8_t* code, const uint8_t* refine, uint32_t list) const;
  // flat/sq8: the stored vector in code space (flat: the code itself; sq8: decoded
  // into scratch, d floats).
  const float* DecodedView(const uint8_t* code, float* scratch) const;
  // For each of nq prepared queries, the nprobe (<= ivf_lists) IVF lists nearest it,
  // nearest first: out[b * nprobe + i]. Each centroid is read once for all nq queries.
  void ProbeMany(const CodecQuery* cqs, size_t nq, size_t nprobe, uint32_t* out) const;
  // pq without refine: contiguous batch scoring through the SIMD kernel.
  bool has_lut() const { return cfg_.encoding == Encoding::kPq; }
  // Rotated-space IVF centroid and the main product quantizer (tests, diagnostics).
  const float* centroid(uint32_t list) const { return &coarse_[static_cast<size_t>(list) * cfg_.dim]; }
  const ProductQuantizer& pq() const { return pq_; }

  void WriteModel(ByteWriter* w) const;
  void ReadModel(ByteReader* r);

 private:
  void Rotate(const float* x, float* y) const;
  // One rotated vector (overwritten: the residual is formed in place) into its codes.
  void EncodeRotated(float* xr, uint32_t list, uint8_t* code, uint8_t* refine) const;
  // Rotated-space reconstruction.
  void ReconstructRotated(const uint8_t* code, const uint8_t* refine, uint32_t list, float* xr) const;
  float MetricDistance(const float* a, const float* b) const;

  CodecConfig cfg_;
  bool trained_ = false;
  std::vector<float> rotation_;      // d×d, empty = identity
  std::vector<float> coarse_;        // ivf_lists × d
  std::vector<float> coarse_norms_;  // |c|^2 per list, for probing
  void BuildCoarseCache();
  ScalarQuantizer sq_;
  ProductQuantizer pq_, refine_pq_;
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_CODEC_H_
