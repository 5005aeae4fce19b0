#include "echoic/whisper/alignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "echoic/runtime/error.h"

namespace echoic::whisper {

std::vector<int32_t> DtwTokenStarts(const float* cost, int32_t tokens, int32_t frames) {
  ECHOIC_CHECK(cost != nullptr && tokens > 0 && frames > 0, ErrorCode::kInvalidArgument, "DTW: empty cost matrix (",
               tokens, " x ", frames, ")");
  // Accumulated cost in float32 like openai's dtw_cpu; trace: 0 diagonal, 1 up, 2 left.
  const size_t W = static_cast<size_t>(frames) + 1;
  std::vector<float> acc((static_cast<size_t>(tokens) + 1) * W, std::numeric_limits<float>::infinity());
  std::vector<uint8_t> trace(acc.size(), 0);
  acc[0] = 0.0f;
  for (int32_t j = 1; j <= frames; ++j) {
    for (int32_t i = 1; i <= tokens; ++i) {
      const float c0 = acc[(i - 1) * W + j - 1], c1 = acc[(i - 1) * W + j], c2 = acc[i * W + j - 1];
      float c;
      uint8_t t;
      // Same strict comparisons as openai: ties fall through to "left" (time step).
      if (c0 < c1 && c0 < c2)
        c = c0, t = 0;
      else if (c1 < c0 && c1 < c2)
        c = c1, t = 1;
      else
        c = c2, t = 2;
      acc[i * W + j] = static_cast<float>(static_cast<double>(cost[(i - 1) * static_cast<size_t>(frames) + j - 1]) + c);
      trace[i * W + j] = t;
    }
  }
  // Backtrace from the corner; walking backwards, the last write per token is its first frame.
  std::vector<int32_t> start(tokens, 0);
  int32_t i = tokens, j = frames;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0) start[i - 1] = j - 1;
    const uint8_t t = i == 0 ? 2 : j == 0 ? 1 : trace[i * W + j];
    if (t == 0)
      --i, --j;
    else if (t == 1)
      --i;
    else
      --j;
  }
  return start;
}

std::vector<TokenSpan> AlignTokens(const float* attention, int32_t heads, int32_t tokens, int32_t frames,
                                   float frame_seconds, int32_t median_width) {
  ECHOIC_CHECK(attention != nullptr && heads > 0 && tokens > 0 && frames > 0, ErrorCode::kInvalidArgument,
               "AlignTokens: empty attention (", heads, " heads x ", tokens, " tokens x ", frames, " frames)");
  ECHOIC_CHECK(median_width >= 1 && median_width % 2 == 1, ErrorCode::kInvalidArgument,
               "AlignTokens: median_width must be odd and >= 1, got ", median_width);
  ECHOIC_CHECK(std::isfinite(frame_seconds) && frame_seconds > 0, ErrorCode::kInvalidArgument,
               "AlignTokens: bad frame_seconds ", frame_seconds);
  const size_t plane = static_cast<size_t>(tokens) * frames;
  for (size_t i = 0; i < plane * heads; ++i)
    ECHOIC_CHECK(std::isfinite(attention[i]), ErrorCode::kInvalidArgument, "AlignTokens: attention value ", i,
                 " is not finite");
  const int32_t pad = median_width / 2;
  std::vector<float> mean(plane, 0.0f), z(plane), row(frames + 2 * pad), window(median_width);
  for (int32_t h = 0; h < heads; ++h) {
    const float* w = attention + h * plane;
    // Standardize each frame over the tokens (population std). A constant column
    // (e.g. a single token) would divide by zero in openai; it carries no
    // information, so it becomes 0.
    for (int32_t f = 0; f < frames; ++f) {
      double s = 0, s2 = 0;
      for (int32_t k = 0; k < tokens; ++k) s += w[k * static_cast<size_t>(frames) + f];
      const double mu = s / tokens;
      for (int32_t k = 0; k < tokens; ++k) {
        const double d = w[k * static_cast<size_t>(frames) + f] - mu;
        s2 += d * d;
      }
      const double sd = std::sqrt(s2 / tokens);
      for (int32_t k = 0; k < tokens; ++k) {
        const size_t idx = k * static_cast<size_t>(frames) + f;
        z[idx] = sd > 0 ? static_cast<float>((w[idx] - mu) / sd) : 0.0f;
      }
    }
    // Median filter along time with mirror ('reflect', edge not repeated) padding;
    // like openai, rows too short to pad are left unfiltered.
    for (int32_t k = 0; k < tokens; ++k) {
      const float* zr = z.data() + k * static_cast<size_t>(frames);
      float* out = mean.data() + k * static_cast<size_t>(frames);
      if (median_width == 1 || frames <= pad) {
        for (int32_t f = 0; f < frames; ++f) out[f] += zr[f] / heads;
        continue;
      }
      for (int32_t f = -pad; f < frames + pad; ++f)
        row[f + pad] = zr[f < 0 ? -f : f >= frames ? 2 * (frames - 1) - f : f];
      for (int32_t f = 0; f < frames; ++f) {
        std::copy(row.begin() + f, row.begin() + f + median_width, window.begin());
        std::nth_element(window.begin(), window.begin() + pad, window.end());
        out[f] += window[pad] / heads;
      }
    }
  }
  for (float& v : mean) v = -v;  // DTW minimizes cost: high attention = low cost
  std::vector<int32_t> start = DtwTokenStarts(mean.data(), tokens, frames);
  std::vector<TokenSpan> spans(tokens);
  for (int32_t k = 0; k < tokens; ++k) {
    spans[k].start = start[k] * frame_seconds;
    spans[k].end = (k + 1 < tokens ? start[k + 1] : frames) * frame_seconds;
  }
  return spans;
}

}  // namespace echoic::whisper
