// Little-endian (host order on every supported target) byte buffers used by the
// index file and WAL. The reader is bounds checked and reports the file and the
// absolute offset of anything it cannot parse.
#ifndef ECHOIC_INDEX_BYTES_H_
#define ECHOIC_INDEX_BYTES_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "echoic/runtime/error.h"

namespace echoic::index {

class ByteWriter {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable<T>::value, "POD only");
    PutBytes(&v, sizeof(T));
  }
  void PutBytes(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
  }
  void PutString(const std::string& s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    PutBytes(s.data(), s.size());
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    Put<uint64_t>(v.size());
    PutBytes(v.data(), v.size() * sizeof(T));
  }
  const std::string& data() const { return buf_; }
  std::string& data() { return buf_; }
  size_t size() const { return buf_.size(); }

 private:
  std::string buf_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n, const std::string& file, uint64_t base_offset)
      : p_(p), n_(n), file_(file), base_(base_offset) {}
  template <typename T>
  T Get(const char* what) {
    T v;
    std::memcpy(&v, Take(sizeof(T), what), sizeof(T));
    return v;
  }
  const uint8_t* Take(size_t n, const char* what) {
    if (n > n_ - pos_)
      Fail(ErrorCode::kCorruptData, "index file '", file_, "': truncated ", what, " at offset ", base_ + pos_,
           " (need ", n, " bytes, ", n_ - pos_, " left)");
    const uint8_t* r = p_ + pos_;
    pos_ += n;
    return r;
  }
  std::string GetString(const char* what, size_t max_len = 1 << 20) {
    uint32_t len = Get<uint32_t>(what);
    if (len > max_len)
      Fail(ErrorCode::kCorruptData, "index file '", file_, "': implausible ", what, " length ", len, " at offset ",
           base_ + pos_ - 4);
    const uint8_t* s = Take(len, what);
    return std::string(reinterpret_cast<const char*>(s), len);
  }
  template <typename T>
  std::vector<T> GetVector(const char* what, size_t expected) {
    uint64_t count = Get<uint64_t>(what);
    if (count != expected)
      Fail(ErrorCode::kCorruptData, "index file '", file_, "': ", what, " has ", count, " elements, expected ",
           expected, " (offset ", base_ + pos_ - 8, ")");
    std::vector<T> v(count);
    const uint8_t* src = Take(count * sizeof(T), what);
    if (count) std::memcpy(v.data(), src, count * sizeof(T));  // v.data() may be NULL when empty
    return v;
  }
  size_t pos() const { return pos_; }
  uint64_t offset() const { return base_ + pos_; }
  size_t remaining() const { return n_ - pos_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string file_;
  uint64_t base_;
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_BYTES_H_
