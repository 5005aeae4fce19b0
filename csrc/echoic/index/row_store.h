// Fixed-width rows of bytes: the first rows live in the read-only mapping of the
// main file, rows added since the last save in memory behind them.
#ifndef ECHOIC_INDEX_ROW_STORE_H_
#define ECHOIC_INDEX_ROW_STORE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace echoic::index {

class RowStore {
 public:
  RowStore() = default;
  explicit RowStore(size_t width) : width_(width) {}
  // base may point into a mapping (not owned) or to `owned` (taken over).
  void Reset(size_t width, const uint8_t* base, size_t base_rows, std::vector<uint8_t> owned = {}) {
    width_ = width;
    owned_ = std::move(owned);
    base_ = owned_.empty() ? base : owned_.data();
    base_rows_ = base_rows;
    extra_.clear();
  }
  size_t width() const { return width_; }
  size_t rows() const { return base_rows_ + (width_ ? extra_.size() / width_ : 0); }
  const uint8_t* row(size_t i) const {
    return i < base_rows_ ? base_ + i * width_ : extra_.data() + (i - base_rows_) * width_;
  }
  void Append(const uint8_t* p) { extra_.insert(extra_.end(), p, p + width_); }
  void PopBack() { extra_.resize(extra_.size() - width_); }
  // Contiguous spans: [0, base_rows) and [base_rows, rows()).
  const uint8_t* base() const { return base_; }
  size_t base_rows() const { return base_rows_; }
  const uint8_t* extra() const { return extra_.data(); }

 private:
  size_t width_ = 0;
  const uint8_t* base_ = nullptr;
  size_t base_rows_ = 0;
  std::vector<uint8_t> owned_, extra_;
};

}  // namespace echoic::index

#endif  // ECHOIC_INDEX_ROW_STORE_H_
