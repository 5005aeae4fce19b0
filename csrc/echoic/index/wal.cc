#include "echoic/index/wal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "echoic/index/bytes.h"
#include "echoic/index/crc32.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/utf8.h"

namespace echoic::index {
namespace {

constexpr char kMagic[8] = {'E', 'C', 'H', 'O', 'W', 'A', 'L', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 28;
constexpr uint32_t kMaxRecord = 64u << 20;
constexpr size_t kFrame = 12;  // u32 size | u32 crc(size) | u32 crc(payload)

// The size has its own checksum so that a damaged size (which would make the rest
// of the log look like one cut-off record) is told apart from a torn last append.
uint32_t SizeCrc(uint32_t len) { return Crc32(&len, 4) ^ 0x5A17C0DEu; }

std::string Header(uint64_t generation) {
  ByteWriter w;
  w.PutBytes(kMagic, 8);
  w.Put<uint32_t>(kVersion);
  w.Put<uint32_t>(0);
  w.Put<uint64_t>(generation);
  w.Put<uint32_t>(Crc32(w.data().data(), w.size()));
  return w.data();
}

WalRecord ParsePayload(const uint8_t* p, size_t n, const std::string& path, uint64_t offset, size_t dim) {
  ByteReader r(p, n, path, offset);
  WalRecord rec;
  uint8_t type = r.Get<uint8_t>("wal record type");
  if (type == WalRecord::kAdd) {
    rec.type = WalRecord::kAdd;
    rec.id = r.Get<int64_t>("wal id");
    rec.ns = r.GetString("wal namespace");
    rec.label = r.GetString("wal label");
    if (!IsValidUtf8(rec.ns) || !IsValidUtf8(rec.label))
      Fail(ErrorCode::kCorruptData, "index log '", path, "': record at offset ", offset,
           " has a non-UTF-8 namespace or label");
    uint32_t d = r.Get<uint32_t>("wal dimension");
    if (d != dim)
      Fail(ErrorCode::kCorruptData, "index log '", path, "': record at offset ", offset, " has dimension ", d,
           ", index has ", dim);
    rec.vector.resize(d);
    std::memcpy(rec.vector.data(), r.Take(d * sizeof(float), "wal vector"), d * sizeof(float));
  } else if (type == WalRecord::kRemove) {
    rec.type = WalRecord::kRemove;
    uint64_t count = r.Get<uint64_t>("wal remove count");
    if (count > n / 8)
      Fail(ErrorCode::kCorruptData, "index log '", path, "': remove record at offset ", offset, " claims ", count,
           " ids");
    rec.ids.resize(count);
    std::memcpy(rec.ids.data(), r.Take(count * 8, "wal remove ids"), count * 8);
  } else {
    Fail(ErrorCode::kCorruptData, "index log '", path, "': unknown record type ", int(type), " at offset ", offset);
  }
  return rec;
}

}  // namespace

std::string EncodeWalRecord(const WalRecord& rec) {
  ByteWriter p;
  p.Put<uint8_t>(rec.type);
  if (rec.type == WalRecord::kAdd) {
    p.Put<int64_t>(rec.id);
    p.PutString(rec.ns);
    p.PutString(rec.label);
    p.Put<uint32_t>(static_cast<uint32_t>(rec.vector.size()));
    p.PutBytes(rec.vector.data(), rec.vector.size() * sizeof(float));
  } else {
    p.Put<uint64_t>(rec.ids.size());
    p.PutBytes(rec.ids.data(), rec.ids.size() * sizeof(int64_t));
  }
  ByteWriter framed;
  uint32_t len = static_cast<uint32_t>(p.size());
  framed.Put<uint32_t>(len);
  framed.Put<uint32_t>(SizeCrc(len));
  framed.Put<uint32_t>(Crc32(p.data().data(), p.size()));
  framed.PutBytes(p.data().data(), p.size());
  return framed.data();
}

WalContents ReadWal(const std::string& path, size_t dim, bool recover) {
  WalContents out;
  if (!PathExists(path)) return out;
  out.exists = true;
  MappedFile map(path);
  const uint8_t* p = map.data();
  const size_t size = map.size();
  if (size < kHeaderSize || std::memcmp(p, kMagic, 8) != 0 || Crc32(p, 24) != [&] {
        uint32_t c;
        std::memcpy(&c, p + 24, 4);
        return c;
      }()) {
    // A crash while the fresh log was being created leaves at most a temp file, so a
    // bad header here is damage.
    if (!recover) Fail(ErrorCode::kCorruptData, "index log '", path, "': bad header at offset 0 (size ", size, ")");
    out.issues.push_back("log '" + path + "': bad header, log ignored");
    out.exists = false;
    return out;
  }
  uint32_t version;
  std::memcpy(&version, p + 8, 4);
  if (version != kVersion)
    Fail(ErrorCode::kUnsupported, "index log '", path, "' has format version ", version, ", this build reads ",
         kVersion);
  std::memcpy(&out.generation, p + 16, 8);

  size_t off = kHeaderSize;
  out.valid_end = off;
  while (off < size) {
    // A zero-filled tail (file extended, data never written) is a torn append too.
    bool zeros = true;
    for (size_t i = off; i < size && zeros; ++i) zeros = p[i] == 0;
    if (zeros) {
      out.issues.push_back("log '" + path + "': zero-filled tail at offset " + std::to_string(off) + " dropped");
      break;
    }
    if (size - off < kFrame) {  // torn frame at the very end
      out.issues.push_back("log '" + path + "': incomplete record at offset " + std::to_string(off) + " dropped");
      break;
    }
    uint32_t len, len_crc, crc;
    std::memcpy(&len, p + off, 4);
    std::memcpy(&len_crc, p + off + 4, 4);
    std::memcpy(&crc, p + off + 8, 4);
    if (len_crc != SizeCrc(len) || len > kMaxRecord) {
      // Nothing after a bad size can be framed again.
      if (!recover)
        Fail(ErrorCode::kCorruptData, "index log '", path, "': damaged record header at offset ", off,
             " (open with recover=true to keep the records before it)");
      out.issues.push_back("log '" + path + "': damaged record header at offset " + std::to_string(off) +
                           "; the rest of the log is unreadable");
      break;
    }
    if (len > size - off - kFrame) {  // trustworthy size past the end: the last append was cut short
      out.issues.push_back("log '" + path + "': incomplete record at offset " + std::to_string(off) + " dropped");
      break;
    }
    const uint8_t* payload = p + off + kFrame;
    size_t next = off + kFrame + len;
    if (Crc32(payload, len) != crc) {
      // A complete last record with a bad checksum: an append torn by a power loss
      // (never acknowledged) looks the same as damage to an acknowledged record, so
      // it is not dropped silently either.
      if (next == size) {
        if (!recover)
          Fail(ErrorCode::kCorruptData, "index log '", path, "': checksum mismatch in the last record at offset ", off,
               " (damaged, or cut short by a power loss; open with recover=true to drop it)");
        out.issues.push_back("log '" + path + "': last record at offset " + std::to_string(off) +
                             " fails its checksum; dropped");
        break;
      }
      if (!recover)
        Fail(ErrorCode::kCorruptData, "index log '", path, "': checksum mismatch in record at offset ", off,
             " (open with recover=true to keep the intact records)");
      out.issues.push_back("log '" + path + "': damaged record at offset " + std::to_string(off) + " skipped");
      off = next;
      out.valid_end = off;
      continue;
    }
    try {
      out.records.push_back(ParsePayload(payload, len, path, off, dim));
    } catch (const Error&) {
      if (!recover) throw;
      out.issues.push_back("log '" + path + "': unparsable record at offset " + std::to_string(off) + " skipped");
    }
    off = next;
    out.valid_end = off;
  }
  return out;
}

void WalWriter::CreateEmpty(const std::string& path, uint64_t generation) {
  std::string tmp = path + ".tmp";
  {
    File f(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    std::string h = Header(generation);
    f.WriteAll(h.data(), h.size());
    f.Sync();
  }
  AtomicReplace(tmp, path);
}

void WalWriter::Open(const std::string& path, uint64_t valid_end) {
  file_ = File(path, O_WRONLY);
  uint64_t size = file_.Size();
  if (size != valid_end) {
    file_.Truncate(valid_end);
    file_.Sync();
  }
  if (::lseek(file_.fd(), static_cast<off_t>(valid_end), SEEK_SET) < 0)
    Fail(ErrorCode::kIo, "seek in '", path, "' failed");
  end_ = valid_end;
}

void WalWriter::Append(const std::string& framed) {
  ECHOIC_CHECK(file_.is_open(), ErrorCode::kState, "index log is not open");
  try {
    file_.WriteAll(framed.data(), framed.size());
    file_.Sync();
  } catch (...) {
    // Cut back a partial append so later records are not written after garbage.
    try {
      file_.Truncate(end_);
      ::lseek(file_.fd(), static_cast<off_t>(end_), SEEK_SET);
    } catch (...) {
    }
    throw;
  }
  end_ += framed.size();
}

}  // namespace echoic::index
