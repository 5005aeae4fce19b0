// A dense host tensor that owns its (64-byte aligned, zero-filled) memory. Model
// inputs are handed to ONNX Runtime without a copy; outputs are copied into one.
#ifndef ECHOIC_ORT_TENSOR_H_
#define ECHOIC_ORT_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"

namespace echoic::ort {

enum class ElementType { kFloat32, kFloat16, kInt64, kInt32, kInt8, kUint8, kBool };

const char* ElementTypeName(ElementType type);  // "float32", "float16", ...
size_t ElementSize(ElementType type);
// "float32" -> kFloat32; kInvalidArgument for unknown names.
ElementType ElementTypeFromName(const std::string& name);
// "[1, -1, 80]"
std::string ShapeString(const std::vector<int64_t>& shape);

// C++ type of each element type. float16 is carried as raw uint16_t bits.
template <typename T>
struct ElementTypeOf;
template <>
struct ElementTypeOf<float> {
  static constexpr ElementType value = ElementType::kFloat32;
};
template <>
struct ElementTypeOf<uint16_t> {
  static constexpr ElementType value = ElementType::kFloat16;
};
template <>
struct ElementTypeOf<int64_t> {
  static constexpr ElementType value = ElementType::kInt64;
};
template <>
struct ElementTypeOf<int32_t> {
  static constexpr ElementType value = ElementType::kInt32;
};
template <>
struct ElementTypeOf<int8_t> {
  static constexpr ElementType value = ElementType::kInt8;
};
template <>
struct ElementTypeOf<uint8_t> {
  static constexpr ElementType value = ElementType::kUint8;
};
template <>
struct ElementTypeOf<bool> {
  static constexpr ElementType value = ElementType::kBool;
};

class Tensor {
 public:
  Tensor() : Tensor(ElementType::kFloat32, {0}) {}
  // Zero-filled. Negative dims -> kInvalidArgument.
  Tensor(ElementType type, std::vector<int64_t> shape);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  template <typename T>
  T* data() {
    CheckType(ElementTypeOf<T>::value);
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    CheckType(ElementTypeOf<T>::value);
    return static_cast<const T*>(raw());
  }
  void* raw() { return buffer_.get(); }
  const void* raw() const { return buffer_.get(); }

  ElementType type() const { return type_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * ElementSize(type_); }
  std::string ShapeString() const { return ort::ShapeString(shape_); }

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  void CheckType(ElementType want) const;
  void Allocate();

  ElementType type_;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<void, FreeDeleter> buffer_;
};

}  // namespace echoic::ort

#endif  // ECHOIC_ORT_TENSOR_H_
