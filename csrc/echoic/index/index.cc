// Index: train, retrain, add, remove and listing over the row table
// (index_state.h); search in index_search.cc, load and save in index_io.cc.
#include "echoic/index/index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "echoic/index/index_state.h"
#include "echoic/index/kernels.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/utf8.h"

namespace echoic::index {

Index::Index() : s_(std::make_unique<State>()) {}
Index::~Index() = default;

void Index::Train(const float* x, size_t n) {
  State& s = *s_;
  std::unique_lock<std::shared_mutex> lock(s.mu);
  s.CheckWritable("train");
  if (!s.codec.needs_training()) return;  // flat without IVF: nothing to learn
  ECHOIC_CHECK(!s.codec.trained(), ErrorCode::kState, "index '", s.path, "' is already trained; use retrain");
  ECHOIC_CHECK(x != nullptr && n > 0, ErrorCode::kInvalidArgument, "train: no training vectors given");
  std::vector<float> xn;
  s.PrepareVectors(x, n, &xn, "training");
  Codec c(s.codec.config());
  c.Train(xn.data(), n);
  s.codec = std::move(c);
  s.SaveLocked();  // the model must be durable before any add is acknowledged
}

void Index::Retrain(const float* x, size_t n) {
  State& s = *s_;
  std::unique_lock<std::shared_mutex> lock(s.mu);
  s.CheckWritable("retrain");
  const size_t d = s.opts.dim;
  std::vector<uint32_t> rows;
  for (size_t i = 0; i < s.ids.size(); ++i)
    if (!s.deleted[i]) rows.push_back(static_cast<uint32_t>(i));
  // Source vectors of the stored entries: float16 copies, else reconstructions.
  std::vector<float> stored(rows.size() * d);
  for (size_t j = 0; j < rows.size(); ++j) {
    if (s.opts.keep_fp16) {
      HalvesToFloats(reinterpret_cast<const uint16_t*>(s.fp16.row(rows[j])), d, &stored[j * d]);
    } else {
      s.codec.Reconstruct(s.codes.row(rows[j]), s.refine.width() ? s.refine.row(rows[j]) : nullptr, s.lists[rows[j]],
                          &stored[j * d]);
    }
  }
  std::vector<float> train;
  if (x) {
    ECHOIC_CHECK(n > 0, ErrorCode::kInvalidArgument, "retrain: no training vectors given");
    s.PrepareVectors(x, n, &train, "training");
  } else {
    ECHOIC_CHECK(s.opts.keep_fp16, ErrorCode::kInvalidArgument, "retrain of index '", s.path,
                 "' needs training vectors: it keeps no float16 copies");
    train = stored;
    n = rows.size();
  }
  Codec c(s.codec.config());
  c.Train(train.data(), n);
  s.codec = std::move(c);
  State::Encoded e = s.EncodeAll(stored.data(), rows.size());
  // Rebuild the rows in memory from the re-encoded data, then save.
  std::vector<int64_t> ids;
  std::vector<std::string> nss, labels;
  for (uint32_t r : rows) {
    ids.push_back(s.ids[r]);
    nss.push_back(s.ns_names[s.ns[r]]);
    labels.push_back(s.labels[r]);
  }
  std::vector<uint16_t> halves;
  if (s.opts.keep_fp16) {
    halves.resize(rows.size() * d);
    for (size_t j = 0; j < rows.size(); ++j)
      std::memcpy(&halves[j * d], s.fp16.row(rows[j]), d * 2);  // keep the exact originals
  }
  s.codes = RowStore(s.codec.code_size());
  s.refine = RowStore(s.codec.refine_size());
  s.fp16 = RowStore(s.fp16_width());
  s.ids.clear();
  s.ns.clear();
  s.lists.clear();
  s.labels.clear();
  s.deleted.clear();
  s.row_terms.clear();
  s.row_of.clear();
  s.ivf.assign(s.codec.ivf_lists(), {});
  s.live = 0;
  const size_t cs = s.codec.code_size(), rs = s.codec.refine_size();
  for (size_t j = 0; j < rows.size(); ++j)
    s.AppendRow(ids[j], nss[j], labels[j], &e.codes[j * cs], rs ? &e.refine[j * rs] : nullptr,
                s.opts.keep_fp16 ? &halves[j * d] : nullptr, e.lists[j]);
  s.SaveLocked();
}

std::vector<int64_t> Index::Add(const float* x, size_t n, const int64_t* ids_in, const std::vector<std::string>* labels,
                                const std::string& nsname, const std::string& encoder_id) {
  State& s = *s_;
  std::unique_lock<std::shared_mutex> lock(s.mu);
  s.CheckWritable("add");
  s.CheckEncoder(encoder_id, "cannot add");
  ECHOIC_CHECK(s.codec.trained(), ErrorCode::kState, "index '", s.path, "' (encoding ", EncodingName(s.opts.encoding),
               s.opts.ivf_lists ? ", ivf" : "", ") must be trained before vectors are added");
  if (n == 0) return {};
  ECHOIC_CHECK(x != nullptr, ErrorCode::kInvalidArgument, "add: vectors are NULL");
  ECHOIC_CHECK(!nsname.empty() && nsname.size() <= 256, ErrorCode::kInvalidArgument,
               "namespace must be 1..256 bytes, got ", nsname.size());
  // Labels and namespaces come back as text in every binding: refuse what cannot decode.
  size_t bad = 0;
  ECHOIC_CHECK(IsValidUtf8(nsname, &bad), ErrorCode::kInvalidArgument, "add: namespace is not valid UTF-8 (byte ", bad,
               ")");
  ECHOIC_CHECK(!labels || labels->size() == n, ErrorCode::kInvalidArgument, "add: ", n, " vectors but ",
               labels ? labels->size() : 0, " labels");
  std::vector<int64_t> ids(n);
  if (ids_in) {
    std::unordered_map<int64_t, size_t> seen;
    for (size_t i = 0; i < n; ++i) {
      ECHOIC_CHECK(ids_in[i] >= 0, ErrorCode::kInvalidArgument, "add: id ", ids_in[i], " is negative");
      ECHOIC_CHECK(!s.row_of.count(ids_in[i]), ErrorCode::kInvalidArgument, "add: id ", ids_in[i],
                   " already exists in index '", s.path, "'");
      ECHOIC_CHECK(seen.emplace(ids_in[i], i).second, ErrorCode::kInvalidArgument, "add: id ", ids_in[i],
                   " is given twice");
      ids[i] = ids_in[i];
    }
  } else {
    for (size_t i = 0; i < n; ++i) ids[i] = s.next_id + static_cast<int64_t>(i);
  }
  if (labels)
    for (size_t i = 0; i < labels->size(); ++i) {
      const std::string& l = (*labels)[i];
      ECHOIC_CHECK(l.size() <= 65536, ErrorCode::kInvalidArgument, "add: label longer than 65536 bytes");
      ECHOIC_CHECK(IsValidUtf8(l, &bad), ErrorCode::kInvalidArgument, "add: label ", i, " is not valid UTF-8 (byte ",
                   bad, ")");
    }
  std::vector<float> xn;
  s.PrepareVectors(x, n, &xn, "add:");
  State::Encoded e = s.EncodeAll(xn.data(), n);

  // Durable first: one write + fsync for the whole batch.
  std::string framed;
  WalRecord rec;
  rec.type = WalRecord::kAdd;
  rec.ns = nsname;
  for (size_t i = 0; i < n; ++i) {
    rec.id = ids[i];
    rec.label = labels ? (*labels)[i] : std::string();
    rec.vector.assign(xn.begin() + i * s.opts.dim, xn.begin() + (i + 1) * s.opts.dim);
    framed += EncodeWalRecord(rec);
  }
  s.wal.Append(framed);

  const size_t cs = s.codec.code_size(), rs = s.codec.refine_size(), d = s.opts.dim;
  for (size_t i = 0; i < n; ++i)
    s.AppendRow(ids[i], nsname, labels ? (*labels)[i] : std::string(), &e.codes[i * cs],
                rs ? &e.refine[i * rs] : nullptr, s.opts.keep_fp16 ? &e.halves[i * d] : nullptr, e.lists[i]);
  return ids;
}

void Index::Remove(const int64_t* ids, size_t n) {
  State& s = *s_;
  std::unique_lock<std::shared_mutex> lock(s.mu);
  s.CheckWritable("remove");
  if (n == 0) return;
  ECHOIC_CHECK(ids != nullptr, ErrorCode::kInvalidArgument, "remove: ids are NULL");
  for (size_t i = 0; i < n; ++i)
    ECHOIC_CHECK(s.row_of.count(ids[i]), ErrorCode::kNotFound, "remove: id ", ids[i], " is not in index '", s.path,
                 "'");
  WalRecord rec;
  rec.type = WalRecord::kRemove;
  rec.ids.assign(ids, ids + n);
  s.wal.Append(EncodeWalRecord(rec));
  for (size_t i = 0; i < n; ++i) s.ApplyRemove(ids[i]);
}

size_t Index::size() const {
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  return s_->live;
}

bool Index::Contains(int64_t id) const {
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  return s_->row_of.count(id) > 0;
}

std::string Index::Label(int64_t id) const {
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  auto it = s_->row_of.find(id);
  ECHOIC_CHECK(it != s_->row_of.end(), ErrorCode::kNotFound, "id ", id, " is not in index '", s_->path, "'");
  return s_->labels[it->second];
}

size_t Index::bytes_per_vector() const { return s_->codec.code_size() + s_->codec.refine_size(); }
size_t Index::stored_bytes_per_vector() const { return bytes_per_vector() + s_->fp16_width(); }
bool Index::trained() const { return s_->codec.trained(); }
const IndexOptions& Index::options() const { return s_->opts; }
const std::string& Index::path() const { return s_->path; }
const std::vector<std::string>& Index::open_issues() const { return s_->issues; }

std::vector<std::string> Index::namespaces() const {
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  std::vector<bool> used(s_->ns_names.size(), false);
  for (size_t i = 0; i < s_->ids.size(); ++i)
    if (!s_->deleted[i]) used[s_->ns[i]] = true;
  std::vector<std::string> out;
  for (size_t i = 0; i < used.size(); ++i)
    if (used[i]) out.push_back(s_->ns_names[i]);
  return out;
}

std::vector<Entry> Index::Entries(const std::string& nsname) const {
  std::shared_lock<std::shared_mutex> lock(s_->mu);
  s_->CheckOpen();
  std::vector<Entry> out;
  auto it = s_->ns_ids.find(nsname);
  if (!nsname.empty() && it == s_->ns_ids.end()) return out;
  for (size_t i = 0; i < s_->ids.size(); ++i)
    if (!s_->deleted[i] && (nsname.empty() || s_->ns[i] == it->second)) out.push_back({s_->ids[i], s_->labels[i]});
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  return out;
}

bool Index::read_only() const { return s_->read_only; }

}  // namespace echoic::index
