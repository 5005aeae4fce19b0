// Index search: exact scan or IVF probe, codes scored with lookup tables or
// kernels, optional re-ranking, per-query top k.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "echoic/index/index.h"
#include "echoic/index/index_state.h"
#include "echoic/index/kernels.h"
#include "echoic/index/pq_scan.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/utf8.h"

namespace echoic::index {

namespace {

// The `cap` smallest distances seen, as a max-heap; bound() is the distance a
// candidate must beat (cached: it is checked once per scanned vector).
class TopK {
 public:
  explicit TopK(size_t cap) : cap_(cap) { heap_.reserve(cap); }
  float bound() const { return bound_; }
  void Clear() {
    heap_.clear();
    bound_ = std::numeric_limits<float>::infinity();
  }
  void Push(float dist, uint32_t row) {
    if (heap_.size() < cap_) {
      heap_.emplace_back(dist, row);
      std::push_heap(heap_.begin(), heap_.end());
    } else {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = {dist, row};
      std::push_heap(heap_.begin(), heap_.end());
    }
    if (heap_.size() == cap_) bound_ = heap_.front().first;
  }
  std::vector<std::pair<float, uint32_t>>& items() { return heap_; }

 private:
  size_t cap_;
  float bound_ = std::numeric_limits<float>::infinity();
  std::vector<std::pair<float, uint32_t>> heap_;
};

}  // namespace

SearchResult Index::Search(const float* queries, size_t nq, const SearchParams& p) const {
  const State& s = *s_;
  std::shared_lock<std::shared_mutex> lock(s.mu);
  s.CheckOpen();
  s.CheckEncoder(p.encoder_id, "cannot search with");
  ECHOIC_CHECK(p.k >= 1 && p.k <= 100000, ErrorCode::kInvalidArgument, "search: k must be in 1..100000, got ", p.k);
  ECHOIC_CHECK(s.codec.trained(), ErrorCode::kState, "index '", s.path, "' must be trained before searching");
  ECHOIC_CHECK(p.rerank == 0 || s.opts.keep_fp16, ErrorCode::kInvalidArgument, "search: rerank=", p.rerank,
               " needs float16 copies, but index '", s.path, "' was created with keep_fp16=false");
  ECHOIC_CHECK(nq == 0 || queries, ErrorCode::kInvalidArgument, "search: queries are NULL");
  const size_t d = s.opts.dim, k = p.k;
  SearchResult res;
  res.nq = nq;
  res.k = k;
  res.scores.assign(nq * k, std::numeric_limits<float>::quiet_NaN());
  res.ids.assign(nq * k, -1);
  res.labels.assign(nq * k, std::string());
  auto nsit = s.ns_ids.find(p.ns);
  if (nq == 0) return res;
  std::vector<float> qn;
  s.PrepareVectors(queries, nq, &qn, "search: query");
  if (nsit == s.ns_ids.end()) return res;  // nothing stored in that namespace
  const uint32_t want_ns = nsit->second;

  const Kernels& kern = ActiveKernels();
  const bool has_refine = s.codec.refine_size() > 0;
  size_t shortlist = k;
  if (has_refine) shortlist = std::max(shortlist, k * std::max<size_t>(1, p.refine_factor));
  if (p.rerank > 0) shortlist = std::max(shortlist, std::max(p.rerank, k));
  const size_t total = s.ids.size();
  const size_t nlist = s.codec.ivf_lists();
  // Small sets (or nprobe covering everything) visit every list: exact scan over codes.
  const bool probe_all = nlist > 0 && (total < p.exhaustive_below || p.nprobe >= nlist);
  const size_t m = s.codes.width();
  // Residual pq under L2: each row adds its own precomputed term (Codec::RowTerm).
  const float* terms = s.codec.uses_row_terms() ? s.row_terms.data() : nullptr;

  // Flat and sq8 without IVF scan every row for a block of queries at once: each
  // row is read from memory once per block instead of once per query.
  const bool blocked = nlist == 0 && !s.codec.has_lut();
  // IVF probing scores every centroid: a block of queries reads the centroids once.
  const bool ivf_probe = nlist > 0 && !probe_all;
  const size_t nprobe = std::min(std::max<size_t>(1, p.nprobe), std::max<size_t>(nlist, 1));
  const size_t block_q = blocked ? 8 : ivf_probe ? 16 : 1;
  std::vector<uint32_t> block_probes(ivf_probe ? block_q * nprobe : 0);
  std::vector<CodecQuery> cqs(block_q);
  std::vector<TopK> tops(block_q, TopK(shortlist));
  std::vector<float> qblock(block_q * d), scratch(d), dists(block_q);
  AdcScanBuffers adc_buffers;
  AdcBoundTable adc_bound;  // the current query's, where the kernels have adc_bound_batch
  const size_t scanned = nlist == 0 || probe_all ? total : total / nlist * nprobe;
  const bool bound_codes = s.codec.has_lut() && kern.adc_bound_batch && scanned >= kAdcBoundMinCodes;
  std::vector<uint32_t> probes;
  for (size_t q0 = 0; q0 < nq; q0 += block_q) {
    const size_t nb = std::min(block_q, nq - q0);
    for (size_t b = 0; b < nb; ++b) {
      s.codec.PrepareQuery(&qn[(q0 + b) * d], &cqs[b]);
      tops[b].Clear();
    }
    auto consider = [&](TopK& top, float dist, uint32_t row) {
      if (dist >= top.bound() || s.deleted[row] || s.ns[row] != want_ns) return;
      top.Push(dist, row);
    };
    if (blocked) {
      // Queries of the block back to back, so one kernel call scores a row against all.
      for (size_t b = 0; b < nb; ++b) std::copy(cqs[b].q.begin(), cqs[b].q.end(), qblock.begin() + b * d);
      const bool l2 = DistanceMetric(s.opts.metric) == Metric::kL2;
      for (size_t row = 0; row < total; ++row) {
        if (s.deleted[row] || s.ns[row] != want_ns) continue;
        const float* v = s.codec.DecodedView(s.codes.row(row), scratch.data());
        if (l2) {
          kern.l2sq_rows(v, qblock.data(), nb, d, dists.data());
        } else {
          kern.dot_rows(v, qblock.data(), nb, d, dists.data());
          for (size_t b = 0; b < nb; ++b) dists[b] = -dists[b];
        }
        for (size_t b = 0; b < nb; ++b)
          if (dists[b] < tops[b].bound()) tops[b].Push(dists[b], static_cast<uint32_t>(row));
      }
    } else {
      if (ivf_probe) s.codec.ProbeMany(cqs.data(), nb, nprobe, block_probes.data());
      for (size_t b = 0; b < nb; ++b) {
        CodecQuery& cq = cqs[b];
        TopK& top = tops[b];
        if (bound_codes) adc_bound.Build(cq.lut.data(), m);
        auto bound = [&top] { return top.bound(); };
        // Contiguous rows [first, first+count): pq goes through the batch ADC kernels.
        auto span = [&](size_t first, size_t count) {
          if (count == 0) return;
          if (!s.codec.has_lut()) {
            for (size_t row = first; row < first + count; ++row)
              consider(top, s.codec.Distance(cq, s.codes.row(row)), static_cast<uint32_t>(row));
            return;
          }
          ScanAdcCodes(kern, cq.lut.data(), &adc_bound, s.codes.row(first), count, m, cq.offset,
                       terms ? terms + first : nullptr, &adc_buffers, bound,
                       [&](float dist, size_t i) { consider(top, dist, static_cast<uint32_t>(first + i)); });
        };
        if (nlist > 0) {
          if (probe_all) {
            probes.resize(nlist);
            for (size_t l = 0; l < nlist; ++l) probes[l] = static_cast<uint32_t>(l);
          } else {
            probes.assign(block_probes.begin() + b * nprobe, block_probes.begin() + (b + 1) * nprobe);
          }
          for (uint32_t list : probes) {
            const State::IvfList& l = s.ivf[list];
            if (l.begin == l.end && l.rows.empty()) continue;
            s.codec.SelectList(&cq, list);
            span(l.begin, l.end - l.begin);
            if (s.codec.has_lut()) {  // rows added since the save: their codes are copied per list
              ScanAdcCodes(kern, cq.lut.data(), &adc_bound, l.row_codes.data(), l.rows.size(), m, cq.offset,
                           terms ? l.row_terms.data() : nullptr, &adc_buffers, bound,
                           [&](float dist, size_t i) { consider(top, dist, l.rows[i]); });
            } else {
              for (uint32_t row : l.rows) consider(top, s.codec.Distance(cq, s.codes.row(row)), row);
            }
          }
        } else {
          span(0, s.codes.base_rows());
          span(s.codes.base_rows(), total - s.codes.base_rows());
        }
      }
    }
    for (size_t b = 0; b < nb; ++b) {
      const size_t qi = q0 + b;
      const float* q = &qn[qi * d];
      CodecQuery& cq = cqs[b];
      std::vector<std::pair<float, uint32_t>>& heap = tops[b].items();
      std::sort(heap.begin(), heap.end());
      if (has_refine) {
        for (auto& c : heap)
          c.first = s.codec.RefinedDistance(cq, s.codes.row(c.second), s.refine.row(c.second), s.lists[c.second]);
        std::sort(heap.begin(), heap.end());
      }
      if (p.rerank > 0) {
        size_t r = std::min(heap.size(), std::max(p.rerank, k));
        heap.resize(r);
        for (auto& c : heap) {
          const uint16_t* h = reinterpret_cast<const uint16_t*>(s.fp16.row(c.second));
          c.first = DistanceMetric(s.opts.metric) == Metric::kL2 ? kern.f16_l2sq(q, h, d) : -kern.f16_dot(q, h, d);
        }
        std::sort(heap.begin(), heap.end());
      }
      for (size_t j = 0; j < std::min(k, heap.size()); ++j) {
        res.scores[qi * k + j] = ScoreFromDistance(s.opts.metric, heap[j].first);
        res.ids[qi * k + j] = s.ids[heap[j].second];
        res.labels[qi * k + j] = s.labels[heap[j].second];
      }
    }
  }
  return res;
}

}  // namespace echoic::index
