#include "echoic/index/index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "echoic/index/float16.h"
#include "echoic/index/index_file.h"
#include "echoic/index/kernels.h"
#include "echoic/index/row_store.h"
#include "echoic/index/wal.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/utf8.h"

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
        ECHOIC_CHECK(std::isfinite(v[t]), ErrorCode::kInvalidArgument, what, " vector ", i, " has a non-finite value"
                     " at dimension ", t, " (index '", path, "')");
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

  // Replaces the in-memory state with what the main file holds.
  void LoadFrom(LoadedFile&& f) {
    opts = f.header.options;
    codec = std::move(f.codec);
    generation = f.header.generation;
    next_id = f.header.next_id;
    map = f.map;
    const size_t n = f.rows.size();
    codes.Reset(codec.code_size(), f.codes, n, std::move(f.codes_copy));
    refine.Reset(codec.refine_size(), f.refine, n, std::move(f.refine_copy));
    fp16.Reset(fp16_width(), f.fp16, n, std::move(f.fp16_copy));
    ids.clear();
    ns.clear();
    lists.clear();
    labels.clear();
    deleted.assign(n, 0);
    row_terms.clear();
    if (codec.uses_row_terms()) row_terms.reserve(n);
    row_of.clear();
    ns_names.clear();
    ns_ids.clear();
    ivf.assign(codec.ivf_lists(), {});
    live = 0;
    for (size_t i = 0; i < n; ++i) {
      FileRow& r = f.rows[i];
      if (row_of.count(r.id)) {  // only possible in a damaged file that passed its CRCs
        Fail(ErrorCode::kCorruptData, "index file '", path, "': id ", r.id, " appears twice");
      }
      ids.push_back(r.id);
      ns.push_back(NamespaceId(r.ns));
      lists.push_back(r.list);
      if (codec.uses_row_terms()) row_terms.push_back(codec.RowTerm(codes.row(i), r.list));
      labels.push_back(std::move(r.label));
      row_of[r.id] = static_cast<uint32_t>(i);
      if (!ivf.empty()) {
        IvfList& l = ivf[r.list];
        uint32_t row = static_cast<uint32_t>(i);
        if (l.begin == l.end && l.rows.empty()) {
          l.begin = row;
          l.end = row + 1;
        } else if (l.end == row) {
          ++l.end;
        } else {
          l.rows.push_back(row);
          if (codec.has_lut()) l.row_codes.insert(l.row_codes.end(), codes.row(i), codes.row(i) + codes.width());
          if (codec.uses_row_terms()) l.row_terms.push_back(row_terms.back());
        }
      }
      ++live;
      next_id = std::max(next_id, r.id + 1);
    }
  }

  void WriteMain() {
    FileHeader h;
    h.options = opts;
    h.generation = generation + 1;
    h.count = live;
    h.next_id = next_id;
    std::vector<uint32_t> order;
    order.reserve(live);
    for (size_t i = 0; i < ids.size(); ++i)
      if (!deleted[i]) order.push_back(static_cast<uint32_t>(i));
    if (!ivf.empty())  // group by list: each list becomes one contiguous range on reload
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return lists[a] < lists[b]; });
    WriteRowFn rows;
    rows.count = order.size();
    rows.get = [&](size_t j, FileRow* row, const uint8_t** c, const uint8_t** r, const uint8_t** h16) {
      size_t i = order[j];
      row->id = ids[i];
      row->list = lists[i];
      row->ns = ns_names[ns[i]];
      row->label = labels[i];
      *c = codes.row(i);
      *r = refine.width() ? refine.row(i) : nullptr;
      *h16 = fp16.width() ? fp16.row(i) : nullptr;
    };
    WriteIndexFile(path, h, codec, rows);
  }

  // Save: new main file (generation+1), fresh empty log, reload from the new file.
  void SaveLocked() {
    WriteMain();
    // A crash here leaves the old log, whose generation no longer matches: ignored on open.
    wal.Close();
    WalWriter::CreateEmpty(wal_path, generation + 1);
    LoadedFile f = ReadIndexFile(path, false);
    LoadFrom(std::move(f));
    WalContents w = ReadWal(wal_path, opts.dim, false);
    wal.Open(wal_path, w.valid_end);
  }
};

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

Index::Index() : s_(std::make_unique<State>()) {}
Index::~Index() = default;

