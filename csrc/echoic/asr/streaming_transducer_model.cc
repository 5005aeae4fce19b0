#include "echoic/asr/streaming_transducer_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "echoic/asr/model_metadata.h"
#include "echoic/runtime/error.h"

namespace echoic::asr {

namespace {

bool IsFile(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> Names(const std::vector<ort::TensorInfo>& ts, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(ts[i].name);
  return out;
}

}  // namespace

bool StreamingTransducerModel::LooksLikeTransducerDir(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && IsFile(dir + "/encoder.onnx");
}

std::shared_ptr<StreamingTransducerModel> StreamingTransducerModel::Load(const std::string& dir,
                                                                         const ort::SessionOptions& options) {
  std::shared_ptr<ort::Session> parts[3];
  const char* names[3] = {"encoder.onnx", "decoder.onnx", "joiner.onnx"};
  for (int i = 0; i < 3; ++i) {
    std::string path = dir + "/" + names[i];
    ECHOIC_CHECK(IsFile(path), ErrorCode::kIo, "transducer model folder '", dir, "' has no ", names[i],
                 " (expected encoder.onnx, decoder.onnx, joiner.onnx and tokens.txt)");
    parts[i] = ort::Session::FromFile(path, options);
  }
  return std::make_shared<StreamingTransducerModel>(parts[0], parts[1], parts[2]);
}

StreamingTransducerModel::StreamingTransducerModel(std::shared_ptr<ort::Session> encoder,
                                                   std::shared_ptr<ort::Session> decoder,
                                                   std::shared_ptr<ort::Session> joiner)
    : encoder_(std::move(encoder)), decoder_(std::move(decoder)), joiner_(std::move(joiner)) {
  const ort::Session& e = *encoder_;
  const ort::Session& d = *decoder_;
  const ort::Session& j = *joiner_;
  StreamingTransducerModelInfo& m = info_;
  m.family = "transducer";
  m.name = e.GetMetadata("model_name", e.name());
  m.model_type = e.RequireMetadata("model_type");
  ECHOIC_CHECK(m.model_type == "lstm", ErrorCode::kModel, "model '", e.name(), "': metadata 'model_type' is '",
               m.model_type, "'; echoic runs the 'lstm' transducer contract");
  namespace lim = limits;
  m.num_encoder_layers = MetadataIntInRange(e, "num_encoder_layers", 1, lim::kMaxLayers);
  m.d_model = MetadataIntInRange(e, "d_model", 1, lim::kMaxModelDim);
  m.rnn_hidden_size = MetadataIntInRange(e, "rnn_hidden_size", 1, lim::kMaxModelDim);
  m.decode_chunk_len = MetadataIntInRange(e, "decode_chunk_len", 1, lim::kMaxChunkFeatureFrames);
  m.T = MetadataIntInRange(e, "T", 1, lim::kMaxChunkFeatureFrames);
  m.subsampling = MetadataIntInRange(e, "subsampling_factor", 1, lim::kMaxSubsampling, 4);
  m.feature_dim = MetadataIntInRange(e, "feature_dim", 1, lim::kMaxFeatureDim, 80);
  m.sample_rate = MetadataIntInRange(e, "sample_rate", lim::kMinSampleRate, lim::kMaxSampleRate, 16000);
  // Transducers (icefall / sherpa) take samples in [-1, 1].
  m.input_scale = MetadataFloat(e, "input_scale", 1.f);
  m.fbank_low_freq = MetadataFloat(e, "fbank_low_freq", 20.f);
  m.fbank_high_freq = MetadataFloat(e, "fbank_high_freq", -400.f);
  m.vocab_size = MetadataIntInRange(d, "vocab_size", 1, lim::kMaxVocab);
  m.context_size = MetadataIntInRange(d, "context_size", 1, lim::kMaxContextSize);
  m.blank_id = MetadataIntInRange(d, "blank_id", 0, m.vocab_size - 1, 0);
  ECHOIC_CHECK(m.input_scale > 0.f, ErrorCode::kModel, "model '", e.name(), "': input_scale must be > 0");
  ECHOIC_CHECK(m.decode_chunk_len % m.subsampling == 0 && m.T >= m.decode_chunk_len, ErrorCode::kModel, "model '",
               e.name(), "': decode_chunk_len ", m.decode_chunk_len, " must be a multiple of subsampling_factor ",
               m.subsampling, " and <= T ", m.T);
  ECHOIC_CHECK(m.blank_id >= 0 && m.blank_id < m.vocab_size, ErrorCode::kModel, "model '", d.name(), "': blank_id ",
               m.blank_id, " outside the vocabulary of ", m.vocab_size);

  // Encoder signature.
  ECHOIC_CHECK(e.inputs().size() == 3 && e.outputs().size() == 3, ErrorCode::kModel, "model '", e.name(),
               "': an lstm transducer encoder has 3 inputs (x, h, c) and 3 outputs (encoder_out, next_h, next_c), "
               "this one has ",
               e.inputs().size(), " and ", e.outputs().size());
  ExpectTensor(e, e.inputs()[0], 3, ort::ElementType::kFloat32, "feature");
  ExpectDim(e, e.inputs()[0], 2, m.feature_dim, "feature_dim");
  ExpectTensor(e, e.inputs()[1], 3, ort::ElementType::kFloat32, "h state");
  ExpectDim(e, e.inputs()[1], 0, m.num_encoder_layers, "num_encoder_layers");
  ExpectDim(e, e.inputs()[1], 2, m.d_model, "d_model");
  ExpectTensor(e, e.inputs()[2], 3, ort::ElementType::kFloat32, "c state");
  ExpectDim(e, e.inputs()[2], 0, m.num_encoder_layers, "num_encoder_layers");
  ExpectDim(e, e.inputs()[2], 2, m.rnn_hidden_size, "rnn_hidden_size");
  ExpectTensor(e, e.outputs()[0], 3, ort::ElementType::kFloat32, "encoder output");
  // Decoder and joiner signatures.
  ECHOIC_CHECK(d.inputs().size() == 1 && !d.outputs().empty(), ErrorCode::kModel, "model '", d.name(),
               "': a transducer decoder has 1 input (y) and 1 output (decoder_out)");
  ExpectTensor(d, d.inputs()[0], 2, ort::ElementType::kInt64, "context");
  ExpectDim(d, d.inputs()[0], 1, m.context_size, "context_size");
  ECHOIC_CHECK(j.inputs().size() == 2 && !j.outputs().empty(), ErrorCode::kModel, "model '", j.name(),
               "': a transducer joiner has 2 inputs (encoder_out, decoder_out) and 1 output (logit)");
  ExpectTensor(j, j.inputs()[0], 2, ort::ElementType::kFloat32, "joiner encoder_out");
  ExpectTensor(j, j.inputs()[1], 2, ort::ElementType::kFloat32, "joiner decoder_out");
  ExpectTensor(j, j.outputs()[0], 2, ort::ElementType::kFloat32, "joiner logit");
  ExpectDim(j, j.outputs()[0], 1, m.vocab_size, "the decoder's vocab_size");
  // joiner_dim: metadata if present, else a static dim of the joiner inputs.
  int64_t jd = j.inputs()[0].shape[1] > 0 ? j.inputs()[0].shape[1] : j.inputs()[1].shape[1];
  ECHOIC_CHECK(jd > 0 || !j.GetMetadata("joiner_dim", "").empty(), ErrorCode::kModel, "model '", j.name(),
               "': joiner_dim is neither in the metadata nor a static dim of the joiner inputs");
  m.joiner_dim = MetadataIntInRange(j, "joiner_dim", 1, lim::kMaxModelDim,
                                    static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(jd, 0), INT32_MAX)));
  ExpectDim(j, j.inputs()[0], 1, m.joiner_dim, "joiner_dim");
  ExpectDim(j, j.inputs()[1], 1, m.joiner_dim, "joiner_dim");
  ExpectDim(e, e.outputs()[0], 2, m.joiner_dim, "joiner_dim");

