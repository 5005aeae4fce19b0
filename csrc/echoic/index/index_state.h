// Index internals shared by index.cc (train, add, remove, listing), index_search.cc
// and index_io.cc (create, open, save): the row table, with each row's codes,
// id, namespace, label and inverted list, and the upkeep of the IVF lists.
// Not a public header.
#ifndef ECHOIC_INDEX_INDEX_STATE_H_
#define ECHOIC_INDEX_INDEX_STATE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "echoic/index/codec.h"
#include "echoic/index/file_io.h"
#include "echoic/index/float16.h"
#include "echoic/index/index.h"
#include "echoic/index/index_file.h"
#include "echoic/index/row_store.h"
#include "echoic/index/wal.h"
#include "echoic/runtime/error.h"

namespace echoic::index {

struct Index::State {
  std::string path, wal_path;
  IndexOptions opts;
  Codec codec;
  uint64_t generation = 0;
  int64_t next_id = 0;
  std::shared_ptr<MappedFile> map;
  RowStore codes, refine, fp16;
  std::vector<int64_t> ids;
  std::vector<uint32_t> ns, lists;
  std::vector<std::string> labels;
  std::vector<uint8_t> deleted;
  // Residual pq under L2: 2 c.r + |r|^2 per row (see Codec::RowTerm). RAM only,
  // 4 B/row, rebuilt from the codes on open: the file format is unchanged.
  std::vector<float> row_terms;
  size_t live = 0;
  std::unordered_map<int64_t, uint32_t> row_of;
  std::vector<std::string> ns_names;
  std::unordered_map<std::string, uint32_t> ns_ids;
  // Inverted lists. A save writes rows grouped by list, so each list's saved rows are
  // one contiguous range of the mapped codes; rows added since sit in `rows`.
  struct IvfList {
    uint32_t begin = 0, end = 0;
    std::vector<uint32_t> rows;
    std::vector<uint8_t> row_codes;  // pq: codes of `rows` back to back, for the batch kernel
    // Row terms of `rows` in the same order: a scan reads them in sequence instead of
    // jumping through the index-wide array (a cache miss per row at 1M rows).
    std::vector<float> row_terms;
  };
  std::vector<IvfList> ivf;
  WalWriter wal;
  File lock;
  std::vector<std::string> issues;
  bool closed = false;
  bool read_only = false;
  mutable std::shared_mutex mu;

  size_t fp16_width() const { return opts.keep_fp16 ? opts.dim * 2 : 0; }

  void CheckOpen() const { ECHOIC_CHECK(!closed, ErrorCode::kState, "index '", path, "' is closed"); }
  void CheckWritable(const char* what) const {
    CheckOpen();
    ECHOIC_CHECK(!read_only, ErrorCode::kState, "cannot ", what, ": index '", path, "' was opened read-only");
  }

  void CheckEncoder(const std::string& declared, const char* what) const {
    if (declared.empty() || opts.encoder_id.empty() || declared == opts.encoder_id) return;
    Fail(ErrorCode::kInvalidArgument, what, " embeddings from encoder '", declared, "' into index '", path,
         "', which holds embeddings from encoder '", opts.encoder_id, "'");
  }

  uint32_t NamespaceId(const std::string& name) {
    auto it = ns_ids.find(name);
    if (it != ns_ids.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(ns_names.size());
    ns_names.push_back(name);
    ns_ids.emplace(name, id);
    return id;
  }

  // Validates and (for cosine) normalises n input vectors into `out`.
  void PrepareVectors(const float* x, size_t n, std::vector<float>* out, const char* what) const {
    const size_t d = opts.dim;
    out->assign(x, x + n * d);
    for (size_t i = 0; i < n; ++i) {
      float* v = out->data() + i * d;
      double norm = 0;
      for (size_t t = 0; t < d; ++t) {
        ECHOIC_CHECK(std::isfinite(v[t]), ErrorCode::kInvalidArgument, what, " vector ", i,
                     " has a non-finite value"
                     " at dimension ",
                     t, " (index '", path, "')");
        norm += double(v[t]) * v[t];
      }
      if (opts.metric == Metric::kCosine) {
        ECHOIC_CHECK(norm > 0, ErrorCode::kInvalidArgument, what, " vector ", i,
                     " has zero norm; cosine needs a direction (index '", path, "')");
        float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (size_t t = 0; t < d; ++t) v[t] *= inv;
      }
    }
  }

  // Appends one encoded row to memory. Cannot fail except for allocation.
  void AppendRow(int64_t id, const std::string& nsname, const std::string& label, const uint8_t* code,
                 const uint8_t* rcode, const uint16_t* half, uint32_t list) {
    uint32_t row = static_cast<uint32_t>(ids.size());
    codes.Append(code);
    if (refine.width()) refine.Append(rcode);
    if (fp16.width()) fp16.Append(reinterpret_cast<const uint8_t*>(half));
    ids.push_back(id);
    ns.push_back(NamespaceId(nsname));
    lists.push_back(list);
    labels.push_back(label);
    deleted.push_back(0);
    if (codec.uses_row_terms()) row_terms.push_back(codec.RowTerm(code, list));
    row_of[id] = row;
    if (!ivf.empty()) {
      ivf[list].rows.push_back(row);
      if (codec.has_lut()) ivf[list].row_codes.insert(ivf[list].row_codes.end(), code, code + codes.width());
      if (codec.uses_row_terms()) ivf[list].row_terms.push_back(row_terms.back());
    }
    ++live;
    next_id = std::max(next_id, id + 1);
  }

  // Encodes normalised vectors into row buffers.
  struct Encoded {
    std::vector<uint8_t> codes, refine;
    std::vector<uint16_t> halves;
    std::vector<uint32_t> lists;
  };
  Encoded EncodeAll(const float* xn, size_t n) const {
    Encoded e;
    const size_t cs = codec.code_size(), rs = codec.refine_size(), d = opts.dim;
    e.codes.resize(n * cs);
    e.refine.resize(n * rs);
    e.lists.resize(n);
    if (opts.keep_fp16) {
      e.halves.resize(n * d);
      FloatsToHalves(xn, n * d, e.halves.data());
    }
    codec.EncodeMany(xn, n, e.codes.data(), rs ? e.refine.data() : nullptr, e.lists.data());
    return e;
  }

  void ApplyAdd(const WalRecord& rec) {
    const Encoded e = EncodeAll(rec.vector.data(), 1);
    AppendRow(rec.id, rec.ns, rec.label, e.codes.data(), e.refine.data(), e.halves.data(), e.lists[0]);
  }

  void ApplyRemove(int64_t id) {
    auto it = row_of.find(id);
    if (it == row_of.end()) return;
    deleted[it->second] = 1;
    row_of.erase(it);
    --live;
  }

  // Load and save (index_io.cc).
  // Replaces the in-memory state with what the main file holds.
  void LoadFrom(LoadedFile&& f);
  void WriteMain();
  // Save: new main file (generation+1), fresh empty log, reload from the new file.
  void SaveLocked();
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_INDEX_STATE_H_
