#include "echoic/ort/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace echoic::ort {

namespace {
constexpr size_t kAlignment = 64;  // cache line; also enough for any SIMD load
}

const char* ElementTypeName(ElementType type) {
  switch (type) {
    case ElementType::kFloat32:
      return "float32";
    case ElementType::kFloat16:
      return "float16";
    case ElementType::kInt64:
      return "int64";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kInt8:
      return "int8";
    case ElementType::kUint8:
      return "uint8";
    case ElementType::kBool:
      return "bool";
  }
  return "unknown";
}

size_t ElementSize(ElementType type) {
  switch (type) {
    case ElementType::kFloat32:
      return 4;
    case ElementType::kFloat16:
      return 2;
    case ElementType::kInt64:
      return 8;
    case ElementType::kInt32:
      return 4;
    case ElementType::kInt8:
    case ElementType::kUint8:
    case ElementType::kBool:
      return 1;
  }
  return 1;
}

ElementType ElementTypeFromName(const std::string& name) {
  for (ElementType t : {ElementType::kFloat32, ElementType::kFloat16, ElementType::kInt64, ElementType::kInt32,
                        ElementType::kInt8, ElementType::kUint8, ElementType::kBool}) {
    if (name == ElementTypeName(t)) return t;
  }
  Fail(ErrorCode::kInvalidArgument, "unknown element type '", name,
       "' (expected float32, float16, int64, int32, int8, uint8 or bool)");
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void Tensor::FreeDeleter::operator()(void* p) const { std::free(p); }

Tensor::Tensor(ElementType type, std::vector<int64_t> shape) : type_(type), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_) {
    ECHOIC_CHECK(d >= 0, ErrorCode::kInvalidArgument, "tensor shape ", ort::ShapeString(shape_),
                 " has a negative dimension");
    ECHOIC_CHECK(d == 0 || numel_ <= std::numeric_limits<int64_t>::max() / d, ErrorCode::kInvalidArgument,
                 "tensor shape ", ort::ShapeString(shape_), " is too large");
    numel_ *= d;
  }
  Allocate();
}

void Tensor::Allocate() {
  size_t bytes = nbytes();
  size_t rounded = ((bytes + kAlignment - 1) / kAlignment) * kAlignment;
  if (rounded == 0) rounded = kAlignment;  // never a null data pointer
#if defined(__ANDROID__) && __ANDROID_API__ < 28
  // Bionic has aligned_alloc from API 28 only; posix_memalign exists on every level.
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, rounded) != 0) p = nullptr;
#else
  void* p = std::aligned_alloc(kAlignment, rounded);
#endif
  if (!p)
    Fail(ErrorCode::kOutOfMemory, "cannot allocate ", bytes, " bytes for a ", ElementTypeName(type_),
         " tensor of shape ", ort::ShapeString(shape_));
  std::memset(p, 0, rounded);
  buffer_.reset(p);
}

Tensor::Tensor(const Tensor& other) : type_(other.type_), shape_(other.shape_), numel_(other.numel_) {
  Allocate();
  std::memcpy(raw(), other.raw(), nbytes());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Tensor::CheckType(ElementType want) const {
  ECHOIC_CHECK(want == type_, ErrorCode::kInvalidArgument, "tensor holds ", ElementTypeName(type_), " of shape ",
               ort::ShapeString(shape_), ", not ", ElementTypeName(want));
}

}  // namespace echoic::ort
