#include "echoic/index/codec.h"

#include <algorithm>
#include <cstring>

#include "echoic/index/kernels.h"
#include "echoic/index/kmeans.h"
#include "echoic/index/opq.h"
#include "echoic/runtime/error.h"

namespace echoic::index {

Encoding ParseEncoding(const std::string& name) {
  if (name == "flat") return Encoding::kFlat;
  if (name == "sq8" || name == "int8") return Encoding::kSq8;
  if (name == "pq") return Encoding::kPq;
  Fail(ErrorCode::kInvalidArgument, "unknown encoding '", name, "' (expected flat, sq8 or pq)");
}

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kFlat:
      return "flat";
    case Encoding::kSq8:
      return "sq8";
    case Encoding::kPq:
      return "pq";
  }
  return "?";
}

void CodecConfig::Validate() const {
  ECHOIC_CHECK(dim >= 1 && dim <= 1024, ErrorCode::kInvalidArgument, "index dimension must be in 1..1024, got ", dim);
  if (encoding == Encoding::kPq) {
    ECHOIC_CHECK(pq_m >= 1 && dim % pq_m == 0, ErrorCode::kInvalidArgument, "pq: m=", pq_m,
                 " must be >= 1 and divide the dimension ", dim);
    ECHOIC_CHECK(refine_m == 0 || dim % refine_m == 0, ErrorCode::kInvalidArgument, "pq: refine_m=", refine_m,
                 " must divide the dimension ", dim);
  } else {
    ECHOIC_CHECK(refine_m == 0, ErrorCode::kInvalidArgument, "refine_m needs encoding 'pq' (got '",
                 EncodingName(encoding), "')");
    ECHOIC_CHECK(!opq, ErrorCode::kInvalidArgument, "opq needs encoding 'pq' (got '", EncodingName(encoding), "')");
  }
  ECHOIC_CHECK(ivf_lists <= 65536, ErrorCode::kInvalidArgument, "ivf_lists must be <= 65536, got ", ivf_lists);
  ECHOIC_CHECK(train_iterations >= 1 && train_iterations <= 1000, ErrorCode::kInvalidArgument,
               "train_iterations must be in 1..1000, got ", train_iterations);
}

Codec::Codec(const CodecConfig& cfg) : cfg_(cfg) {
  cfg_.Validate();
  trained_ = !needs_training();
}

size_t Codec::code_size() const {
  switch (cfg_.encoding) {
    case Encoding::kFlat:
      return cfg_.dim * sizeof(float);
    case Encoding::kSq8:
      return cfg_.dim;
    case Encoding::kPq:
      return cfg_.pq_m;
  }
  return 0;
}

size_t Codec::refine_size() const { return cfg_.encoding == Encoding::kPq ? cfg_.refine_m : 0; }

void Codec::Rotate(const float* x, float* y) const {
  if (rotation_.empty()) {
    std::memcpy(y, x, cfg_.dim * sizeof(float));
  } else {
    ApplyRotation(rotation_, x, 1, cfg_.dim, y);
  }
}

float Codec::MetricDistance(const float* a, const float* b) const {
  const Kernels& k = ActiveKernels();
  return cfg_.metric == Metric::kL2 ? k.l2sq(a, b, cfg_.dim) : -k.dot(a, b, cfg_.dim);
}

