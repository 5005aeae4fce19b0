// The main index file: one versioned binary file, checksummed per section and per
// record, whose bulk sections (codes, residual codes, float16 copies) start
// 64-byte aligned so they can be used straight from a read-only mmap.
//
//   "ECHOIDX1" | u32 format_version | u32 header_size | header | u32 crc(header)
//   sections, each: [zero padding] u32 tag | u32 0 | u64 size | payload | u32 crc(payload)
//   tags: MODL (trained codec), RECS (records), CODE, RFNE, FP16, END_ (last)
//   a record: u32 size | i64 id | u32 ivf_list | str namespace | str label
//             | u32 crc(record bytes + this row's CODE, RFNE and FP16 bytes)
#ifndef ECHOIC_INDEX_INDEX_FILE_H_
#define ECHOIC_INDEX_INDEX_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "echoic/index/codec.h"
#include "echoic/index/file_io.h"
#include "echoic/index/index.h"

namespace echoic::index {

constexpr uint32_t kIndexFormatVersion = 1;

CodecConfig CodecConfigFrom(const IndexOptions& o);

struct FileHeader {
  IndexOptions options;
  uint64_t generation = 0;  // bumped by every save; ties the log to its main file
  uint64_t count = 0;
  int64_t next_id = 0;
};

struct FileRow {
  int64_t id = 0;
  uint32_t list = 0;
  std::string ns, label;
};

struct LoadedFile {
  FileHeader header;
  Codec codec;
  std::vector<FileRow> rows;
  std::shared_ptr<MappedFile> map;
  // Row i's bytes are at codes + i*code_size etc. They point into the mapping when
  // the file is intact, into the *_copy buffers after a recovery dropped rows.
  const uint8_t* codes = nullptr;
  const uint8_t* refine = nullptr;
  const uint8_t* fp16 = nullptr;
  std::vector<uint8_t> codes_copy, refine_copy, fp16_copy;
  std::vector<std::string> issues;  // damage skipped in recover mode
};

LoadedFile ReadIndexFile(const std::string& path, bool recover);

struct WriteRowFn {
  size_t count = 0;
  // Fills row metadata and points at its bytes (refine/fp16 ignored when absent).
  std::function<void(size_t i, FileRow* row, const uint8_t** code, const uint8_t** refine, const uint8_t** fp16)> get;
};

// Writes <path> atomically: temp file in the same directory, fsync, rename, fsync dir.
void WriteIndexFile(const std::string& path, const FileHeader& header, const Codec& codec, const WriteRowFn& rows);

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_INDEX_FILE_H_