  m.output_dim = m.joiner_dim;
  m.chunk_feature_frames = m.T;
  m.shift_feature_frames = m.decode_chunk_len;
  enc_in_ = Names(e.inputs(), 3);
  enc_out_ = Names(e.outputs(), 3);
  dec_in_ = Names(d.inputs(), 1);
  dec_out_ = Names(d.outputs(), 1);
  join_in_ = Names(j.inputs(), 2);
  join_out_ = Names(j.outputs(), 1);
}

std::unique_ptr<ModelState> StreamingTransducerModel::NewState() const {
  auto st = std::make_unique<TransducerEncoderState>();
  st->h.assign(static_cast<size_t>(info_.num_encoder_layers) * info_.d_model, 0.f);
  st->c.assign(static_cast<size_t>(info_.num_encoder_layers) * info_.rnn_hidden_size, 0.f);
  return st;
}

void StreamingTransducerModel::Run(const std::vector<const float*>& features, const std::vector<ModelState*>& states,
                                   std::vector<std::vector<float>>* out) const {
  const auto& m = info_;
  ECHOIC_CHECK(features.size() == states.size(), ErrorCode::kInvalidArgument, "model '", m.name, "': ", features.size(),
               " feature chunks for ", states.size(), " states");
  out->assign(features.size(), {});
  if (features.empty()) return;
  const int64_t B = static_cast<int64_t>(features.size()), T = m.T, F = m.feature_dim, L = m.num_encoder_layers;
  const int64_t H = m.d_model, C = m.rnn_hidden_size;
  std::vector<TransducerEncoderState*> st;
  for (ModelState* s : states) {
    auto* t = dynamic_cast<TransducerEncoderState*>(s);
    ECHOIC_CHECK(t != nullptr, ErrorCode::kInvalidArgument, "model '", m.name, "': state of another model family");
    st.push_back(t);
  }
  ort::Tensor x(ort::ElementType::kFloat32, {B, T, F});
  ort::Tensor h(ort::ElementType::kFloat32, {L, B, H});
  ort::Tensor c(ort::ElementType::kFloat32, {L, B, C});
  float* xp = x.data<float>();
  float* hp = h.data<float>();
  float* cp = c.data<float>();
  // Stack: states are batched along dim 1 ([layers, N, dim]).
  for (int64_t b = 0; b < B; ++b) {
    std::memcpy(xp + b * T * F, features[b], sizeof(float) * T * F);
    for (int64_t l = 0; l < L; ++l) {
      std::memcpy(hp + (l * B + b) * H, st[b]->h.data() + l * H, sizeof(float) * H);
      std::memcpy(cp + (l * B + b) * C, st[b]->c.data() + l * C, sizeof(float) * C);
    }
  }
  std::vector<ort::Tensor> r = encoder_->Run(enc_in_, {&x, &h, &c}, enc_out_);
  const auto& shape = r[0].shape();
  ECHOIC_CHECK(shape.size() == 3 && shape[0] == B && shape[2] == m.joiner_dim, ErrorCode::kModel, "model '",
               encoder_->name(), "': output '", enc_out_[0], "' has shape ", r[0].ShapeString(), ", expected [", B,
               ", T', ", m.joiner_dim, "]");
  ECHOIC_CHECK(r[1].numel() == h.numel() && r[2].numel() == c.numel(), ErrorCode::kModel, "model '", encoder_->name(),
               "': returned states ", r[1].ShapeString(), " / ", r[2].ShapeString(), " do not match the inputs ",
               h.ShapeString(), " / ", c.ShapeString());
  const int64_t n = shape[1] * shape[2];
  const float* eo = r[0].data<float>();
  const float* nh = r[1].data<float>();
  const float* nc = r[2].data<float>();
  for (int64_t b = 0; b < B; ++b) {
    (*out)[b].assign(eo + b * n, eo + (b + 1) * n);
    for (int64_t l = 0; l < L; ++l) {  // unstack
      std::memcpy(st[b]->h.data() + l * H, nh + (l * B + b) * H, sizeof(float) * H);
      std::memcpy(st[b]->c.data() + l * C, nc + (l * B + b) * C, sizeof(float) * C);
    }
  }
}

