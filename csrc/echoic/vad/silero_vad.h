// Silero VAD v5/v6 (ONNX, MIT) run through echoic::ort::Session.
// Contract checked at load: inputs `input` float [B, N], `state` float [2, B, 128],
// `sr` int64 scalar; outputs `output` float [B, 1] (speech prob) and `stateN`.
// Like the official wrapper, each 512-sample window (256 at 8 kHz) is prefixed
// with the previous window's last 64 (32) samples, so the model sees 576 (288).
#ifndef ECHOIC_VAD_SILERO_VAD_H_
#define ECHOIC_VAD_SILERO_VAD_H_

#include <memory>
#include <string>
#include <vector>

#include "echoic/ort/session.h"
#include "echoic/ort/tensor.h"
#include "echoic/vad/framed_vad.h"

namespace echoic::vad {

struct SileroVadOptions {
  int32_t sample_rate = 16000;  // 16000 or 8000
  SmoothingOptions smoothing;   // threshold 0.5, min speech 250 ms, min silence 100 ms, pad 30 ms
  ort::SessionOptions session;  // one intra-op thread by default: the model is tiny
};

class SileroVad : public FramedVad {
 public:
  // kIo/kCorruptData from loading; kModel naming the file and tensor on a contract mismatch.
  static std::unique_ptr<SileroVad> FromFile(const std::string& path, const SileroVadOptions& opts = {});
  // Shares an already loaded session (validated here).
  SileroVad(std::shared_ptr<const ort::Session> session, const SileroVadOptions& opts);

  std::unique_ptr<VoiceActivityDetector> Clone() const override;
  const std::shared_ptr<const ort::Session>& session() const { return session_; }

 protected:
  float ScoreFrame(const float* frame) override;

 private:
  static void CheckContract(const ort::Session& s);

  std::shared_ptr<const ort::Session> session_;
  SileroVadOptions opts_;
  size_t context_;
  ort::Tensor input_, state_, sr_;
};

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_SILERO_VAD_H_
