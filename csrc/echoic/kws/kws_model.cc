#include "echoic/kws/kws_model.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::kws {

namespace {

int32_t IntKey(const ort::Session& s, const std::string& key, int32_t lo, int32_t hi, const std::string* fallback) {
  std::string v = fallback ? s.GetMetadata(key, *fallback) : s.GetMetadata(key, "");
  ECHOIC_CHECK(!v.empty(), ErrorCode::kModel, "keyword model '", s.name(), "': metadata '", key, "' is missing");
  long long n = 0;
  try {
    size_t used = 0;
    n = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    Fail(ErrorCode::kModel, "keyword model '", s.name(), "': metadata '", key, "' = '", v, "' is not an integer");
  }
  ECHOIC_CHECK(n >= lo && n <= hi, ErrorCode::kModel, "keyword model '", s.name(), "': metadata '", key, "' = ", n,
               " is outside [", lo, ", ", hi, "]");
  return static_cast<int32_t>(n);
}

float FloatKey(const ort::Session& s, const std::string& key, float fallback, float lo, float hi) {
  std::string v = s.GetMetadata(key, "");
  if (v.empty()) return fallback;
  float f = 0;
  try {
    size_t used = 0;
    f = std::stof(v, &used);
    if (used != v.size() || !std::isfinite(f)) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    Fail(ErrorCode::kModel, "keyword model '", s.name(), "': metadata '", key, "' = '", v, "' is not a number");
  }
  ECHOIC_CHECK(f >= lo && f <= hi, ErrorCode::kModel, "keyword model '", s.name(), "': metadata '", key, "' = ", f,
               " is outside [", lo, ", ", hi, "]");
  return f;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

std::shared_ptr<KwsModel> KwsModel::FromFile(const std::string& path, const ort::SessionOptions& opts) {
  return std::make_shared<KwsModel>(ort::Session::FromFile(path, opts));
}

KwsModel::KwsModel(std::shared_ptr<ort::Session> session) : session_(std::move(session)) {
  const ort::Session& s = *session_;
  KwsModelInfo& m = info_;
  m.name = s.GetMetadata("model_name", s.name());
  std::string type = s.GetMetadata("model_type", "");
  ECHOIC_CHECK(type == "echoic-kws", ErrorCode::kModel, "keyword model '", s.name(), "': metadata 'model_type' is '",
               type, "', expected 'echoic-kws'");
  m.keywords = SplitCommas(s.RequireMetadata("keywords"));
  ECHOIC_CHECK(!m.keywords.empty(), ErrorCode::kModel, "keyword model '", s.name(), "': metadata 'keywords' is empty");
  for (const auto& k : m.keywords)
    ECHOIC_CHECK(!k.empty(), ErrorCode::kModel, "keyword model '", s.name(),
                 "': metadata 'keywords' has an empty entry");
  m.window_frames = IntKey(s, "window_frames", 8, 2000, nullptr);
  m.hop_frames = IntKey(s, "hop_frames", 1, m.window_frames, nullptr);
  const std::string one = "1";
  m.smoothing_hops = IntKey(s, "smoothing_hops", 1, 100, &one);
  m.default_threshold = FloatKey(s, "threshold", 0.5f, 0.f, 1.f);
  m.default_refractory_s = FloatKey(s, "refractory_s", 1.f, 0.f, 60.f);
  m.input_scale = FloatKey(s, "input_scale", 32768.f, 1e-6f, 1e9f);
  m.fbank.sample_rate = IntKey(s, "sample_rate", 8000, 48000, nullptr);
  m.fbank.num_bins = IntKey(s, "num_bins", 10, 512, nullptr);
  m.fbank.low_freq = FloatKey(s, "fbank_low_freq", 20.f, 0.f, 24000.f);
  m.fbank.high_freq = FloatKey(s, "fbank_high_freq", 0.f, -24000.f, 24000.f);
  m.fbank.frame_length_ms = FloatKey(s, "frame_length_ms", 25.f, 1.f, 200.f);
  m.fbank.frame_shift_ms = FloatKey(s, "frame_shift_ms", 10.f, 1.f, 100.f);
  m.fbank.dither = 0.f;  // deterministic: any chunking must give the same events
  m.fbank.snip_edges = false;
  try {
    m.fbank.Validate();
  } catch (const Error& e) {
    Fail(ErrorCode::kModel, "keyword model '", s.name(), "': front-end metadata is invalid: ", e.what());
  }

  const ort::TensorInfo* in = nullptr;
  for (const auto& t : s.inputs())
    if (t.name == "features") in = &t;
  ECHOIC_CHECK(in != nullptr && s.inputs().size() == 1, ErrorCode::kModel, "keyword model '", s.name(),
               "': expected exactly one input named 'features'");
  ECHOIC_CHECK(in->type == ort::ElementType::kFloat32 && in->shape.size() == 3, ErrorCode::kModel, "keyword model '",
               s.name(), "': input 'features' must be float32 of rank 3, got ", ort::ElementTypeName(in->type), " ",
               ort::ShapeString(in->shape));
  ECHOIC_CHECK(in->shape[2] < 0 || in->shape[2] == m.fbank.num_bins, ErrorCode::kModel, "keyword model '", s.name(),
               "': input 'features' has ", in->shape[2], " bins, metadata 'num_bins' says ", m.fbank.num_bins);
  ECHOIC_CHECK(in->shape[1] < 0 || in->shape[1] == m.window_frames, ErrorCode::kModel, "keyword model '", s.name(),
               "': input 'features' has ", in->shape[1], " frames, metadata 'window_frames' says ", m.window_frames);
  const ort::TensorInfo* out = nullptr;
  for (const auto& t : s.outputs())
    if (t.name == "probs") out = &t;
  ECHOIC_CHECK(out != nullptr, ErrorCode::kModel, "keyword model '", s.name(), "': no output named 'probs'");
  ECHOIC_CHECK(out->type == ort::ElementType::kFloat32 && out->shape.size() == 2, ErrorCode::kModel, "keyword model '",
               s.name(), "': output 'probs' must be float32 of rank 2");
  ECHOIC_CHECK(out->shape[1] < 0 || out->shape[1] == m.num_classes(), ErrorCode::kModel, "keyword model '", s.name(),
               "': output 'probs' has ", out->shape[1], " classes, metadata 'keywords' lists ", m.keywords.size(),
               " keywords (+1 filler)");
}

std::vector<float> KwsModel::Run(const float* windows, int32_t batch) const {
  ECHOIC_CHECK(batch > 0, ErrorCode::kInvalidArgument, "keyword model '", info_.name, "': batch must be > 0");
  ort::Tensor x(ort::ElementType::kFloat32, {batch, info_.window_frames, info_.fbank.num_bins});
  std::memcpy(x.data<float>(), windows, x.nbytes());
  std::vector<ort::Tensor> outs = session_->Run({"features"}, {&x}, {"probs"});
  const ort::Tensor& p = outs.at(0);
  ECHOIC_CHECK(p.shape().size() == 2 && p.shape()[0] == batch && p.shape()[1] == info_.num_classes(), ErrorCode::kModel,
               "keyword model '", info_.name, "': output 'probs' has shape ", p.ShapeString(), ", expected [", batch,
               ", ", info_.num_classes(), "]");
  const float* d = p.data<float>();
  return std::vector<float>(d, d + p.numel());
}

}  // namespace echoic::kws
