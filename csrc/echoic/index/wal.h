// The write-ahead log beside an index file (<path>.wal). Every add/remove is
// appended as a length-prefixed, CRC-checked record and fsync'd before the call
// returns. The log names the generation of the main file it extends; a log from
// another generation was already folded into the main file and is ignored.
//
// Layout: "ECHOWAL1" | u32 version | u32 reserved | u64 generation | u32 crc(previous 24 bytes)
//         then records: u32 payload_size | u32 crc(size) | u32 crc(payload) | payload
#ifndef ECHOIC_INDEX_WAL_H_
#define ECHOIC_INDEX_WAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "echoic/index/file_io.h"

namespace echoic::index {

struct WalRecord {
  enum Type : uint8_t { kAdd = 1, kRemove = 2 };
  Type type = kAdd;
  int64_t id = 0;             // kAdd
  std::string ns, label;      // kAdd
  std::vector<float> vector;  // kAdd (normalised for cosine)
  std::vector<int64_t> ids;   // kRemove
};

std::string EncodeWalRecord(const WalRecord& rec);  // framed: size + crc + payload

struct WalContents {
  bool exists = false;
  uint64_t generation = 0;
  std::vector<WalRecord> records;
  uint64_t valid_end = 0;           // where the next record should go
  std::vector<std::string> issues;  // damage skipped (recover mode) or torn tail dropped
};

// Reads and validates a WAL. A last record cut short (crash during append; never
// acknowledged) or a zero-filled tail is dropped with a note in `issues`. A complete
// record whose checksum fails, last or not, is kCorruptData naming the file and
// offset, unless `recover`, which skips damaged records.
WalContents ReadWal(const std::string& path, size_t dim, bool recover);

class WalWriter {
 public:
  WalWriter() = default;
  // Creates a fresh, empty log for `generation` atomically (temp + rename).
  static void CreateEmpty(const std::string& path, uint64_t generation);
  // Opens an existing log for appending; cuts it to `valid_end` (drops a torn tail).
  void Open(const std::string& path, uint64_t valid_end);
  // Writes the framed records with one write and one fsync (group commit).
  void Append(const std::string& framed);
  void Close() { file_.Close(); }
  bool is_open() const { return file_.is_open(); }

 private:
  File file_;
  uint64_t end_ = 0;
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_WAL_H_
