#include "echoic/whisper/whisper_model.h"

#include <sys/stat.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::whisper {

namespace {

bool IsFile(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<int32_t> IntList(const ort::Session& s, const std::string& key, bool required) {
  std::string text = required ? s.RequireMetadata(key) : s.GetMetadata(key, "");
  std::vector<int32_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    ECHOIC_CHECK(end && *end == '\0' && v >= INT32_MIN && v <= INT32_MAX, ErrorCode::kModel, "model '", s.name(),
                 "': metadata '", key, "' must be comma-separated 32-bit integers, got '", text, "'");
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

int32_t Int(const ort::Session& s, const std::string& key) {
  const int64_t v = s.RequireMetadataInt(key);
  // Not truncated: 2^32 + 80 must not read as 80 and pass the range checks.
  ECHOIC_CHECK(v >= INT32_MIN && v <= INT32_MAX, ErrorCode::kModel, "model '", s.name(), "': metadata '", key,
               "' = ", v, " is not a 32-bit integer");
  return static_cast<int32_t>(v);
}

// Rows of a [layers, batch, ...] tensor.
ort::Tensor GatherBatch(const ort::Tensor& t, const std::vector<int32_t>& rows) {
  std::vector<int64_t> sh = t.shape();
  ECHOIC_CHECK(sh.size() >= 3, ErrorCode::kInternal, "whisper cache must be [layers, batch, ...], got ",
               t.ShapeString());
  const int64_t batch = sh[1];
  size_t row = 1;
  for (size_t i = 2; i < sh.size(); ++i) row *= static_cast<size_t>(sh[i]);
  sh[1] = static_cast<int64_t>(rows.size());
  ort::Tensor out(ort::ElementType::kFloat32, sh);
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t l = 0; l < sh[0]; ++l)
    for (size_t i = 0; i < rows.size(); ++i) {
      ECHOIC_CHECK(rows[i] >= 0 && rows[i] < batch, ErrorCode::kInternal, "whisper cache row ", rows[i], " of ", batch);
      std::memcpy(dst + (l * rows.size() + i) * row, src + (l * batch + rows[i]) * row, row * sizeof(float));
    }
  return out;
}

}  // namespace

bool WhisperModel::LooksLikeWhisperDir(const std::string& path) {
  return IsFile(path + "/encoder.onnx") && IsFile(path + "/decoder.onnx") && IsFile(path + "/vocabulary.txt") &&
         !IsFile(path + "/joiner.onnx");
}

std::shared_ptr<WhisperModel> WhisperModel::Load(const std::string& dir, const ort::SessionOptions& opts) {
  ECHOIC_CHECK(LooksLikeWhisperDir(dir), ErrorCode::kIo, "'", dir,
               "' is not a Whisper model folder (needs encoder.onnx, decoder.onnx, vocabulary.txt)");
  auto m = std::shared_ptr<WhisperModel>(new WhisperModel());
  // Memory: the encoder's activations (attention in blocks of 250 query rows, 1.4 MB each for
  // tiny) and the decoder's per-step ones come and go. Without ORT's arena they go back to the C
  // library when freed (and to the OS at the trim after each encoder run), where an arena keeps
  // its high-water mark and, with steps of ever-growing cache shapes, fragments: tiny.en over 12
  // files peaks 8 MB lower, at the same speed. Without memory patterns nothing is reserved per
  // input shape. The weights are memory-mapped by ORT (external data at page-aligned offsets).
  ort::SessionOptions so = opts;
  so.mem_pattern = false;
  so.cpu_mem_arena = false;
  so.shared_arena = false;
  // The encoder runs once per 30 s window over 1500 frames, so packing its weights on each run
  // costs little, while the packed copies would stay resident; decoder steps are one token each
  // and run 2.6x slower unpacked, so the decoder keeps pre-packing.
  ort::SessionOptions enc = so;
  enc.prepacking = false;
  m->encoder_ = ort::Session::FromFile(dir + "/encoder.onnx", enc);
  m->decoder_ = ort::Session::FromFile(dir + "/decoder.onnx", so);
  m->info_ = ReadInfo(*m->encoder_, *m->decoder_, dir);
  const WhisperModelInfo& i = m->info_;
  const std::string merges = IsFile(dir + "/merges.txt") ? dir + "/merges.txt" : std::string();
  m->tokenizer_ = std::make_shared<Tokenizer>(Tokenizer::FromFiles(dir + "/vocabulary.txt", merges));
  ECHOIC_CHECK(m->tokenizer_->size() == i.n_vocab, ErrorCode::kModel, "'", dir, "/vocabulary.txt' lists ",
               m->tokenizer_->size(), " tokens but the model has n_vocab ", i.n_vocab);
  return m;
}

WhisperModelInfo WhisperModel::ReadInfo(const ort::Session& encoder, const ort::Session& d, const std::string& dir) {
  ECHOIC_CHECK(d.GetMetadata("model_type", "") == "whisper", ErrorCode::kModel, "model '", d.name(),
               "': metadata model_type must be 'whisper' (import the checkpoint with `echoic models import`)");
  ECHOIC_CHECK(d.GetMetadata("contract_version", "") == "3", ErrorCode::kModel, "model '", d.name(),
               "': unsupported contract_version '", d.GetMetadata("contract_version", ""),
               "' (this build reads 3; import the checkpoint again with `echoic models import`)");
  WhisperModelInfo i;
  i.family = "whisper";
  i.name = d.GetMetadata("model_name", dir);
  i.n_mels = Int(d, "n_mels");
  i.n_audio_ctx = Int(d, "n_audio_ctx");
  i.n_text_ctx = Int(d, "n_text_ctx");
  i.n_text_state = Int(d, "n_text_state");
  i.n_text_layer = Int(d, "n_text_layer");
  i.n_text_head = Int(d, "n_text_head");
  i.n_vocab = Int(d, "n_vocab");
  i.multilingual = Int(d, "is_multilingual") != 0;
  i.sot = Int(d, "sot");
  i.eot = Int(d, "eot");
  i.sot_prev = Int(d, "sot_prev");
  i.no_timestamps = Int(d, "no_timestamps");
  i.no_speech = Int(d, "no_speech");
  i.timestamp_begin = Int(d, "timestamp_begin");
  i.sot_sequence = IntList(d, "sot_sequence", true);
  i.suppress_tokens = IntList(d, "suppress_tokens", false);
  i.suppress_blank = IntList(d, "suppress_blank", false);
  i.precision = d.GetMetadata("precision", "");
  {
    std::string heads = d.RequireMetadata("alignment_heads");
    i.n_alignment_heads = heads.empty() ? 0 : 1;
    for (char c : heads) i.n_alignment_heads += c == ',';
  }
  ECHOIC_CHECK(i.n_mels > 0 && i.n_audio_ctx > 0 && i.n_text_ctx > 0 && i.n_text_state > 0 && i.n_text_layer > 0 &&
                   i.n_text_head > 0 && i.n_text_state % i.n_text_head == 0 && i.n_vocab > 0 && !i.sot_sequence.empty(),
               ErrorCode::kModel, "model '", d.name(), "': bad Whisper dimensions in metadata");
  // Sane ranges (a crafted file must not make us allocate gigabytes), then the
  // graphs' own tensor shapes must agree with the metadata.
  auto in_range = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
    ECHOIC_CHECK(v >= lo && v <= hi, ErrorCode::kModel, "model '", d.name(), "': metadata ", key, " = ", v,
                 " is outside ", lo, "..", hi);
  };
  in_range("n_mels", i.n_mels, 1, 256);
  in_range("n_audio_ctx", i.n_audio_ctx, 1, 1500);  // Whisper windows are 30 s
  in_range("n_text_ctx", i.n_text_ctx, 8, 4096);
  in_range("n_text_state", i.n_text_state, 8, 8192);
  in_range("n_text_layer", i.n_text_layer, 1, 128);
  in_range("n_text_head", i.n_text_head, 1, 128);
  in_range("n_vocab", i.n_vocab, 8, 1 << 20);
  in_range("sot_sequence length", static_cast<int64_t>(i.sot_sequence.size()), 1, 8);
  in_range("alignment heads", i.n_alignment_heads, 0, int64_t{i.n_text_layer} * i.n_text_head);
  auto dims = [](const ort::Session& s, const std::string& name) -> std::vector<int64_t> {
    for (const auto& t : s.inputs())
      if (t.name == name) return t.shape;
    for (const auto& t : s.outputs())
      if (t.name == name) return t.shape;
    Fail(ErrorCode::kModel, "model '", s.name(), "' has no tensor '", name, "'");
  };
  const int64_t dh = i.n_text_state / i.n_text_head;
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> expect{
      {dims(d, "cross_k"), {i.n_text_layer, -1, i.n_text_head, dh, -1}},
      {dims(d, "cross_v"), {i.n_text_layer, -1, i.n_text_head, -1, dh}},
      {dims(d, "self_k_in"), {i.n_text_layer, -1, -1, i.n_text_state}},
      {dims(d, "logits"), {-1, i.n_vocab}},
      {dims(encoder, "mel"), {-1, i.n_mels, 2 * int64_t{i.n_audio_ctx}}},
      {dims(encoder, "cross_k"), {i.n_text_layer, -1, i.n_text_head, dh, -1}}};
  for (const auto& [got, want] : expect) {
    bool ok = got.size() == want.size();
    for (size_t k = 0; ok && k < got.size(); ++k) ok = want[k] < 0 || got[k] < 0 || got[k] == want[k];
    ECHOIC_CHECK(ok, ErrorCode::kModel, "model '", dir, "': a tensor shaped ", ort::ShapeString(got),
                 " does not match the metadata (expected ", ort::ShapeString(want), ", -1 = any)");
  }
  for (int32_t id : {i.sot, i.eot, i.sot_prev, i.no_timestamps, i.no_speech, i.timestamp_begin})
    ECHOIC_CHECK(id >= 0 && id < i.n_vocab, ErrorCode::kModel, "model '", d.name(), "': special token id ", id,
                 " outside the vocabulary of ", i.n_vocab);
  // The prompt is fed to the decoder as token ids.
  for (int32_t id : i.sot_sequence)
    ECHOIC_CHECK(id >= 0 && id < i.n_vocab, ErrorCode::kModel, "model '", d.name(), "': sot_sequence token id ", id,
                 " outside the vocabulary of ", i.n_vocab);
  i.vocab_size = i.n_vocab;
  i.feature_dim = i.n_mels;
  i.sample_rate = 16000;
  i.subsampling = 2;  // 20 ms per encoder frame
  i.output_dim = i.n_text_state;
  return i;
}

