#include "echoic/asr/streaming_ctc_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "echoic/asr/model_metadata.h"
#include "echoic/runtime/error.h"

namespace echoic::asr {

StreamingCtcModel::StreamingCtcModel(std::shared_ptr<ort::Session> session) : session_(std::move(session)) {
  const ort::Session& s = *session_;
  StreamingCtcModelInfo& m = info_;
  m.family = "ctc";
  m.name = s.GetMetadata("model_name", s.name());
  namespace lim = limits;
  m.num_blocks = MetadataIntInRange(s, "num_blocks", 1, lim::kMaxLayers);
  m.head = MetadataIntInRange(s, "head", 1, lim::kMaxHeads);
  m.output_size = MetadataIntInRange(s, "output_size", 1, lim::kMaxModelDim);
  // Optional (echoic compress --prune-heads): fewer heads of the same width. WeNet's contract has none.
  m.head_dim = MetadataIntInRange(s, "head_dim", 0, lim::kMaxModelDim, 0);
  m.cnn_kernel = MetadataIntInRange(s, "cnn_module_kernel", 1, lim::kMaxKernel);
  m.right_context = MetadataIntInRange(s, "right_context", 0, lim::kMaxChunkFrames);
  m.subsampling = MetadataIntInRange(s, "subsampling_factor", 1, lim::kMaxSubsampling);
  m.vocab_size = MetadataIntInRange(s, "vocab_size", 1, lim::kMaxVocab);
  // WeNet exports leave chunking to the runtime; sherpa-onnx defaults to 16 x 4.
  m.chunk_size = MetadataIntInRange(s, "chunk_size", 1, lim::kMaxChunkFrames, 16);
  m.num_left_chunks = MetadataIntInRange(s, "num_left_chunks", 1, lim::kMaxChunkFrames, 4);
  m.feature_dim = MetadataIntInRange(s, "feature_dim", 1, lim::kMaxFeatureDim, 80);
  m.sample_rate = MetadataIntInRange(s, "sample_rate", lim::kMinSampleRate, lim::kMaxSampleRate, 16000);
  m.blank_id = MetadataIntInRange(s, "blank_id", 0, m.vocab_size - 1, 0);
  m.input_scale = MetadataFloat(s, "input_scale", 32768.f);
  m.fbank_low_freq = MetadataFloat(s, "fbank_low_freq", 20.f);
  m.fbank_high_freq = MetadataFloat(s, "fbank_high_freq", -400.f);
  m.batchable = s.GetMetadata("batch_dim", "") == "stream_major";

  m.output_dim = m.vocab_size;
  m.chunk_feature_frames = (m.chunk_size - 1) * m.subsampling + m.right_context + 1;
  m.shift_feature_frames = m.chunk_size * m.subsampling;

  // Ranges keep these products far from int32 overflow; the state must still fit.
  {
    const int64_t chunk_frames = int64_t{m.chunk_size - 1} * m.subsampling + m.right_context + 1;
    ECHOIC_CHECK(chunk_frames <= lim::kMaxChunkFeatureFrames, ErrorCode::kModel, "model '", s.name(),
                 "': chunk_size, subsampling_factor and right_context make ", chunk_frames,
                 " feature frames per chunk (at most ", lim::kMaxChunkFeatureFrames, ")");
    const int64_t att_width = m.head_dim ? int64_t{m.head} * m.head_dim : m.output_size;
    const int64_t state = int64_t{m.num_blocks} * m.chunk_size * m.num_left_chunks * 2 * att_width +
                          int64_t{m.num_blocks} * m.output_size * (m.cnn_kernel - 1);
    ECHOIC_CHECK(state <= lim::kMaxStateFloats, ErrorCode::kModel, "model '", s.name(),
                 "': metadata num_blocks, output_size, chunk_size, num_left_chunks and cnn_module_kernel give ", state,
                 " floats of state per stream (at most ", lim::kMaxStateFloats, ")");
  }
  ECHOIC_CHECK(m.head_dim || m.output_size % m.head == 0, ErrorCode::kModel, "model '", s.name(), "': output_size ",
               m.output_size, " is not divisible by head ", m.head, " (and no head_dim in the metadata)");
  if (!m.head_dim) m.head_dim = m.output_size / m.head;
  ECHOIC_CHECK(m.blank_id >= 0 && m.blank_id < m.vocab_size, ErrorCode::kModel, "model '", s.name(), "': blank_id ",
               m.blank_id, " outside the vocabulary of ", m.vocab_size);

  const auto& in = s.inputs();
  const auto& out = s.outputs();
  ECHOIC_CHECK(in.size() == 6, ErrorCode::kModel, "model '", s.name(),
               "': a WeNet-CTC streaming encoder has 6 inputs (chunk, offset, required_cache_size, att_cache, "
               "cnn_cache, att_mask), this one has ",
               in.size());
  ECHOIC_CHECK(out.size() >= 3, ErrorCode::kModel, "model '", s.name(),
               "': expected 3 outputs (log_probs, att_cache, cnn_cache), got ", out.size());
  ExpectTensor(s, in[0], 3, ort::ElementType::kFloat32, "feature");
  ECHOIC_CHECK(in[0].shape[2] < 0 || in[0].shape[2] == m.feature_dim, ErrorCode::kModel, "model '", s.name(),
               "': input '", in[0].name, "' has ", in[0].shape[2], " feature bins, metadata says ", m.feature_dim);
  ECHOIC_CHECK(in[1].type == ort::ElementType::kInt64 && in[1].shape.size() <= 1, ErrorCode::kModel, "model '",
               s.name(), "': input '", in[1].name, "' (offset) must be an int64 scalar or vector");
  ECHOIC_CHECK(in[2].type == ort::ElementType::kInt64 && in[2].shape.size() <= 1, ErrorCode::kModel, "model '",
               s.name(), "': input '", in[2].name, "' (required_cache_size) must be an int64 scalar or vector");
  ExpectTensor(s, in[3], 4, ort::ElementType::kFloat32, "attention cache");
  ExpectTensor(s, in[4], 4, ort::ElementType::kFloat32, "convolution cache");
  ExpectTensor(s, in[5], 3, ort::ElementType::kBool, "attention mask");
  offset_is_scalar_ = in[1].shape.empty();
  cache_size_is_scalar_ = in[2].shape.empty();
  // Every static dim must agree with the metadata the state and inputs are built from.
  ExpectDim(s, in[0], 1, m.chunk_feature_frames, "(chunk_size - 1) * subsampling_factor + right_context + 1");
  ExpectDim(s, in[3], 0, m.num_blocks, "metadata num_blocks");
  if (!m.batchable) ExpectDim(s, in[3], 1, m.head, "metadata head");
  ExpectDim(s, in[3], 2, m.cache_size(), "chunk_size * num_left_chunks");
  ExpectDim(s, in[3], 3, 2 * m.head_dim, "2 * head_dim (output_size / head unless given)");
  ExpectDim(s, in[4], 0, m.num_blocks, "metadata num_blocks");
  ExpectDim(s, in[4], 2, m.output_size, "metadata output_size");
  ExpectDim(s, in[4], 3, m.cnn_kernel - 1, "cnn_module_kernel - 1");
  ExpectDim(s, in[5], 2, m.cache_size() + m.chunk_size, "chunk_size * (num_left_chunks + 1)");
  ExpectDim(s, out[0], 1, m.chunk_size, "metadata chunk_size (log-prob frames per chunk)");
  ExpectDim(s, out[0], 2, m.vocab_size, "metadata vocab_size");
  for (const auto& t : in) input_names_.push_back(t.name);
  for (size_t i = 0; i < 3; ++i) output_names_.push_back(out[i].name);
}

std::shared_ptr<StreamingCtcModel> StreamingCtcModel::Load(const std::string& path,
                                                           const ort::SessionOptions& options) {
  return std::make_shared<StreamingCtcModel>(ort::Session::FromFile(path, options));
}

EncoderState StreamingCtcModel::InitState() const {
  const auto& m = info_;
  EncoderState st;
  int32_t d_k = m.head_dim;
  st.att_floats = static_cast<size_t>(m.num_blocks) * m.head * m.cache_size() * 2 * d_k;
  st.cnn_floats = static_cast<size_t>(m.num_blocks) * m.output_size * (m.cnn_kernel - 1);
  st.offset = m.cache_size();
  st.chunks_done = 0;
  return st;
}

void StreamingCtcModel::Forward(const std::vector<const float*>& features, const std::vector<EncoderState*>& states,
                                std::vector<std::vector<float>>* log_probs) const {
  ECHOIC_CHECK(features.size() == states.size(), ErrorCode::kInvalidArgument, "model '", info_.name,
               "': ", features.size(), " feature chunks for ", states.size(), " states");
  log_probs->assign(features.size(), {});
  if (features.empty()) return;
  if (info_.batchable) {
    RunBatch(features, states, log_probs, 0, features.size());
  } else {
    for (size_t b = 0; b < features.size(); ++b) RunBatch(features, states, log_probs, b, b + 1);
  }
}

void StreamingCtcModel::Run(const std::vector<const float*>& features, const std::vector<ModelState*>& states,
                            std::vector<std::vector<float>>* out) const {
  std::vector<EncoderState*> own;
  for (ModelState* st : states) {
    auto* e = dynamic_cast<EncoderState*>(st);
    ECHOIC_CHECK(e != nullptr, ErrorCode::kInvalidArgument, "model '", info_.name, "': state of another model family");
    own.push_back(e);
  }
  Forward(features, own, out);
}

std::unique_ptr<StreamingCtcModel::Staging> StreamingCtcModel::TakeStaging() const {
  std::lock_guard<std::mutex> lock(staging_mu_);
  if (staging_.empty()) return std::make_unique<Staging>();
  std::unique_ptr<Staging> s = std::move(staging_.back());
  staging_.pop_back();
  return s;
}

void StreamingCtcModel::GiveStaging(std::unique_ptr<Staging> staging) const {
  std::lock_guard<std::mutex> lock(staging_mu_);
  staging_.push_back(std::move(staging));
}

namespace {
// Grows (never shrinks) a staging buffer; the contents are overwritten by the caller or ORT.
template <typename T>
T* Ensure(std::vector<T>* v, size_t n) {
  if (v->size() < n) v->resize(n);
  return v->data();
}
}  // namespace

void StreamingCtcModel::RunBatch(const std::vector<const float*>& features, const std::vector<EncoderState*>& states,
                                 std::vector<std::vector<float>>* log_probs, size_t begin, size_t end) const {
  const auto& m = info_;
  const int64_t B = static_cast<int64_t>(end - begin);
  const int64_t T = m.chunk_frames(), F = m.feature_dim;
  const int64_t cache = m.cache_size(), d_k = m.head_dim, kc = m.cnn_kernel - 1;
  const size_t att_slab = static_cast<size_t>(m.head) * cache * 2 * d_k;  // one stream, one block
  const size_t cnn_slab = static_cast<size_t>(m.output_size) * kc;
  const size_t att_floats = att_slab * m.num_blocks, cnn_floats = cnn_slab * m.num_blocks;
  const int64_t Tout = m.chunk_size;
  const int64_t mask_len = cache + m.chunk_size;

  std::unique_ptr<Staging> stage = TakeStaging();
  struct Return {
    const StreamingCtcModel* model;
    std::unique_ptr<Staging>* stage;
    ~Return() { model->GiveStaging(std::move(*stage)); }
  } give_back{this, &stage};

  // One stream: its caches are the inputs as they are (allocated, zeros, by its first chunk).
  const bool single = B == 1;
  if (single) {
    EncoderState& st = *states[begin];
    if (st.att_cache.empty()) st.att_cache.assign(st.att_floats, 0.f), st.cnn_cache.assign(st.cnn_floats, 0.f);
  }

  const float* xp = features[begin];
  if (!single) {
    float* xs = Ensure(&stage->x, static_cast<size_t>(B * T * F));
    for (int64_t b = 0; b < B; ++b) std::memcpy(xs + b * T * F, features[begin + b], sizeof(float) * T * F);
    xp = xs;
  }
  int64_t* op = Ensure(&stage->offset, static_cast<size_t>(B));
  int64_t cache_size = cache;
  if (stage->mask_size < static_cast<size_t>(B * mask_len)) {
    stage->mask.reset(new bool[static_cast<size_t>(B * mask_len)]);
    stage->mask_size = static_cast<size_t>(B * mask_len);
  }
  bool* mp = stage->mask.get();
  const float* ap = nullptr;
  const float* cp = nullptr;
  if (single) {
    ap = states[begin]->att_cache.data();
    cp = states[begin]->cnn_cache.data();
  } else {
    float* a_all = Ensure(&stage->att, att_floats * B);
    float* c_all = Ensure(&stage->cnn, cnn_floats * B);
    for (int64_t b = 0; b < B; ++b) {
      const EncoderState& st = *states[begin + b];
      const bool fresh = st.att_cache.empty();  // no chunk yet: the caches are zeros
      for (int32_t blk = 0; blk < m.num_blocks; ++blk) {
        float* a = a_all + (blk * B + b) * att_slab;
        float* c = c_all + (blk * B + b) * cnn_slab;
        if (fresh) {
          std::fill(a, a + att_slab, 0.f);
          std::fill(c, c + cnn_slab, 0.f);
          continue;
        }
        std::memcpy(a, st.att_cache.data() + blk * att_slab, sizeof(float) * att_slab);
        if (cnn_slab)  // 0 for cnn_module_kernel 1: the cache vector is empty (NULL data)
          std::memcpy(c, st.cnn_cache.data() + blk * cnn_slab, sizeof(float) * cnn_slab);
      }
    }
    ap = a_all;
    cp = c_all;
  }
  for (int64_t b = 0; b < B; ++b) {
    const EncoderState& st = *states[begin + b];
    if (!offset_is_scalar_ || b == 0) op[offset_is_scalar_ ? 0 : b] = st.offset;
    // Cache slots not yet filled by earlier chunks are masked out.
    int64_t valid = std::min<int64_t>(cache, st.chunks_done * m.chunk_size);
    bool* row = mp + b * mask_len;
    std::fill(row, row + (cache - valid), false);
    std::fill(row + (cache - valid), row + mask_len, true);
  }

  // ORT writes the outputs straight into the staging buffers; the contract returns caches shaped
  // like the ones given and chunk_size frames of log-probs.
  using ort::ElementType;
  using ort::TensorView;
  float* lp = Ensure(&stage->lp, static_cast<size_t>(B * Tout * m.vocab_size));
  float* na = single ? Ensure(&stage->spare_att, att_floats) : Ensure(&stage->att_out, att_floats * B);
  float* nc = single ? Ensure(&stage->spare_cnn, cnn_floats) : Ensure(&stage->cnn_out, cnn_floats * B);
  const std::vector<int64_t> att_shape{m.num_blocks, B * m.head, cache, 2 * d_k};
  const std::vector<int64_t> cnn_shape{m.num_blocks, B, m.output_size, kc};
  session_->RunInto(
      input_names_,
      {TensorView{ElementType::kFloat32, {B, T, F}, xp},
       TensorView{ElementType::kInt64, offset_is_scalar_ ? std::vector<int64_t>{} : std::vector<int64_t>{B}, op},
       TensorView{ElementType::kInt64, cache_size_is_scalar_ ? std::vector<int64_t>{} : std::vector<int64_t>{1},
                  &cache_size},
       TensorView{ElementType::kFloat32, att_shape, ap}, TensorView{ElementType::kFloat32, cnn_shape, cp},
       TensorView{ElementType::kBool, {B, 1, mask_len}, mp}},
      output_names_,
      {TensorView{ElementType::kFloat32, {B, Tout, m.vocab_size}, lp}, TensorView{ElementType::kFloat32, att_shape, na},
       TensorView{ElementType::kFloat32, cnn_shape, nc}});
  for (int64_t b = 0; b < B; ++b) {
    EncoderState& st = *states[begin + b];
    (*log_probs)[begin + b].assign(lp + b * Tout * m.vocab_size, lp + (b + 1) * Tout * m.vocab_size);
    if (single) {
      // The new caches become the stream's; its old buffers stay here for the next run.
      st.att_cache.swap(stage->spare_att);
      st.cnn_cache.swap(stage->spare_cnn);
    } else {
      if (st.att_cache.empty()) st.att_cache.resize(st.att_floats), st.cnn_cache.resize(st.cnn_floats);
      for (int32_t blk = 0; blk < m.num_blocks; ++blk) {
        std::memcpy(st.att_cache.data() + blk * att_slab, na + (blk * B + b) * att_slab, sizeof(float) * att_slab);
        if (cnn_slab)
          std::memcpy(st.cnn_cache.data() + blk * cnn_slab, nc + (blk * B + b) * cnn_slab, sizeof(float) * cnn_slab);
      }
    }
    st.offset += Tout;
    st.chunks_done += 1;
  }
}

}  // namespace echoic::asr
