#include "echoic/vad/silero_vad.h"

#include <algorithm>
#include <cstring>

#include "echoic/runtime/error.h"

namespace echoic::vad {

namespace {
using ort::ElementType;
using ort::TensorInfo;

size_t WindowFor(int32_t rate) { return rate == 8000 ? 256 : 512; }

const TensorInfo* FindTensor(const std::vector<TensorInfo>& list, const std::string& name) {
  for (const auto& t : list)
    if (t.name == name) return &t;
  return nullptr;
}

void Expect(const ort::Session& s, const std::vector<TensorInfo>& list, const char* kind, const std::string& name,
            ElementType type, size_t rank, std::vector<int64_t> fixed = {}) {
  const TensorInfo* t = FindTensor(list, name);
  ECHOIC_CHECK(t, ErrorCode::kModel, s.name(), ": not a Silero VAD v5/v6 model: no ", kind, " '", name,
               "' (silero v4 and older, with h/c inputs, are not supported)");
  ECHOIC_CHECK(t->type == type, ErrorCode::kModel, s.name(), ": Silero VAD ", kind, " '", name, "' is ",
               ort::ElementTypeName(t->type), ", expected ", ort::ElementTypeName(type));
  ECHOIC_CHECK(t->shape.size() == rank, ErrorCode::kModel, s.name(), ": Silero VAD ", kind, " '", name, "' has shape ",
               ort::ShapeString(t->shape), ", expected rank ", rank);
  for (size_t i = 0; i < fixed.size() && i < rank; ++i)
    ECHOIC_CHECK(fixed[i] < 0 || t->shape[i] < 0 || t->shape[i] == fixed[i], ErrorCode::kModel, s.name(),
                 ": Silero VAD ", kind, " '", name, "' has shape ", ort::ShapeString(t->shape), ", expected ",
                 ort::ShapeString(fixed));
}
}  // namespace

void SileroVad::CheckContract(const ort::Session& s) {
  Expect(s, s.inputs(), "input", "input", ElementType::kFloat32, 2);
  Expect(s, s.inputs(), "input", "state", ElementType::kFloat32, 3, {2, -1, 128});
  Expect(s, s.inputs(), "input", "sr", ElementType::kInt64, 0);
  ECHOIC_CHECK(s.inputs().size() == 3, ErrorCode::kModel, s.name(), ": Silero VAD has ", s.inputs().size(),
               " inputs, expected 3 (input, state, sr)");
  Expect(s, s.outputs(), "output", "output", ElementType::kFloat32, 2, {-1, 1});
  const TensorInfo* st = FindTensor(s.outputs(), "stateN");
  ECHOIC_CHECK(st && st->type == ElementType::kFloat32, ErrorCode::kModel, s.name(),
               ": not a Silero VAD v5/v6 model: no float output 'stateN'");
}

std::unique_ptr<SileroVad> SileroVad::FromFile(const std::string& path, const SileroVadOptions& opts) {
  return std::make_unique<SileroVad>(ort::Session::FromFile(path, opts.session), opts);
}

SileroVad::SileroVad(std::shared_ptr<const ort::Session> session, const SileroVadOptions& opts)
    : FramedVad("SileroVad", opts.sample_rate, WindowFor(opts.sample_rate), opts.smoothing),
      session_(std::move(session)),
      opts_(opts),
      context_(opts.sample_rate == 8000 ? 32 : 64),
      input_(ElementType::kFloat32, {1, static_cast<int64_t>(WindowFor(opts.sample_rate) + context_)}),
      state_(ElementType::kFloat32, {2, 1, 128}),
      sr_(ElementType::kInt64, {}) {
  ECHOIC_CHECK(opts.sample_rate == 16000 || opts.sample_rate == 8000, ErrorCode::kInvalidArgument,
               "SileroVad: sample rate must be 16000 or 8000, got ", opts.sample_rate);
  ECHOIC_CHECK(session_, ErrorCode::kInvalidArgument, "SileroVad: null session");
  CheckContract(*session_);
  sr_.data<int64_t>()[0] = opts.sample_rate;
}

std::unique_ptr<VoiceActivityDetector> SileroVad::Clone() const {
  return std::make_unique<SileroVad>(session_, opts_);  // zero state and context, same session
}

float SileroVad::ScoreFrame(const float* frame) {
  float* in = input_.data<float>();
  const size_t window = frame_samples();
  // input_ = [context (last samples of the previous window) | this window]
  std::memcpy(in + context_, frame, window * sizeof(float));
  auto out = session_->Run({"input", "state", "sr"}, {&input_, &state_, &sr_}, {"output", "stateN"});
  ECHOIC_CHECK(out[0].numel() >= 1 && out[1].numel() == state_.numel(), ErrorCode::kModel, session_->name(),
               ": Silero VAD returned output ", out[0].ShapeString(), " and stateN ", out[1].ShapeString(),
               ", expected [1, 1] and [2, 1, 128]");
  std::memcpy(state_.raw(), out[1].raw(), state_.nbytes());
  std::memmove(in, in + window, context_ * sizeof(float));  // keep the last context_ samples
  float p = out[0].data<float>()[0];
  return std::clamp(p, 0.0f, 1.0f);
}

}  // namespace echoic::vad