void Codec::Train(const float* x, size_t n) {
  const size_t d = cfg_.dim;
  ECHOIC_CHECK(n >= 1, ErrorCode::kInvalidArgument, "training needs at least one vector");
  KMeansOptions ko;
  ko.iterations = cfg_.train_iterations;
  ko.seed = cfg_.seed;
  ko.max_points = cfg_.max_train_points;

  // Train on a deterministic subsample: k-means cost grows with n.
  std::vector<float> sample;
  if (cfg_.max_train_points > 0 && n > cfg_.max_train_points) {
    size_t stride = n / cfg_.max_train_points;
    size_t take = cfg_.max_train_points;
    sample.resize(take * d);
    for (size_t i = 0; i < take; ++i) std::memcpy(&sample[i * d], x + (i * stride) * d, d * sizeof(float));
    x = sample.data();
    n = take;
  }

  std::vector<float> rotation;
  std::vector<float> xr(x, x + n * d);
  if (cfg_.encoding == Encoding::kPq && cfg_.opq) {
    OpqOptions oo;
    oo.seed = cfg_.seed;
    // The rotation converges on far fewer points than the codebooks need.
    rotation = TrainOpqRotation(x, std::min<size_t>(n, 8192), d, cfg_.pq_m, oo);
    ApplyRotation(rotation, x, n, d, xr.data());
  }
  std::vector<float> coarse;
  if (cfg_.ivf_lists > 0) {
    KMeansOptions co = ko;
    co.spherical = cfg_.spherical_lists;
    coarse = KMeans(xr.data(), n, d, cfg_.ivf_lists, co);
  }

  ScalarQuantizer sq(d);
  ProductQuantizer pq, rpq;
  if (cfg_.encoding == Encoding::kSq8) sq.Train(xr.data(), n);
  if (cfg_.encoding == Encoding::kPq) {
    if (!coarse.empty()) {  // residual coding: train on x - centroid(list(x))
      std::vector<uint32_t> assign(n);
      AssignNearest(xr.data(), n, d, coarse.data(), cfg_.ivf_lists, assign.data());
      for (size_t i = 0; i < n; ++i)
        for (size_t t = 0; t < d; ++t) xr[i * d + t] -= coarse[assign[i] * d + t];
    }
    pq = ProductQuantizer(d, cfg_.pq_m);
    pq.Train(xr.data(), n, ko);
    if (cfg_.refine_m > 0) {
      std::vector<float> residual(n * d), rec(d);
      std::vector<uint8_t> code(cfg_.pq_m);
      for (size_t i = 0; i < n; ++i) {
        pq.Encode(&xr[i * d], code.data());
        pq.Decode(code.data(), rec.data());
        for (size_t t = 0; t < d; ++t) residual[i * d + t] = xr[i * d + t] - rec[t];
      }
      rpq = ProductQuantizer(d, cfg_.refine_m);
      KMeansOptions ro = ko;
      ro.seed = cfg_.seed ^ 0xabcdef;
      rpq.Train(residual.data(), n, ro);
    }
  }
  // Commit only once everything trained: a failure leaves the codec as it was.
  rotation_ = std::move(rotation);
  coarse_ = std::move(coarse);
  BuildCoarseCache();
  sq_ = std::move(sq);
  pq_ = std::move(pq);
  refine_pq_ = std::move(rpq);
  trained_ = true;
}

void Codec::Encode(const float* x, uint8_t* code, uint8_t* refine, uint32_t* list) const {
  EncodeMany(x, 1, code, refine, list);
}

void Codec::EncodeMany(const float* x, size_t n, uint8_t* codes, uint8_t* refines, uint32_t* lists) const {
  ECHOIC_CHECK(trained_, ErrorCode::kState, "codec used before training");
  const size_t d = cfg_.dim;
  std::vector<float> xr_all(n * d);
  for (size_t i = 0; i < n; ++i) Rotate(x + i * d, &xr_all[i * d]);
  std::fill(lists, lists + n, 0u);
  // All lists at once: AssignNearest reads each centroid once per block of vectors.
  if (cfg_.ivf_lists > 0) AssignNearest(xr_all.data(), n, d, coarse_.data(), cfg_.ivf_lists, lists);
  for (size_t i = 0; i < n; ++i)
    EncodeRotated(&xr_all[i * d], lists[i], codes + i * code_size(), refines ? refines + i * refine_size() : nullptr);
}

void Codec::EncodeRotated(float* xr, uint32_t list, uint8_t* code, uint8_t* refine) const {
  const size_t d = cfg_.dim;
  switch (cfg_.encoding) {
    case Encoding::kFlat:
      std::memcpy(code, xr, d * sizeof(float));
      break;
    case Encoding::kSq8:
      sq_.Encode(xr, code);
      break;
    case Encoding::kPq:
      if (residual())
        for (size_t t = 0; t < d; ++t) xr[t] -= coarse_[list * d + t];
      pq_.Encode(xr, code);
      if (cfg_.refine_m > 0) {
        std::vector<float> rec(d);
        pq_.Decode(code, rec.data());
        for (size_t t = 0; t < d; ++t) rec[t] = xr[t] - rec[t];
        refine_pq_.Encode(rec.data(), refine);
      }
      break;
  }
}

void Codec::ReconstructRotated(const uint8_t* code, const uint8_t* refine, uint32_t list, float* xr) const {
  const size_t d = cfg_.dim;
  switch (cfg_.encoding) {
    case Encoding::kFlat:
      std::memcpy(xr, code, d * sizeof(float));
      break;
    case Encoding::kSq8:
      sq_.Decode(code, xr);
      break;
    case Encoding::kPq: {
      pq_.Decode(code, xr);
      if (cfg_.refine_m > 0 && refine) {
        float r[1024];
        refine_pq_.Decode(refine, r);
        for (size_t t = 0; t < d; ++t) xr[t] += r[t];
      }
      if (residual())
        for (size_t t = 0; t < d; ++t) xr[t] += coarse_[list * d + t];
      break;
    }
  }
}