CrossCache WhisperModel::Encode(const std::vector<float>& mels, int64_t batch) const {
  const int64_t frames = 2 * info_.n_audio_ctx;
  ECHOIC_CHECK(batch > 0 && mels.size() == static_cast<size_t>(batch * info_.n_mels * frames),
               ErrorCode::kInvalidArgument, "whisper encoder: expected ", batch, " x ", info_.n_mels, " x ", frames,
               " mel values, got ", mels.size());
  ort::Tensor mel(ort::ElementType::kFloat32, {batch, info_.n_mels, frames});
  std::memcpy(mel.data<float>(), mels.data(), mels.size() * sizeof(float));
  // ORT writes cross K/V straight into the cache (no second copy alive at the encoder's peak).
  // Contract 2 layouts: K [L, B, H, dh, A] (transposed), V [L, B, H, A, dh].
  const int64_t h = info_.n_text_head, dh = info_.n_text_state / info_.n_text_head;
  CrossCache cross{ort::Tensor(ort::ElementType::kFloat32, {info_.n_text_layer, batch, h, dh, info_.n_audio_ctx}),
                   ort::Tensor(ort::ElementType::kFloat32, {info_.n_text_layer, batch, h, info_.n_audio_ctx, dh})};
  encoder_->RunInto({"mel"}, {&mel}, {"cross_k", "cross_v"}, {&cross.k, &cross.v});
  // The encoder's activations (tens of MB, freed by now) leave holes in the heap that the
  // decoder's small allocations would keep resident: hand their pages back once per window.
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return cross;
}

