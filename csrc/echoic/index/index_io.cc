// Index load and save: create, open (writer or read-only snapshot, log replay,
// recovery), save and close.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "echoic/index/index.h"
#include "echoic/index/index_state.h"
#include "echoic/runtime/error.h"

namespace echoic::index {

void Index::State::LoadFrom(LoadedFile&& f) {
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

void Index::State::WriteMain() {
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

void Index::State::SaveLocked() {
  WriteMain();
  // A crash here leaves the old log, whose generation no longer matches: ignored on open.
  wal.Close();
  WalWriter::CreateEmpty(wal_path, generation + 1);
  LoadedFile f = ReadIndexFile(path, false);
  LoadFrom(std::move(f));
  WalContents w = ReadWal(wal_path, opts.dim, false);
  wal.Open(wal_path, w.valid_end);
}

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
    std::string what = !w.exists ? "is missing"
                                 : "is newer (generation " + std::to_string(w.generation) +
                                       ") than the main file (generation " + std::to_string(s->generation) + ")";
    if (!options.recover)
      Fail(ErrorCode::kCorruptData, "index log '", s->wal_path, "' ", what,
           ": adds and removes acknowledged since the last save may be lost (open with recover=true to continue "
           "from the main file's ",
           s->row_of.size(), " entries)");
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

}  // namespace echoic::index
