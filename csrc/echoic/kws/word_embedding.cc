#include "echoic/kws/word_embedding.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "echoic/index/crc32.h"
#include "echoic/ort/tensor.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/gaussian.h"

namespace echoic::kws {

namespace {

bool IsDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::shared_ptr<FrameEncoder> FrameEncoder::Load(const std::string& path, const ort::SessionOptions& opts) {
  const std::string file = IsDir(path) ? path + "/encoder.onnx" : path;
  auto e = std::shared_ptr<FrameEncoder>(new FrameEncoder());
  ort::SessionOptions so = opts;
  so.prepacking = false;  // one run per 30 s: packed weight copies would only cost memory
  e->session_ = ort::Session::FromFile(file, so);
  const ort::Session& s = *e->session_;
  ECHOIC_CHECK(s.GetMetadata("model_type", "") == "whisper-encoder", ErrorCode::kModel, "model '", file,
               "' is not a Whisper encoder written by `echoic models import` (metadata model_type is '",
               s.GetMetadata("model_type", ""), "')");
  auto get = [&](const char* key, int64_t lo, int64_t hi) {
    const int64_t v = s.RequireMetadataInt(key);
    ECHOIC_CHECK(v >= lo && v <= hi, ErrorCode::kModel, "model '", file, "': metadata ", key, " = ", v, " is outside ",
                 lo, "..", hi);
    return static_cast<int32_t>(v);
  };
  e->n_mels_ = get("n_mels", 80, 128);
  ECHOIC_CHECK(e->n_mels_ == 80 || e->n_mels_ == 128, ErrorCode::kModel, "model '", file, "': n_mels ", e->n_mels_,
               " (Whisper uses 80 or 128)");
  e->n_audio_ctx_ = get("n_audio_ctx", 1, 1500);
  e->n_audio_state_ = get("n_audio_state", 8, 8192);
  e->name_ = s.GetMetadata("model_name", file);
  bool has_hidden = false;
  for (const auto& t : s.outputs()) {
    if (t.name != "hidden") continue;
    has_hidden = true;
    const auto& sh = t.shape;
    ECHOIC_CHECK(sh.size() == 3 && (sh[1] < 0 || sh[1] == e->n_audio_ctx_) && (sh[2] < 0 || sh[2] == e->n_audio_state_),
                 ErrorCode::kModel, "model '", file, "': output 'hidden' is ", ort::ShapeString(sh), ", expected [B, ",
                 e->n_audio_ctx_, ", ", e->n_audio_state_, "]");
  }
  ECHOIC_CHECK(has_hidden, ErrorCode::kModel, "model '", file,
               "' has no 'hidden' output (imported by an older echoic): import it again with "
               "`echoic models import` to use keyword lookup");
  e->mel_ = std::make_unique<features::WhisperLogMel>(e->n_mels_);
  return e;
}

std::vector<float> FrameEncoder::Encode(const float* samples, size_t n) const {
  ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "frame encoder: samples are NULL");
  ECHOIC_CHECK(static_cast<int64_t>(n) <= window_samples(), ErrorCode::kInvalidArgument, "frame encoder: ", n,
               " samples exceed one window of ", window_samples());
  const int32_t mel_frames = 2 * n_audio_ctx_;
  ort::Tensor mel(ort::ElementType::kFloat32, {1, n_mels_, mel_frames});
  mel_->Compute(samples, n, mel_frames, mel.data<float>());
  ort::Tensor hidden(ort::ElementType::kFloat32, {1, n_audio_ctx_, n_audio_state_});
  session_->RunInto({"mel"}, {&mel}, {"hidden"}, {&hidden});
  return std::vector<float>(hidden.data<float>(), hidden.data<float>() + hidden.numel());
}

WordEmbedder::WordEmbedder(int32_t frame_dim, const WordEmbeddingOptions& opts) : frame_dim_(frame_dim), opts_(opts) {
  ECHOIC_CHECK(frame_dim > 0, ErrorCode::kInvalidArgument, "word embedding: frame_dim ", frame_dim);
  if (!opts_.projection.empty()) {
    LoadProjection();
    return;
  }
  ECHOIC_CHECK(opts.slices >= 1 && opts.slices <= 32 && opts.dim >= 1 && opts.dim <= 1024, ErrorCode::kInvalidArgument,
               "word embedding: slices ", opts.slices, " (1..32), dim ", opts.dim, " (1..1024)");
  const size_t k = static_cast<size_t>(opts.slices), d = static_cast<size_t>(opts.dim),
               f = static_cast<size_t>(frame_dim);
  proj_.resize(k * d * f);
  Gaussian g(opts.seed);
  for (float& v : proj_) v = static_cast<float>(g.Next());
  // Subtracting the span's mean slice before a linear map = subtracting the mean map.
  for (size_t i = 0; i < d * f; ++i) {
    double mean = 0;
    for (size_t s = 0; s < k; ++s) mean += proj_[s * d * f + i];
    mean /= static_cast<double>(k);
    for (size_t s = 0; s < k; ++s) proj_[s * d * f + i] -= static_cast<float>(mean);
  }
}

void WordEmbedder::LoadProjection() {
  const std::string& path = opts_.projection;
  std::ifstream in(path, std::ios::binary);
  ECHOIC_CHECK(in.good(), ErrorCode::kIo, "keyword lookup projection '", path,
               "' cannot be opened: ", std::strerror(errno));
  auto damaged = [&](const auto&... why) {
    Fail(ErrorCode::kCorruptData, "keyword lookup projection '", path, "' is damaged: ", why...);
  };
  // Read in bounded chunks: a huge file or a device (/dev/zero) is refused, not swallowed.
  constexpr size_t kMaxBytes = size_t{64} << 20;
  std::string bytes;
  std::vector<char> chunk(size_t{1} << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    bytes.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (bytes.size() > kMaxBytes) damaged("larger than ", kMaxBytes, " bytes");
  }
  ECHOIC_CHECK(!in.bad(), ErrorCode::kIo, "keyword lookup projection '", path, "' cannot be read");
  constexpr char kMagic[8] = {'E', 'C', 'H', 'A', 'W', 'E', 'P', '1'};
  constexpr size_t kHeader = sizeof kMagic + 5 * 4;
  if (bytes.size() < kHeader + 4 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    damaged("not a projection file (", bytes.size(),
            " bytes; expected one written by recipes/lookup/fit_projection.py)");
  uint32_t head[4];  // slices, dim, frame_dim, name length
  std::memcpy(head, bytes.data() + sizeof kMagic, sizeof head);
  if (head[0] < 1 || head[0] > 32 || head[1] < 1 || head[1] > 1024 || head[2] < 1 || head[2] > 8192 || head[3] > 256)
    damaged("header says slices ", head[0], ", dim ", head[1], ", frame_dim ", head[2], ", name of ", head[3],
            " bytes");
  float threshold;
  std::memcpy(&threshold, bytes.data() + sizeof kMagic + sizeof head, 4);
  if (!(threshold > -1.f && threshold < 1.f)) damaged("header says threshold ", threshold);
  const size_t k = head[0], d = head[1], f = head[2];
  const size_t n_weights = k * d * f, expected = kHeader + head[3] + (n_weights + d) * sizeof(float) + 4;
  if (bytes.size() != expected) damaged(bytes.size(), " bytes, the header implies ", expected);
  uint32_t crc;
  std::memcpy(&crc, bytes.data() + expected - 4, 4);
  if (index::Crc32(bytes.data(), expected - 4) != crc) damaged("checksum mismatch");
  ECHOIC_CHECK(static_cast<int32_t>(f) == frame_dim_, ErrorCode::kModel, "keyword lookup projection '", path,
               "' was fitted for encoder frames of ", f, " values; this encoder gives ", frame_dim_);
  const char* p = bytes.data() + kHeader;
  name_ = std::string(p, head[3]);
  p += head[3];
  proj_.resize(n_weights);
  bias_.resize(d);
  std::memcpy(proj_.data(), p, n_weights * sizeof(float));
  std::memcpy(bias_.data(), p + n_weights * sizeof(float), d * sizeof(float));
  for (float v : proj_)
    if (!std::isfinite(v)) damaged("non-finite weight");
  for (float v : bias_)
    if (!std::isfinite(v)) damaged("non-finite bias");
  char sum[16];
  std::snprintf(sum, sizeof sum, "%08x", crc);
  name_ += std::string("-") + sum;
  default_threshold_ = threshold;
  opts_.slices = static_cast<int32_t>(k);
  opts_.dim = static_cast<int32_t>(d);
}

std::string WordEmbedder::Id(const std::string& encoder_name) const {
  std::ostringstream os;
  if (learned())
    os << "awe-" << name_ << "-k" << opts_.slices << "-d" << opts_.dim << "@" << encoder_name;
  else
    os << "awe-slices" << opts_.slices << "-d" << opts_.dim << "-s" << std::hex << opts_.seed << "@" << encoder_name;
  return os.str();
}

void WordEmbedder::Project(const float* frames, size_t n, float* out) const {
  const size_t rows = projected_width(), f = static_cast<size_t>(frame_dim_);
  for (size_t t = 0; t < n; ++t) {
    const float* x = frames + t * f;
    float* y = out + t * rows;
    for (size_t r = 0; r < rows; ++r) {
      const float* w = proj_.data() + r * f;
      float acc = 0.f;
      for (size_t j = 0; j < f; ++j) acc += w[j] * x[j];
      y[r] = acc;
    }
  }
}

void WordEmbedder::Embed(const float* projected, size_t a, size_t b, float* out) const {
  ECHOIC_CHECK(b > a, ErrorCode::kInvalidArgument, "word embedding: empty span [", a, ", ", b, ")");
  const size_t k = static_cast<size_t>(opts_.slices), d = static_cast<size_t>(opts_.dim), w = projected_width();
  const size_t len = b - a;
  std::fill(out, out + d, 0.f);
  for (size_t s = 0; s < k; ++s) {
    size_t lo = a + (len * s + k / 2) / k, hi = a + (len * (s + 1) + k / 2) / k;
    lo = std::min(lo, b - 1);
    hi = std::max(hi, lo + 1);
    const float inv = 1.f / static_cast<float>(hi - lo);
    for (size_t t = lo; t < hi; ++t) {
      const float* y = projected + t * w + s * d;
      for (size_t i = 0; i < d; ++i) out[i] += y[i] * inv;
    }
  }
  if (!bias_.empty())
    for (size_t i = 0; i < d; ++i) out[i] -= bias_[i];
  double norm = 0;
  for (size_t i = 0; i < d; ++i) norm += double{out[i]} * out[i];
  const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.f;
  for (size_t i = 0; i < d; ++i) out[i] *= inv;
}

}  // namespace echoic::kws