CrossCache WhisperModel::SelectRows(const CrossCache& cross, const std::vector<int32_t>& rows) {
  return CrossCache{GatherBatch(cross.k, rows), GatherBatch(cross.v, rows)};
}

SelfCache WhisperModel::SelectRows(const SelfCache& cache, const std::vector<int32_t>& rows) {
  SelfCache out{GatherBatch(cache.k, rows),
                GatherBatch(cache.v, rows),
                ort::Tensor(ort::ElementType::kFloat32, {static_cast<int64_t>(rows.size()), cache.positions()}),
                {}};
  const size_t p = static_cast<size_t>(cache.positions());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(cache.mask.data<float>() + rows[i] * p, p, out.mask.data<float>() + i * p);
    out.next.push_back(cache.next[static_cast<size_t>(rows[i])]);
  }
  return out;
}

SelfCache WhisperModel::EmptyCache(const WhisperModelInfo& info, int64_t batch) {
  std::vector<int64_t> shape{info.n_text_layer, batch, 0, info.n_text_state};
  return SelfCache{ort::Tensor(ort::ElementType::kFloat32, shape), ort::Tensor(ort::ElementType::kFloat32, shape),
                   ort::Tensor(ort::ElementType::kFloat32, {batch, 0}), std::vector<int64_t>(batch, 0)};
}