namespace {
void LockIndex(Index::State* s) {
  s->lock = File(s->path + ".lock", O_RDWR | O_CREAT);
  ECHOIC_CHECK(s->lock.TryLockExclusive(), ErrorCode::kState, "index '", s->path,
               "' is already open (in this or another process)");
}
}  // namespace

std::unique_ptr<Index> Index::Create(const std::string& path, const IndexOptions& options) {
  CodecConfigFrom(options).Validate();
  ECHOIC_CHECK(!path.empty(), ErrorCode::kInvalidArgument, "index path is empty");
  ECHOIC_CHECK(options.encoder_id.size() <= 1024, ErrorCode::kInvalidArgument, "encoder id is too long");
  ECHOIC_CHECK(!PathExists(path), ErrorCode::kInvalidArgument, "cannot create index '", path,
               "': the file already exists (use open)");
  std::unique_ptr<Index> idx(new Index());
  State* s = idx->s_.get();
  s->path = path;
  s->wal_path = path + ".wal";
  LockIndex(s);
  s->opts = options;
  s->codec = Codec(CodecConfigFrom(options));
  s->generation = 0;  // WriteMain writes generation 1
  s->codes = RowStore(s->codec.code_size());
  s->refine = RowStore(s->codec.refine_size());
  s->fp16 = RowStore(s->fp16_width());
  // The log first: once the main file exists, a missing log always means lost data.
  WalWriter::CreateEmpty(s->wal_path, 1);
  s->SaveLocked();
  return idx;
}

namespace {
// Log records newer than the main file's generation were written after a save this
// reader did not see (a writer saved between our two reads): the caller reads again.
struct StaleSnapshot {};

bool BenignWalIssue(const std::string& issue) {
  return issue.find("torn") != std::string::npos || issue.find("incomplete") != std::string::npos ||
         issue.find("zero-filled") != std::string::npos;
}
}  // namespace

std::unique_ptr<Index> Index::Open(const std::string& path, const OpenOptions& options) {
  ECHOIC_CHECK(PathExists(path), ErrorCode::kNotFound, "index file '", path, "' does not exist");
  if (!options.read_only) return OpenSnapshot(path, options);
  // Without the lock a writer may save between reading the main file and the log;
  // the log then names a newer generation. Read again (a save is rare and quick).
  for (int attempt = 0;; ++attempt) {
    try {
      return OpenSnapshot(path, options);
    } catch (const StaleSnapshot&) {
      ECHOIC_CHECK(attempt < 8, ErrorCode::kState, "index '", path,
                   "' kept changing while being read (a writer is saving it repeatedly); try again");
    }
  }
}

