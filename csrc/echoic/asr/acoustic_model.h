// What the streaming recognizer needs from a model family (CTC encoder or
// transducer), so Stream and Recognizer need not know which one they drive.
#ifndef ECHOIC_ASR_ACOUSTIC_MODEL_H_
#define ECHOIC_ASR_ACOUSTIC_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace echoic::asr {

// Fields every family reads from its metadata.
struct AcousticModelInfo {
  AcousticModelInfo() = default;
  AcousticModelInfo(const AcousticModelInfo&) = default;
  AcousticModelInfo& operator=(const AcousticModelInfo&) = default;
  virtual ~AcousticModelInfo() = default;  // the family's own info is a subclass

  std::string family;       // "ctc" or "transducer"
  std::string name;         // metadata model_name, or the file path
  int32_t subsampling = 0;  // feature frames per encoder frame
  int32_t vocab_size = 0;
  int32_t feature_dim = 80;
  int32_t sample_rate = 16000;
  int32_t blank_id = 0;
  float input_scale = 32768.f;  // samples in [-1,1] are multiplied by this before fbank
  // Mel band edges in Hz; high <= 0 is an offset from Nyquist. Defaults are
  // those of kaldi-native-fbank / sherpa-onnx.
  float fbank_low_freq = 20.f;
  float fbank_high_freq = -400.f;
  int32_t output_dim = 0;            // floats per encoder frame handed to the decoder
  int32_t chunk_feature_frames = 0;  // feature frames consumed per chunk
  int32_t shift_feature_frames = 0;  // feature frames the window moves per chunk

  int32_t chunk_frames() const { return chunk_feature_frames; }
  int32_t chunk_shift_frames() const { return shift_feature_frames; }
  float encoder_frame_seconds() const { return subsampling * 0.01f; }
};

// One stream's encoder state: fixed size, independent of utterance length.
class ModelState {
 public:
  virtual ~ModelState() = default;
  virtual size_t Bytes() const = 0;
};

class AcousticModel {
 public:
  virtual ~AcousticModel() = default;
  // Families return their own info type (covariant), e.g. StreamingCtcModelInfo.
  virtual const AcousticModelInfo& info() const = 0;
  virtual std::unique_ptr<ModelState> NewState() const = 0;
  // Runs one chunk per stream (features[b]: chunk_frames() x feature_dim floats),
  // batching streams where the model allows. out[b] receives frames x
  // output_dim floats: log-probs (CTC) or encoder output (transducer). Thread-safe.
  virtual void Run(const std::vector<const float*>& features, const std::vector<ModelState*>& states,
                   std::vector<std::vector<float>>* out) const = 0;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_ACOUSTIC_MODEL_H_
