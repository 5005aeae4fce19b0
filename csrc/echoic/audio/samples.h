// Sample validation and conversion shared by every streaming API. Audio is
// validated once, where it enters the core (Stream, AdaptiveStream, the keyword
// spotter) or a binding's direct use of a component (fbank, resampler, VAD), and
// before any state changes, so a bad chunk is never half-processed. Components
// inside (OnlineFbank, Resampler, the VADs) take validated samples.
#ifndef ECHOIC_AUDIO_SAMPLES_H_
#define ECHOIC_AUDIO_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace echoic::audio {

// Voice activity detectors need samples near [-1, 1]; int16-scaled audio passed as
// float is the usual mistake this catches.
constexpr float kMaxAbsSample = 1.5f;
constexpr float kAnyAmplitude = 3.0e38f;

// Throws kInvalidArgument naming `context` and the first bad index: NaN/Inf, or
// |x| > max_abs. `samples` may be null only when n == 0.
void ValidateSamples(const float* samples, size_t n, const std::string& context, float max_abs = kAnyAmplitude);

// Integer PCM to float in [-1, 1): int16 / 32768, int32 / 2^31, uint8 (WAV
// 8-bit, offset binary) (x - 128) / 128.
std::vector<float> Int16ToFloat(const int16_t* samples, size_t n);
std::vector<float> Int32ToFloat(const int32_t* samples, size_t n);
std::vector<float> Uint8ToFloat(const uint8_t* samples, size_t n);
// float64 to float32; NaN/Inf rejected (named by index) before converting.
std::vector<float> Float64ToFloat(const double* samples, size_t n, const std::string& context);

// Interleaved (frames x channels) to mono by averaging the channels.
std::vector<float> DownmixInterleaved(const float* samples, size_t frames, int channels);
// Keeps one channel of an interleaved buffer.
std::vector<float> SelectChannel(const float* samples, size_t frames, int channels, int channel);

// Sample rates echoic accepts anywhere (Hz).
constexpr int kMinSampleRate = 8000;
constexpr int kMaxSampleRate = 192000;
// Throws kInvalidArgument unless kMinSampleRate <= rate <= kMaxSampleRate.
void ValidateSampleRate(int64_t rate, const std::string& context);

}  // namespace echoic::audio

#endif  // ECHOIC_AUDIO_SAMPLES_H_