void Codec::Reconstruct(const uint8_t* code, const uint8_t* refine, uint32_t list, float* x) const {
  const size_t d = cfg_.dim;
  std::vector<float> xr(d);
  ReconstructRotated(code, refine, list, xr.data());
  if (rotation_.empty()) {
    std::memcpy(x, xr.data(), d * sizeof(float));
  } else {  // x = xr R^T (R orthogonal)
    for (size_t i = 0; i < d; ++i) {
      float s = 0.f;
      for (size_t j = 0; j < d; ++j) s += xr[j] * rotation_[i * d + j];
      x[i] = s;
    }
  }
}

void Codec::PrepareQuery(const float* q, CodecQuery* cq) const {
  ECHOIC_CHECK(trained_, ErrorCode::kState, "codec used before training");
  const size_t d = cfg_.dim;
  cq->q.resize(d);
  cq->scratch.resize(d);
  cq->offset = 0.f;
  Rotate(q, cq->q.data());
  if (cfg_.encoding == Encoding::kSq8) {
    // Fold min/step into the query so the kernel works on raw codes.
    const std::vector<float>& lo = sq_.vmin();
    const std::vector<float>& st = sq_.step();
    cq->w.resize(d);
    cq->sq_offset = 0.f;
    for (size_t t = 0; t < d; ++t) {
      if (cfg_.metric == Metric::kL2) {
        cq->w[t] = cq->q[t] - lo[t];
      } else {
        cq->w[t] = cq->q[t] * st[t];
        cq->sq_offset += cq->q[t] * lo[t];
      }
    }
  }
  if (cfg_.encoding == Encoding::kPq) {
    const size_t entries = pq_.m() * ProductQuantizer::kCentroids;
    cq->lut.resize(entries);
    if (uses_row_terms()) {
      // -2 q.r: the inner-product table (which holds -q.r) doubled; shared by all lists.
      pq_.ComputeLut(cq->q.data(), Metric::kInnerProduct, cq->lut.data());
      for (size_t i = 0; i < entries; ++i) cq->lut[i] *= 2.f;
    } else {
      pq_.ComputeLut(cq->q.data(), cfg_.metric, cq->lut.data());
    }
  }
}

float Codec::RowTerm(const uint8_t* code, uint32_t list) const {
  if (!uses_row_terms()) return 0.f;
  const size_t d = cfg_.dim;
  float r[1024], w[1024];
  pq_.Decode(code, r);
  const float* c = centroid(list);
  for (size_t t = 0; t < d; ++t) w[t] = 2.f * c[t] + r[t];
  return ActiveKernels().dot(w, r, d);  // (2c + r).r = 2 c.r + |r|^2
}

void Codec::SelectList(CodecQuery* cq, uint32_t list) const {
  if (!residual()) return;
  const size_t d = cfg_.dim;
  const float* c = &coarse_[list * d];
  if (cfg_.metric == Metric::kL2) {  // |q - c|^2; the per-row rest is table + row term
    cq->offset = ActiveKernels().l2sq(cq->q.data(), c, d);
  } else {  // q.(c + r) = q.c + q.r: the table is shared, the list adds a constant
    cq->offset = -ActiveKernels().dot(cq->q.data(), c, d);
  }
}

float Codec::Distance(CodecQuery& cq, const uint8_t* code, float row_term) const {
  const Kernels& k = ActiveKernels();
  switch (cfg_.encoding) {
    case Encoding::kFlat:
      return MetricDistance(cq.q.data(), reinterpret_cast<const float*>(code));
    case Encoding::kSq8:
      if (cfg_.metric == Metric::kL2) return k.sq8_l2(cq.w.data(), sq_.step().data(), code, cfg_.dim);
      return -(cq.sq_offset + k.sq8_dot(cq.w.data(), code, cfg_.dim));
    case Encoding::kPq:
      return cq.offset + row_term + k.adc(cq.lut.data(), code, pq_.m());
  }
  return 0.f;
}

float Codec::RefinedDistance(CodecQuery& cq, const uint8_t* code, const uint8_t* refine, uint32_t list) const {
  if (cfg_.encoding != Encoding::kPq || cfg_.refine_m == 0) {
    SelectList(&cq, list);
    return Distance(cq, code, RowTerm(code, list));
  }
  ReconstructRotated(code, refine, list, cq.scratch.data());
  return MetricDistance(cq.q.data(), cq.scratch.data());
}

