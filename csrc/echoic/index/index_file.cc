#include "echoic/index/index_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "echoic/index/bytes.h"
#include "echoic/index/crc32.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/utf8.h"

namespace echoic::index {
namespace {

constexpr char kMagic[8] = {'E', 'C', 'H', 'O', 'I', 'D', 'X', '1'};
constexpr uint32_t Tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}
constexpr uint32_t kModel = Tag("MODL"), kRecords = Tag("RECS"), kCodes = Tag("CODE"), kRefine = Tag("RFNE"),
                   kFp16 = Tag("FP16"), kEnd = Tag("END_");
constexpr uint64_t kAlign = 64;
constexpr uint64_t kSectionHeader = 16;

// Offset where the next section header goes so that its payload is 64-byte aligned.
uint64_t NextSectionStart(uint64_t off) {
  uint64_t payload = off + kSectionHeader;
  payload = (payload + kAlign - 1) / kAlign * kAlign;
  return payload - kSectionHeader;
}

std::string TagName(uint32_t tag) {
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((tag >> (8 * i)) & 0xFF);
    s[i] = (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

void WriteHeader(ByteWriter* w, const FileHeader& h) {
  const IndexOptions& o = h.options;
  w->Put<uint32_t>(static_cast<uint32_t>(o.dim));
  w->Put<uint32_t>(static_cast<uint32_t>(o.metric));
  w->Put<uint32_t>(static_cast<uint32_t>(o.encoding));
  w->Put<uint32_t>(static_cast<uint32_t>(o.pq_m));
  w->Put<uint32_t>(static_cast<uint32_t>(o.refine_m));
  w->Put<uint8_t>(o.opq ? 1 : 0);
  w->Put<uint8_t>(o.keep_fp16 ? 1 : 0);
  w->Put<uint16_t>(0);
  w->Put<uint32_t>(static_cast<uint32_t>(o.ivf_lists));
  w->Put<int32_t>(o.train_iterations);
  w->Put<uint64_t>(o.seed);
  w->Put<uint64_t>(o.max_train_points);
  w->Put<uint64_t>(h.generation);
  w->Put<uint64_t>(h.count);
  w->Put<int64_t>(h.next_id);
  w->PutString(o.encoder_id);
}

FileHeader ReadHeader(ByteReader* r, const std::string& path) {
  FileHeader h;
  IndexOptions& o = h.options;
  o.dim = r->Get<uint32_t>("dimension");
  uint32_t metric = r->Get<uint32_t>("metric");
  uint32_t enc = r->Get<uint32_t>("encoding");
  ECHOIC_CHECK(metric <= 2 && enc <= 2, ErrorCode::kCorruptData, "index file '", path, "': unknown metric ", metric,
               " or encoding ", enc, " in the header");
  o.metric = static_cast<Metric>(metric);
  o.encoding = static_cast<Encoding>(enc);
  o.pq_m = r->Get<uint32_t>("pq m");
  o.refine_m = r->Get<uint32_t>("refine m");
  o.opq = r->Get<uint8_t>("opq flag") != 0;
  o.keep_fp16 = r->Get<uint8_t>("fp16 flag") != 0;
  r->Get<uint16_t>("padding");
  o.ivf_lists = r->Get<uint32_t>("ivf lists");
  o.train_iterations = r->Get<int32_t>("train iterations");
  o.seed = r->Get<uint64_t>("seed");
  o.max_train_points = r->Get<uint64_t>("max train points");
  h.generation = r->Get<uint64_t>("generation");
  h.count = r->Get<uint64_t>("count");
  h.next_id = r->Get<int64_t>("next id");
  o.encoder_id = r->GetString("encoder id", 4096);
  try {
    CodecConfigFrom(o).Validate();
  } catch (const Error& e) {
    Fail(ErrorCode::kCorruptData, "index file '", path, "': header is inconsistent: ", e.what());
  }
  return h;
}

struct Section {
  uint64_t header_offset = 0;
  uint64_t offset = 0;  // payload
  uint64_t size = 0;    // declared
  uint64_t avail = 0;   // bytes actually present (< size when truncated)
  bool intact = false;
};

// Writes sequentially, tracking the offset and a running section CRC.
class SectionWriter {
 public:
  explicit SectionWriter(File* f) : f_(f) {}
  void Raw(const void* p, size_t n) {
    f_->WriteAll(p, n);
    off_ += n;
  }
  void Begin(uint32_t tag, uint64_t size) {
    uint64_t start = NextSectionStart(off_);
    static const char zeros[kAlign] = {};
    Raw(zeros, start - off_);
    uint32_t h[2] = {tag, 0};
    Raw(h, 8);
    Raw(&size, 8);
    crc_ = 0;
  }
  void Payload(const void* p, size_t n) {
    crc_ = Crc32(p, n, crc_);
    Buffered(p, n);
  }
  void End() {
    Flush();
    Raw(&crc_, 4);
  }

 private:
  // Bulk sections arrive row by row; batch them into large writes.
  void Buffered(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
    if (buf_.size() >= (1u << 20)) Flush();
  }
  void Flush() {
    if (!buf_.empty()) Raw(buf_.data(), buf_.size());
    buf_.clear();
  }
  File* f_;
  uint64_t off_ = 0;
  uint32_t crc_ = 0;
  std::vector<char> buf_;
};

}  // namespace

CodecConfig CodecConfigFrom(const IndexOptions& o) {
  CodecConfig c;
  c.dim = o.dim;
  c.metric = DistanceMetric(o.metric);  // the codec scores cosine as L2 on unit vectors
  c.encoding = o.encoding;
  c.pq_m = o.pq_m;
  c.refine_m = o.refine_m;
  c.opq = o.opq;
  c.ivf_lists = o.ivf_lists;
  c.train_iterations = o.train_iterations;
  c.seed = o.seed;
  c.max_train_points = o.max_train_points;
  c.spherical_lists = o.metric == Metric::kCosine;
  return c;
}

void WriteIndexFile(const std::string& path, const FileHeader& header, const Codec& codec, const WriteRowFn& rows) {
  const size_t cs = codec.code_size(), rs = codec.refine_size();
  const size_t fs = header.options.keep_fp16 ? header.options.dim * 2 : 0;
  std::string tmp = path + ".tmp";
  try {
    File f(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    SectionWriter w(&f);
    ByteWriter hb;
    WriteHeader(&hb, header);
    w.Raw(kMagic, 8);
    uint32_t version = kIndexFormatVersion, hsize = static_cast<uint32_t>(hb.size());
    w.Raw(&version, 4);
    w.Raw(&hsize, 4);
    w.Raw(hb.data().data(), hb.size());
    uint32_t hcrc = Crc32(hb.data().data(), hb.size());
    w.Raw(&hcrc, 4);

    ByteWriter model;
    codec.WriteModel(&model);
    w.Begin(kModel, model.size());
    w.Payload(model.data().data(), model.size());
    w.End();

    // Records: metadata plus a CRC that also covers the row's bulk bytes.
    ByteWriter recs;
    recs.Put<uint64_t>(rows.count);
    std::vector<const uint8_t*> code_ptr(rows.count), refine_ptr(rows.count), fp16_ptr(rows.count);
    FileRow row;
    for (size_t i = 0; i < rows.count; ++i) {
      rows.get(i, &row, &code_ptr[i], &refine_ptr[i], &fp16_ptr[i]);
      ByteWriter one;
      one.Put<int64_t>(row.id);
      one.Put<uint32_t>(row.list);
      one.PutString(row.ns);
      one.PutString(row.label);
      uint32_t crc = Crc32(one.data().data(), one.size());
      crc = Crc32(code_ptr[i], cs, crc);
      if (rs) crc = Crc32(refine_ptr[i], rs, crc);
      if (fs) crc = Crc32(fp16_ptr[i], fs, crc);
      recs.Put<uint32_t>(static_cast<uint32_t>(one.size()));
      recs.PutBytes(one.data().data(), one.size());
      recs.Put<uint32_t>(crc);
    }
    w.Begin(kRecords, recs.size());
    w.Payload(recs.data().data(), recs.size());
    w.End();

    auto bulk = [&](uint32_t tag, const std::vector<const uint8_t*>& ptrs, size_t width) {
      w.Begin(tag, uint64_t(width) * rows.count);
      for (size_t i = 0; i < rows.count; ++i) w.Payload(ptrs[i], width);
      w.End();
    };
    bulk(kCodes, code_ptr, cs);
    if (rs) bulk(kRefine, refine_ptr, rs);
    if (fs) bulk(kFp16, fp16_ptr, fs);
    w.Begin(kEnd, 0);
    w.End();
    f.Sync();
  } catch (...) {
    RemoveIfExists(tmp);
    throw;
  }
  AtomicReplace(tmp, path);
}

LoadedFile ReadIndexFile(const std::string& path, bool recover) {
  LoadedFile out;
  out.map = std::make_shared<MappedFile>(path);
  const uint8_t* p = out.map->data();
  const uint64_t size = out.map->size();
  auto corrupt = [&](uint64_t off, const auto&... what) {
    Fail(ErrorCode::kCorruptData, "index file '", path, "': ", what..., " at offset ", off);
  };
  if (size < 20 || std::memcmp(p, kMagic, 8) != 0) corrupt(0, "not an echoic index file (bad magic or too short)");
  uint32_t version, hsize;
  std::memcpy(&version, p + 8, 4);
  std::memcpy(&hsize, p + 12, 4);
  if (version != kIndexFormatVersion)
    Fail(ErrorCode::kUnsupported, "index file '", path, "' has format version ", version, "; this build reads ",
         kIndexFormatVersion);
  if (hsize > (1u << 20) || 16 + uint64_t(hsize) + 4 > size) corrupt(12, "header size ", hsize, " is invalid");
  uint32_t hcrc;
  std::memcpy(&hcrc, p + 16 + hsize, 4);
  if (Crc32(p + 16, hsize) != hcrc) corrupt(16, "header checksum mismatch (the header cannot be recovered)");
  {
    ByteReader hr(p + 16, hsize, path, 16);
    out.header = ReadHeader(&hr, path);
  }
  const IndexOptions& o = out.header.options;

  // Walk the sections.
  std::map<uint32_t, Section> sections;
  bool ended = false;
  uint64_t off = 16 + uint64_t(hsize) + 4;
  while (!ended) {
    uint64_t start = NextSectionStart(off);
    if (start + kSectionHeader > size) {
      if (!recover) corrupt(start, "file is truncated (missing section)");
      out.issues.push_back("file truncated at offset " + std::to_string(start));
      break;
    }
    uint32_t tag;
    uint64_t ssize;
    std::memcpy(&tag, p + start, 4);
    std::memcpy(&ssize, p + start + 8, 8);
    if (tag != kModel && tag != kRecords && tag != kCodes && tag != kRefine && tag != kFp16 && tag != kEnd) {
      if (!recover) corrupt(start, "unknown section tag '", TagName(tag), "'");
      out.issues.push_back("unknown section tag at offset " + std::to_string(start) + "; stopped reading");
      break;
    }
    Section s;
    s.header_offset = start;
    s.offset = start + kSectionHeader;
    s.size = ssize;
    s.avail = std::min<uint64_t>(ssize, size - s.offset);
    // The section header has no checksum: compare without forming ssize + 4, which a
    // crafted size near 2^64 would wrap.
    const uint64_t room = size - s.offset;  // start + kSectionHeader <= size
    if (room < 4 || ssize > room - 4) {
      if (!recover) corrupt(s.offset, "section '", TagName(tag), "' is truncated (declares ", ssize, " bytes)");
      out.issues.push_back("section " + TagName(tag) + " truncated at offset " + std::to_string(s.offset));
      sections[tag] = s;
      break;
    }
    uint32_t crc;
    std::memcpy(&crc, p + s.offset + ssize, 4);
    s.intact = Crc32(p + s.offset, ssize) == crc;
    if (!s.intact) {
      if (!recover)
        corrupt(s.offset, "checksum mismatch in section '", TagName(tag),
                "' (open with recover=true to keep the intact records)");
      out.issues.push_back("section " + TagName(tag) + " damaged (offset " + std::to_string(s.offset) + ")");
    }
    sections[tag] = s;
    ended = tag == kEnd;
    off = s.offset + ssize + 4;
  }

  // The model cannot be rebuilt from anything else.
  auto mit = sections.find(kModel);
  if (mit == sections.end() || !mit->second.intact)
    corrupt(mit == sections.end() ? off : mit->second.offset,
            "model section missing or damaged; no record can be"
            " decoded without it");
  out.codec = Codec(CodecConfigFrom(o));
  {
    ByteReader mr(p + mit->second.offset, mit->second.size, path, mit->second.offset);
    out.codec.ReadModel(&mr);
  }

  const size_t cs = out.codec.code_size(), rs = out.codec.refine_size();
  const size_t fs = o.keep_fp16 ? o.dim * 2 : 0;
  auto bulk = [&](uint32_t tag, size_t width) -> const Section* {
    if (width == 0) return nullptr;
    auto it = sections.find(tag);
    if (it == sections.end()) {
      if (!recover) corrupt(off, "section '", TagName(tag), "' is missing");
      return nullptr;
    }
    return &it->second;
  };
  const Section* sc = bulk(kCodes, cs);
  const Section* sr = bulk(kRefine, rs);
  const Section* sf = bulk(kFp16, fs);
  auto rit = sections.find(kRecords);
  if (rit == sections.end()) {
    if (!recover) corrupt(off, "records section is missing");
    out.issues.push_back("records section missing: no records recovered");
    out.codes = out.refine = out.fp16 = nullptr;
    return out;
  }
  const Section& srec = rit->second;
  bool all_intact = srec.intact && sc && sc->intact && (!rs || (sr && sr->intact)) && (!fs || (sf && sf->intact));
  // A CRC-valid bulk section must hold exactly header.count rows: search reads row i
  // at offset i * width straight from the mapping.
  auto holds_rows = [&](const Section* s, size_t width) {
    return width == 0 || (s && s->size % width == 0 && s->size / width == out.header.count);
  };
  if (all_intact && !(holds_rows(sc, cs) && holds_rows(sr, rs) && holds_rows(sf, fs))) {
    if (!recover)
      corrupt(sc->offset, "bulk section sizes (code ", sc->size, ", refine ", sr ? sr->size : 0, ", fp16 ",
              sf ? sf->size : 0, " bytes) do not match ", out.header.count, " rows of ", cs, "/", rs, "/", fs,
              " bytes");
    out.issues.push_back("bulk section sizes do not match the row count; rows checked one by one");
    all_intact = false;
  }

  ByteReader rr(p + srec.offset, srec.avail, path, srec.offset);
  uint64_t count = 0;
  try {
    count = rr.Get<uint64_t>("record count");
  } catch (const Error&) {
    if (!recover) throw;
  }
  if (all_intact && count != out.header.count)
    corrupt(srec.offset, "record count ", count, " differs from the header's ", out.header.count);
  if (count > size) count = size;  // implausible counts only arise from damage
  std::vector<size_t> kept;
  kept.reserve(std::min<uint64_t>(count, 1 << 20));
  auto row_bytes = [&](const Section* s, size_t width, size_t i) -> const uint8_t* {
    if (!s || uint64_t(i + 1) * width > s->avail) return nullptr;
    return p + s->offset + uint64_t(i) * width;
  };
  for (uint64_t i = 0; i < count; ++i) {
    FileRow row;
    uint64_t rec_off = rr.offset();
    try {
      uint32_t len = rr.Get<uint32_t>("record size");
      const uint8_t* rec = rr.Take(len, "record");
      uint32_t crc = rr.Get<uint32_t>("record checksum");
      ByteReader one(rec, len, path, rec_off + 4);
      row.id = one.Get<int64_t>("record id");
      row.list = one.Get<uint32_t>("record ivf list");
      row.ns = one.GetString("record namespace", 4096);
      row.label = one.GetString("record label", 1 << 20);
      if (o.ivf_lists > 0 && row.list >= o.ivf_lists) corrupt(rec_off, "record ivf list ", row.list, " out of range");
      // Add() only stores UTF-8; anything else was not written by echoic.
      if (!IsValidUtf8(row.ns) || !IsValidUtf8(row.label)) {
        if (!recover) corrupt(rec_off, "record namespace or label is not valid UTF-8");
        out.issues.push_back("record " + std::to_string(i) + " (offset " + std::to_string(rec_off) +
                             ") has a non-UTF-8 namespace or label; dropped");
        continue;
      }
      if (!all_intact) {  // intact sections were checked as a whole; else check the record itself
        const uint8_t* c = row_bytes(sc, cs, i);
        const uint8_t* r = row_bytes(sr, rs, i);
        const uint8_t* f = row_bytes(sf, fs, i);
        bool ok = c && (!rs || r) && (!fs || f);
        if (ok) {
          uint32_t got = Crc32(rec, len);
          got = Crc32(c, cs, got);
          if (rs) got = Crc32(r, rs, got);
          if (fs) got = Crc32(f, fs, got);
          ok = got == crc;
        }
        if (!ok) {
          out.issues.push_back("record " + std::to_string(i) + " (offset " + std::to_string(rec_off) +
                               ") damaged; dropped");
          continue;
        }
      }
    } catch (const Error& e) {
      if (!recover) throw;
      out.issues.push_back(std::string("records unreadable from here: ") + e.what());
      break;
    }
    out.rows.push_back(std::move(row));
    kept.push_back(i);
  }
  if (all_intact) {
    out.codes = p + sc->offset;
    out.refine = rs ? p + sr->offset : nullptr;
    out.fp16 = fs ? p + sf->offset : nullptr;
  } else {
    out.codes_copy.resize(kept.size() * cs);
    out.refine_copy.resize(kept.size() * rs);
    out.fp16_copy.resize(kept.size() * fs);
    for (size_t j = 0; j < kept.size(); ++j) {
      std::memcpy(&out.codes_copy[j * cs], row_bytes(sc, cs, kept[j]), cs);
      if (rs) std::memcpy(&out.refine_copy[j * rs], row_bytes(sr, rs, kept[j]), rs);
      if (fs) std::memcpy(&out.fp16_copy[j * fs], row_bytes(sf, fs, kept[j]), fs);
    }
    out.codes = out.codes_copy.data();
    out.refine = rs ? out.refine_copy.data() : nullptr;
    out.fp16 = fs ? out.fp16_copy.data() : nullptr;
  }
  return out;
}

}  // namespace echoic::index
