// A keyword-spotting network: ONNX session plus the metadata that drives the
// runtime (keywords, window/hop frames, front-end options, default thresholds).
// Contract: input "features" [batch, window_frames, num_bins] float32 (log-mel);
// output "probs" [batch, 1 + num_keywords], class 0 = filler.
#ifndef ECHOIC_KWS_KWS_MODEL_H_
#define ECHOIC_KWS_KWS_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "echoic/features/fbank_options.h"
#include "echoic/ort/session.h"

namespace echoic::kws {

struct KwsModelInfo {
  std::string name;
  std::vector<std::string> keywords;  // class i + 1
  int32_t window_frames = 0;
  int32_t hop_frames = 0;
  int32_t smoothing_hops = 1;
  float default_threshold = 0.5f;
  float default_refractory_s = 1.f;
  float input_scale = 32768.f;  // [-1, 1] audio is multiplied by this before the front-end
  features::FbankOptions fbank;
  int32_t num_classes() const { return static_cast<int32_t>(keywords.size()) + 1; }
};

class KwsModel {
 public:
  // kModel (naming the model and metadata key / tensor) if the contract is violated.
  static std::shared_ptr<KwsModel> FromFile(const std::string& path, const ort::SessionOptions& opts = {});
  explicit KwsModel(std::shared_ptr<ort::Session> session);

  const KwsModelInfo& info() const { return info_; }
  const ort::Session& session() const { return *session_; }
  // windows: batch * window_frames * num_bins floats; returns batch * num_classes posteriors.
  std::vector<float> Run(const float* windows, int32_t batch) const;

 private:
  std::shared_ptr<ort::Session> session_;
  KwsModelInfo info_;
};

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_KWS_MODEL_H_