decoding::TransducerNetworkDims StreamingTransducerModel::dims() const {
  decoding::TransducerNetworkDims d;
  d.vocab_size = info_.vocab_size;
  d.blank_id = info_.blank_id;
  d.context_size = info_.context_size;
  d.joiner_dim = info_.joiner_dim;
  return d;
}

std::vector<float> StreamingTransducerModel::RunDecoder(const int64_t* contexts, int32_t num_contexts) const {
  const int64_t cs = info_.context_size;
  ECHOIC_CHECK(contexts != nullptr && num_contexts > 0, ErrorCode::kInvalidArgument, "model '", decoder_->name(),
               "': ", num_contexts, " contexts for the prediction network");
  const int64_t n = num_contexts;
  ort::Tensor y(ort::ElementType::kInt64, {n, cs});
  std::memcpy(y.data<int64_t>(), contexts, sizeof(int64_t) * static_cast<size_t>(n * cs));
  std::vector<ort::Tensor> r = decoder_->Run(dec_in_, {&y}, dec_out_);
  ECHOIC_CHECK(r[0].numel() == n * info_.joiner_dim && !r[0].shape().empty() && r[0].shape()[0] == n, ErrorCode::kModel,
               "model '", decoder_->name(), "': output '", dec_out_[0], "' has shape ", r[0].ShapeString(),
               ", expected [", n, ", ", info_.joiner_dim, "]");
  const float* p = r[0].data<float>();
  return std::vector<float>(p, p + n * info_.joiner_dim);
}

std::vector<float> StreamingTransducerModel::RunJoiner(const float* encoder_out, const float* decoder_out,
                                                       int32_t rows) const {
  const int64_t J = info_.joiner_dim;
  ECHOIC_CHECK(encoder_out != nullptr && decoder_out != nullptr && rows > 0, ErrorCode::kInvalidArgument, "model '",
               joiner_->name(), "': ", rows, " joiner rows");
  const int64_t n = rows;
  const size_t floats = static_cast<size_t>(n * J);
  ort::Tensor a(ort::ElementType::kFloat32, {n, J});
  ort::Tensor b(ort::ElementType::kFloat32, {n, J});
  std::memcpy(a.data<float>(), encoder_out, sizeof(float) * floats);
  std::memcpy(b.data<float>(), decoder_out, sizeof(float) * floats);
  std::vector<ort::Tensor> r = joiner_->Run(join_in_, {&a, &b}, join_out_);
  ECHOIC_CHECK(r[0].shape().size() == 2 && r[0].shape()[0] == n && r[0].shape()[1] == info_.vocab_size,
               ErrorCode::kModel, "model '", joiner_->name(), "': output '", join_out_[0], "' has shape ",
               r[0].ShapeString(), ", expected [", n, ", ", info_.vocab_size, "]");
  const float* p = r[0].data<float>();
  return std::vector<float>(p, p + n * info_.vocab_size);
}

}  // namespace echoic::asr