SelfCache WhisperModel::Stack(const std::vector<const SelfCache*>& rows) {
  ECHOIC_CHECK(!rows.empty(), ErrorCode::kInternal, "whisper: stacking no caches");
  int64_t p = 0;
  for (const SelfCache* c : rows) {
    ECHOIC_CHECK(c->batch() == 1, ErrorCode::kInternal, "whisper: stacking a cache of ", c->batch(), " rows");
    p = std::max(p, c->positions());
  }
  const auto& sh = rows[0]->k.shape();
  const int64_t layers = sh[0], d = sh[3], b = static_cast<int64_t>(rows.size());
  SelfCache out{ort::Tensor(ort::ElementType::kFloat32, {layers, b, p, d}),
                ort::Tensor(ort::ElementType::kFloat32, {layers, b, p, d}),
                ort::Tensor(ort::ElementType::kFloat32, {b, p}),
                {}};
  std::fill_n(out.mask.data<float>(), b * p, -1e9f);  // padding until a row's own slots are copied
  for (int64_t i = 0; i < b; ++i) {
    const SelfCache& c = *rows[static_cast<size_t>(i)];
    const int64_t n = c.positions();
    for (int64_t l = 0; l < layers; ++l) {
      std::copy_n(c.k.data<float>() + l * n * d, n * d, out.k.data<float>() + (l * b + i) * p * d);
      std::copy_n(c.v.data<float>() + l * n * d, n * d, out.v.data<float>() + (l * b + i) * p * d);
    }
    std::copy_n(c.mask.data<float>(), n, out.mask.data<float>() + i * p);
    out.next.push_back(c.next[0]);
  }
  return out;
}

DecoderOutput WhisperModel::Step(const std::vector<int64_t>& tokens, int64_t batch, SelfCache* cache,
                                 const CrossCache& cross, bool want_alignment) const {
  ECHOIC_CHECK(batch > 0 && !tokens.empty() && tokens.size() % batch == 0, ErrorCode::kInvalidArgument,
               "whisper decoder: ", tokens.size(), " tokens do not split into a batch of ", batch);
  const int64_t t = static_cast<int64_t>(tokens.size()) / batch;
  ECHOIC_CHECK(cross.batch() == 1 || cross.batch() == batch, ErrorCode::kInvalidArgument,
               "whisper decoder: ", cross.batch(), " cross-attention rows for a batch of ", batch);
  ECHOIC_CHECK(cache->positions() + t <= info_.n_text_ctx, ErrorCode::kInvalidArgument,
               "whisper decoder: ", cache->positions() + t, " positions exceed the model's text context of ",
               info_.n_text_ctx);
  ort::Tensor tok(ort::ElementType::kInt64, {batch, t});
  std::memcpy(tok.data<int64_t>(), tokens.data(), tokens.size() * sizeof(int64_t));
  ECHOIC_CHECK(cache->batch() == batch, ErrorCode::kInternal, "whisper decoder: cache of ", cache->batch(),
               " rows for a batch of ", batch);
  ort::Tensor offset(ort::ElementType::kInt64, {batch});
  std::copy(cache->next.begin(), cache->next.end(), offset.data<int64_t>());
  std::vector<std::string> outs{"logits", "self_k_out", "self_v_out"};
  if (want_alignment) outs.push_back("alignment");
  auto out = decoder_->Run({"tokens", "offset", "self_k_in", "self_v_in", "self_mask", "cross_k", "cross_v"},
                           {&tok, &offset, &cache->k, &cache->v, &cache->mask, &cross.k, &cross.v}, outs);
  DecoderOutput r;
  r.logits.assign(out[0].data<float>(), out[0].data<float>() + out[0].numel());
  ECHOIC_CHECK(r.logits.size() == static_cast<size_t>(batch * info_.n_vocab), ErrorCode::kModel, "model '",
               decoder_->name(), "': logits ", out[0].ShapeString(), " are not [batch, n_vocab]");
  cache->k = std::move(out[1]);
  cache->v = std::move(out[2]);
  // The new tokens' slots are real for every row.
  const int64_t p = cache->mask.shape()[1];
  ort::Tensor mask(ort::ElementType::kFloat32, {batch, p + t});  // zero-filled
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(cache->mask.data<float>() + b * p, p, mask.data<float>() + b * (p + t));
  cache->mask = std::move(mask);
  for (auto& n : cache->next) n += t;
  if (want_alignment) r.alignment.assign(out[3].data<float>(), out[3].data<float>() + out[3].numel());
  return r;
}

}  // namespace echoic::whisper
