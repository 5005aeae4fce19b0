#include "echoic/audio/samples.h"

#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::audio {

void ValidateSamples(const float* samples, size_t n, const std::string& context, float max_abs) {
  if (n == 0) return;
  ECHOIC_CHECK(samples != nullptr, ErrorCode::kInvalidArgument, context, ": samples pointer is null (n=", n, ")");
  for (size_t i = 0; i < n; ++i) {
    const float x = samples[i];
    if (!std::isfinite(x)) {
      Fail(ErrorCode::kInvalidArgument, context, ": sample ", i, " of ", n, " is ", std::isnan(x) ? "NaN" : "Inf",
           "; audio must be finite");
    }
    if (std::fabs(x) > max_abs) {
      Fail(ErrorCode::kInvalidArgument, context, ": sample ", i, " of ", n, " is ", x,
           "; samples must be in [-1, 1] (divide int16 audio by 32768)");
    }
  }
}

std::vector<float> Int16ToFloat(const int16_t* samples, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(samples[i]) * (1.0f / 32768.0f);
  return out;
}

std::vector<float> Int32ToFloat(const int32_t* samples, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(samples[i]) * (1.0 / 2147483648.0));
  return out;
}

std::vector<float> Uint8ToFloat(const uint8_t* samples, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = (static_cast<float>(samples[i]) - 128.0f) * (1.0f / 128.0f);
  return out;
}

std::vector<float> Float64ToFloat(const double* samples, size_t n, const std::string& context) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(samples[i])) {
      Fail(ErrorCode::kInvalidArgument, context, ": sample ", i, " of ", n, " is ",
           std::isnan(samples[i]) ? "NaN" : "Inf", "; audio must be finite");
    }
  }
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(samples[i]);
  return out;
}

std::vector<float> DownmixInterleaved(const float* samples, size_t frames, int channels) {
  ECHOIC_CHECK(channels >= 1, ErrorCode::kInvalidArgument, "downmix: channels must be >= 1, got ", channels);
  std::vector<float> out(frames);
  const float scale = 1.0f / static_cast<float>(channels);
  for (size_t f = 0; f < frames; ++f) {
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) sum += samples[f * channels + c];
    out[f] = sum * scale;
  }
  return out;
}

std::vector<float> SelectChannel(const float* samples, size_t frames, int channels, int channel) {
  ECHOIC_CHECK(channels >= 1 && channel >= 0 && channel < channels, ErrorCode::kInvalidArgument,
               "select channel: channel ", channel, " out of range for ", channels, " channel(s)");
  std::vector<float> out(frames);
  for (size_t f = 0; f < frames; ++f) out[f] = samples[f * channels + channel];
  return out;
}

void ValidateSampleRate(int64_t rate, const std::string& context) {
  ECHOIC_CHECK(rate >= kMinSampleRate && rate <= kMaxSampleRate, ErrorCode::kInvalidArgument, context, ": sample rate ",
               rate, " Hz is outside the supported range ", kMinSampleRate, "..", kMaxSampleRate, " Hz");
}

}  // namespace echoic::audio