const float* Codec::DecodedView(const uint8_t* code, float* scratch) const {
  if (cfg_.encoding == Encoding::kFlat) return reinterpret_cast<const float*>(code);
  sq_.Decode(code, scratch);
  return scratch;
}

void Codec::BuildCoarseCache() {
  const size_t d = cfg_.dim, k = cfg_.ivf_lists;
  coarse_norms_.assign(k, 0.f);
  for (size_t j = 0; j < k; ++j)
    for (size_t t = 0; t < d; ++t) coarse_norms_[j] += coarse_[j * d + t] * coarse_[j * d + t];
}

void Codec::ProbeMany(const CodecQuery* cqs, size_t nq, size_t nprobe, uint32_t* out) const {
  const size_t k = cfg_.ivf_lists, d = cfg_.dim;
  ECHOIC_CHECK(k > 0 && nprobe >= 1 && nprobe <= k, ErrorCode::kInvalidArgument, "probe: nprobe=", nprobe,
               " must be in 1..", k);
  // Squared L2 order (as at encode time) from |c|^2 - 2 q.c; queries back to back so
  // that one kernel call scores a centroid against all of them (dot_rows gives a query
  // the same result whatever its batch, so batching never changes its probes).
  std::vector<float> qs(nq * d), dots(nq), dist(nq * k);
  for (size_t b = 0; b < nq; ++b) std::copy(cqs[b].q.begin(), cqs[b].q.end(), qs.begin() + b * d);
  const Kernels& kern = ActiveKernels();
  for (size_t j = 0; j < k; ++j) {
    kern.dot_rows(&coarse_[j * d], qs.data(), nq, d, dots.data());
    for (size_t b = 0; b < nq; ++b) dist[b * k + j] = coarse_norms_[j] - 2.f * dots[b];
  }
  std::vector<std::pair<float, uint32_t>> all(k);
  for (size_t b = 0; b < nq; ++b) {
    for (size_t j = 0; j < k; ++j) all[j] = {dist[b * k + j], static_cast<uint32_t>(j)};
    std::partial_sort(all.begin(), all.begin() + nprobe, all.end());
    for (size_t i = 0; i < nprobe; ++i) out[b * nprobe + i] = all[i].second;
  }
}

void Codec::WriteModel(ByteWriter* w) const {
  w->Put<uint8_t>(trained_ ? 1 : 0);
  if (!trained_) return;
  w->PutVector(rotation_);
  w->PutVector(coarse_);
  if (cfg_.encoding == Encoding::kSq8) sq_.Write(w);
  if (cfg_.encoding == Encoding::kPq) {
    pq_.Write(w);
    if (cfg_.refine_m > 0) refine_pq_.Write(w);
  }
}

void Codec::ReadModel(ByteReader* r) {
  const size_t d = cfg_.dim;
  trained_ = r->Get<uint8_t>("trained flag") != 0;
  if (!trained_) {
    ECHOIC_CHECK(needs_training(), ErrorCode::kCorruptData,
                 "model section says untrained but the flat codec is"
                 " always trained (offset ",
                 r->offset() - 1, ")");
    return;
  }
  uint64_t rot_size = r->Get<uint64_t>("rotation size");
  ECHOIC_CHECK(rot_size == 0 || rot_size == d * d, ErrorCode::kCorruptData, "rotation has ", rot_size,
               " values, expected 0 or ", d * d, " (offset ", r->offset() - 8, ")");
  rotation_.resize(rot_size);
  const uint8_t* rot = r->Take(rot_size * sizeof(float), "rotation");
  if (rot_size) std::memcpy(rotation_.data(), rot, rot_size * sizeof(float));  // no memcpy(NULL, ..., 0)
  coarse_ = r->GetVector<float>("ivf centroids", cfg_.ivf_lists * d);
  BuildCoarseCache();
  if (cfg_.encoding == Encoding::kSq8) sq_.Read(r, d);
  if (cfg_.encoding == Encoding::kPq) {
    pq_.Read(r);
    ECHOIC_CHECK(pq_.d() == d && pq_.m() == cfg_.pq_m, ErrorCode::kCorruptData,
                 "pq codebook shape does not match the header (offset ", r->offset(), ")");
    if (cfg_.refine_m > 0) {
      refine_pq_.Read(r);
      ECHOIC_CHECK(refine_pq_.d() == d && refine_pq_.m() == cfg_.refine_m, ErrorCode::kCorruptData,
                   "refine codebook shape does not match the header (offset ", r->offset(), ")");
    }
  }
}

}  // namespace echoic::index
