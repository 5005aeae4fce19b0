// EmbeddingIndex core: a persistent, compressed store of d-dimensional float
// embeddings with int64 ids, a label and a namespace each, searched per namespace.
//
// Files: <path> (the main file, see index_file.h) and <path>.wal (the log of
// adds/removes since the last save, see wal.h). Every Add/Remove is fsync'd to
// the log before it returns; Save()/Compact() folds the log into a new main file
// written atomically. Encodings that need training (sq8, pq, any IVF) refuse adds
// with kState until Train() has run; Train() saves at once so the model is durable.
//
// Scores: cosine similarity (computed as 1 - |q-x|^2/2 on unit vectors, which keeps
// PQ tables accurate), inner product, or squared L2 distance.
// One writer at a time: <path>.lock is flock'ed while the index is open for writing.
// A read-only open takes no lock and writes nothing: it reads a snapshot of the main
// file and the log as they are at open (readers may run beside the one writer).
// SIMD: kernels.h picks AVX2 (x86-64) or NEON (AArch64) at run time; ECHOIC_DISABLE_SIMD=1
// forces scalar.
//
// Thread safety: any number of concurrent Search() calls; mutations are exclusive.
#ifndef ECHOIC_INDEX_INDEX_H_
#define ECHOIC_INDEX_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echoic/index/codec.h"
#include "echoic/index/metric.h"

namespace echoic::index {

struct IndexOptions {
  size_t dim = 0;  // 1..1024
  Metric metric = Metric::kCosine;
  Encoding encoding = Encoding::kPq;
  size_t pq_m = 32;
  size_t refine_m = 0;
  bool opq = false;
  size_t ivf_lists = 0;
  bool keep_fp16 = true;   // store float16 copies for exact re-ranking and retraining
  std::string encoder_id;  // e.g. "speaker-dvector@1a2b3c4d"; "" = unchecked
  int train_iterations = 10;
  uint64_t seed = 0x5eed;
  size_t max_train_points = 32768;
};

struct OpenOptions {
  // Keep every intact record of a damaged file instead of failing. Without it, open
  // is kCorruptData for any damage, a missing or newer log, or a last log record
  // whose checksum fails; only a log tail cut short by a crash is dropped (noted in
  // open_issues()).
  bool recover = false;
  // Read a snapshot; create, lock, truncate or repair nothing (no .lock, no new .wal,
  // no .damaged copy). Train/Add/Remove/Save on it are kState. With `recover`, damage
  // is skipped in memory only.
  bool read_only = false;
};

struct Entry {
  int64_t id = 0;
  std::string label;
};

struct SearchParams {
  size_t k = 10;
  std::string ns = "default";
  size_t nprobe = 8;               // IVF lists visited
  size_t rerank = 0;               // re-rank this many best candidates from the float16 copies
  size_t refine_factor = 4;        // residual tier: refine k * refine_factor candidates
  size_t exhaustive_below = 4096;  // below this many stored vectors, skip IVF and scan all
  std::string encoder_id;          // "" = unchecked
};

// nq × k row-major; missing results have id -1, empty label, score NaN.
struct SearchResult {
  size_t nq = 0, k = 0;
  std::vector<float> scores;  // similarity for cosine/ip (higher better), squared distance for l2
  std::vector<int64_t> ids;
  std::vector<std::string> labels;
};

class Index {
 public:
  // Creates <path> (must not exist) and an empty log.
  static std::unique_ptr<Index> Create(const std::string& path, const IndexOptions& options);
  static std::unique_ptr<Index> Open(const std::string& path, const OpenOptions& options = {});
  ~Index();

  void Train(const float* x, size_t n);
  // Retrains the codebooks and re-encodes every entry from its float16 copy (or,
  // without copies, from its current reconstruction). x may be null when copies
  // are kept: then they are the training set. Saves.
  void Retrain(const float* x, size_t n);

  // Adds n vectors; ids may be null (assigned), labels may be null or hold n strings.
  // Returns the ids. Durable (fsync'd) when it returns.
  std::vector<int64_t> Add(const float* x, size_t n, const int64_t* ids, const std::vector<std::string>* labels,
                           const std::string& ns, const std::string& encoder_id = "");
  // Removes the ids; all must exist (kNotFound otherwise, nothing removed).
  void Remove(const int64_t* ids, size_t n);
  SearchResult Search(const float* queries, size_t nq, const SearchParams& params) const;

  void Save();  // fold the log into a fresh main file (atomic)
  void Compact() { Save(); }
  void Close();  // no save needed: everything acknowledged is already in the log

  size_t size() const;
  bool Contains(int64_t id) const;
  std::string Label(int64_t id) const;  // kNotFound if absent
  // Code bytes searched per vector (excludes fp16 copies). IVF + pq with cosine/L2 also
  // keeps one float per row in RAM (2 c.r + |r|^2, rebuilt on open; not in the file):
  // 4 B more per vector at search time.
  size_t bytes_per_vector() const;
  size_t stored_bytes_per_vector() const;  // everything kept per vector in the main file
  bool trained() const;
  const IndexOptions& options() const;
  const std::string& path() const;
  // Problems found and skipped while opening (recover mode, log tail cut short).
  const std::vector<std::string>& open_issues() const;
  std::vector<std::string> namespaces() const;
  // Every live entry of namespace `ns`, in id order ("" = every namespace).
  std::vector<Entry> Entries(const std::string& ns) const;
  bool read_only() const;

  struct State;

 private:
  Index();
  static std::unique_ptr<Index> OpenSnapshot(const std::string& path, const OpenOptions& options);
  std::unique_ptr<State> s_;
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_INDEX_H_
