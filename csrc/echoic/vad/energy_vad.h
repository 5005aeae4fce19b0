// A dependency-free fallback VAD: frame energy against an adaptive noise floor.
//
// Each frame's level (dBFS) is compared with a noise floor that follows quiet
// frames down at once and creeps up slowly (floor_rise_db_per_s), so it tracks
// slowly changing stationary noise. The speech probability is a logistic of the
// level above the floor (0.5 at snr_db). Limits: any loud sound counts as speech
// (music, door slams, TV, babble); it cannot separate speech from non-stationary
// noise, needs a little non-speech to learn the floor, and misses very quiet
// speech near the floor. Use Silero where a model can be shipped.
#ifndef ECHOIC_VAD_ENERGY_VAD_H_
#define ECHOIC_VAD_ENERGY_VAD_H_

#include <memory>

#include "echoic/vad/framed_vad.h"

namespace echoic::vad {

struct EnergyVadOptions {
  int32_t sample_rate = 16000;
  int frame_ms = 20;
  float snr_db = 10.0f;              // level above the floor where prob = 0.5
  float snr_slope_db = 2.0f;         // logistic width (dB)
  float floor_rise_db_per_s = 0.5f;  // how fast the floor follows louder noise
  float min_floor_db = -70.0f;       // digital silence must not make faint hiss "speech"
  float min_level_db = -55.0f;       // frames quieter than this are never speech
  SmoothingOptions smoothing;
};

class EnergyVad : public FramedVad {
 public:
  explicit EnergyVad(const EnergyVadOptions& opts = {});
  std::unique_ptr<VoiceActivityDetector> Clone() const override;
  float noise_floor_db() const { return floor_db_; }

 protected:
  float ScoreFrame(const float* frame) override;

 private:
  EnergyVadOptions opts_;
  bool have_floor_ = false;
  float floor_db_ = 0.0f;
};

}  // namespace echoic::vad

#endif  // ECHOIC_VAD_ENERGY_VAD_H_