std::unique_ptr<Index> Index::OpenSnapshot(const std::string& path, const OpenOptions& options) {
  std::unique_ptr<Index> idx(new Index());
  State* s = idx->s_.get();
  s->path = path;
  s->wal_path = path + ".wal";
  s->read_only = options.read_only;
  if (!s->read_only) LockIndex(s);
  LoadedFile f = ReadIndexFile(path, options.recover);
  bool damaged = !f.issues.empty();
  s->issues = f.issues;
  s->LoadFrom(std::move(f));

  WalContents w = ReadWal(s->wal_path, s->opts.dim, options.recover);
  bool wal_damaged = false;
  for (const std::string& issue : w.issues) {
    s->issues.push_back(issue);
    if (!BenignWalIssue(issue)) wal_damaged = true;
  }
  if (s->read_only && w.exists && w.generation > s->generation) throw StaleSnapshot{};
  // Every save writes the main file, then a fresh log of its generation; a crash in
  // between leaves the previous generation's log (already folded in). Anything else
  // means acknowledged adds/removes may be gone: say so unless recovering.
  if (!w.exists || w.generation > s->generation) {
    std::string what = !w.exists ? "is missing" : "is newer (generation " + std::to_string(w.generation) +
                                                      ") than the main file (generation " +
                                                      std::to_string(s->generation) + ")";
    if (!options.recover)
      Fail(ErrorCode::kCorruptData, "index log '", s->wal_path, "' ", what,
           ": adds and removes acknowledged since the last save may be lost (open with recover=true to continue "
           "from the main file's ", s->row_of.size(), " entries)");
    s->issues.push_back("log '" + s->wal_path + "' " + what + "; continued from the main file");
    wal_damaged = true;
  }
  if (w.exists && w.generation == s->generation) {
    for (size_t i = 0; i < w.records.size(); ++i) {
      const WalRecord& rec = w.records[i];
      if (rec.type == WalRecord::kAdd) {
        if (s->row_of.count(rec.id)) {
          if (!options.recover)
            Fail(ErrorCode::kCorruptData, "index log '", s->wal_path, "': record ", i, " adds id ", rec.id,
                 " which already exists");
          s->issues.push_back("log record " + std::to_string(i) + " duplicates id " + std::to_string(rec.id));
          wal_damaged = true;
          continue;
        }
        ECHOIC_CHECK(s->codec.trained(), ErrorCode::kCorruptData, "index log '", s->wal_path,
                     "' holds adds but the index is untrained");
        s->ApplyAdd(rec);
      } else {
        for (int64_t id : rec.ids) s->ApplyRemove(id);
      }
    }
    if (!s->read_only) s->wal.Open(s->wal_path, w.valid_end);
  } else if (!s->read_only) {
    // No log, or one already folded into the main file by a save that crashed
    // before replacing it.
    WalWriter::CreateEmpty(s->wal_path, s->generation);
    WalContents fresh = ReadWal(s->wal_path, s->opts.dim, false);
    s->wal.Open(s->wal_path, fresh.valid_end);
  }
  if (options.recover && (damaged || wal_damaged) && !s->read_only) {
    // Keep the damaged original for inspection, then write a clean file.
    std::string keep = path + ".damaged";
    RemoveIfExists(keep);
    if (::link(path.c_str(), keep.c_str()) != 0) s->issues.push_back("could not keep a copy of the damaged file");
    s->SaveLocked();
  }
  return idx;
}

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

std::vector<int64_t> Index::Add(const float* x, size_t n, const int64_t* ids_in,
                                const std::vector<std::string>* labels, const std::string& nsname,
                                const std::string& encoder_id) {
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
  ECHOIC_CHECK(IsValidUtf8(nsname, &bad), ErrorCode::kInvalidArgument, "add: namespace is not valid UTF-8 (byte ",
               bad, ")");
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
  std::vector<float> block(1024), qblock(block_q * d), scratch(d), dists(block_q);
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
        // Contiguous rows [first, first+count): pq goes through the batch ADC kernel.
        auto span = [&](size_t first, size_t count) {
          if (count == 0) return;
          if (!s.codec.has_lut()) {
            for (size_t row = first; row < first + count; ++row)
              consider(top, s.codec.Distance(cq, s.codes.row(row)), static_cast<uint32_t>(row));
            return;
          }
          const uint8_t* base = s.codes.row(first);
          for (size_t off = 0; off < count; off += block.size()) {
            size_t len = std::min(block.size(), count - off);
            kern.adc_batch(cq.lut.data(), base + off * m, len, m, m, block.data());
            const size_t r0 = first + off;
            if (terms) {
              for (size_t j = 0; j < len; ++j)
                consider(top, cq.offset + terms[r0 + j] + block[j], static_cast<uint32_t>(r0 + j));
            } else {
              for (size_t j = 0; j < len; ++j) consider(top, cq.offset + block[j], static_cast<uint32_t>(r0 + j));
            }
          }
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
              for (size_t off = 0; off < l.rows.size(); off += block.size()) {
                size_t len = std::min(block.size(), l.rows.size() - off);
                kern.adc_batch(cq.lut.data(), l.row_codes.data() + off * m, len, m, m, block.data());
                const float* lterms = terms ? l.row_terms.data() + off : nullptr;
                for (size_t j = 0; j < len; ++j)
                  consider(top, cq.offset + (lterms ? lterms[j] : 0.f) + block[j], l.rows[off + j]);
              }
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

void Index::Save() {
  std::unique_lock<std::shared_mutex> lock(s_->mu);
  s_->CheckWritable("save");
  s_->SaveLocked();
}

void Index::Close() {
  std::unique_lock<std::shared_mutex> lock(s_->mu);
  if (s_->closed) return;
  s_->wal.Close();
  s_->map.reset();
  s_->codes = RowStore();
  s_->refine = RowStore();
  s_->fp16 = RowStore();
  s_->lock.Close();
  s_->closed = true;
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
