#include "echoic/features/whisper_log_mel.h"

#include <algorithm>
#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int32_t kHalf = WhisperLogMel::kNfft / 2;  // 200-point complex FFT
constexpr int32_t kBins = kHalf + 1;
constexpr int32_t kRadix[] = {4, 2, 5, 5};  // 200 = 4*2*5*5

// The 200-point complex FFT runs on kLanes frames at once, stored lane-minor
// (value i of frame l at [i * kLanes + l]) so every butterfly loop vectorizes.
constexpr int kLanes = 8;
using Real = double;  // float loses ~1e-3 after the log near the -80 dB clamp floor
struct Block {
  alignas(64) Real re[kHalf * kLanes];
  alignas(64) Real im[kHalf * kLanes];
};

// In-place mixed-radix decimation in time. The input must already be in digit-reversed
// order (`perm`); stage s combines p sub-transforms of length m into ones of p*m.
void Fft200(Block& b, const double* tw) {
  static const Real c1 = std::cos(2 * kPi / 5), c2 = std::cos(4 * kPi / 5);
  static const Real s1 = std::sin(2 * kPi / 5), s2 = std::sin(4 * kPi / 5);
  int xs = kHalf;
  for (int level = 3; level >= 0; --level) {
    const int p = kRadix[level];
    xs /= p;
    const int len = kHalf / xs, m = len / p;
    for (int base = 0; base < kHalf; base += len) {
      for (int k = 0; k < m; ++k) {
        // Work on local copies: the compiler cannot prove the p rows do not alias.
        Real tr[5][kLanes], ti[5][kLanes];
        for (int r = 0; r < p; ++r) {
          const Real* sr = b.re + (base + r * m + k) * kLanes;
          const Real* si = b.im + (base + r * m + k) * kLanes;
          const Real wr = tw[2 * (r * k * xs)], wi = tw[2 * (r * k * xs) + 1];  // exp(-2 pi i r k / len)
          for (int l = 0; l < kLanes; ++l) {
            tr[r][l] = sr[l] * wr - si[l] * wi;
            ti[r][l] = sr[l] * wi + si[l] * wr;
          }
        }
        Real yr[5][kLanes], yi[5][kLanes];
        if (p == 2) {
          for (int l = 0; l < kLanes; ++l) {
            yr[0][l] = tr[0][l] + tr[1][l], yi[0][l] = ti[0][l] + ti[1][l];
            yr[1][l] = tr[0][l] - tr[1][l], yi[1][l] = ti[0][l] - ti[1][l];
          }
        } else if (p == 4) {
          for (int l = 0; l < kLanes; ++l) {
            const Real ar = tr[0][l] + tr[2][l], ai = ti[0][l] + ti[2][l];
            const Real br = tr[0][l] - tr[2][l], bi = ti[0][l] - ti[2][l];
            const Real cr = tr[1][l] + tr[3][l], ci = ti[1][l] + ti[3][l];
            const Real dr = ti[1][l] - ti[3][l], di = tr[3][l] - tr[1][l];  // -i (t1 - t3)
            yr[0][l] = ar + cr, yi[0][l] = ai + ci;
            yr[1][l] = br + dr, yi[1][l] = bi + di;
            yr[2][l] = ar - cr, yi[2][l] = ai - ci;
            yr[3][l] = br - dr, yi[3][l] = bi - di;
          }
        } else {  // p == 5, using the conjugate symmetry of the 5th roots
          for (int l = 0; l < kLanes; ++l) {
            const Real t0r = tr[0][l], t0i = ti[0][l];
            const Real ar = tr[1][l] + tr[4][l], ai = ti[1][l] + ti[4][l];
            const Real br = tr[1][l] - tr[4][l], bi = ti[1][l] - ti[4][l];
            const Real cr = tr[2][l] + tr[3][l], ci = ti[2][l] + ti[3][l];
            const Real dr = tr[2][l] - tr[3][l], di = ti[2][l] - ti[3][l];
            const Real r1r = t0r + c1 * ar + c2 * cr, r1i = t0i + c1 * ai + c2 * ci;
            const Real r2r = t0r + c2 * ar + c1 * cr, r2i = t0i + c2 * ai + c1 * ci;
            // -i * (u + iv) = v - iu
            const Real i1r = s1 * bi + s2 * di, i1i = -(s1 * br + s2 * dr);
            const Real i2r = s2 * bi - s1 * di, i2i = -(s2 * br - s1 * dr);
            yr[0][l] = t0r + ar + cr, yi[0][l] = t0i + ai + ci;
            yr[1][l] = r1r + i1r, yi[1][l] = r1i + i1i;
            yr[4][l] = r1r - i1r, yi[4][l] = r1i - i1i;
            yr[2][l] = r2r + i2r, yi[2][l] = r2i + i2i;
            yr[3][l] = r2r - i2r, yi[3][l] = r2i - i2i;
          }
        }
        for (int r = 0; r < p; ++r) {
          Real* dr = b.re + (base + r * m + k) * kLanes;
          Real* di = b.im + (base + r * m + k) * kLanes;
          for (int l = 0; l < kLanes; ++l) dr[l] = yr[r][l], di[l] = yi[r][l];
        }
      }
    }
  }
}

// Digit reversal for Fft200: position q of the reordered input holds sample perm[q].
void BuildPerm(int x, int xs, int y, int level, int32_t* perm) {
  const int p = kRadix[level], m = kHalf / xs / p;
  for (int r = 0; r < p; ++r) {
    if (m == 1)
      perm[y + r] = x + r * xs;
    else
      BuildPerm(x + r * xs, xs * p, y + r * m, level + 1, perm);
  }
}

// librosa's Slaney mel scale (htk=False): linear below 1 kHz, logarithmic above.
double HzToMel(double hz) {
  const double f_sp = 200.0 / 3, logstep = std::log(6.4) / 27.0;
  return hz < 1000.0 ? hz / f_sp : 15.0 + std::log(hz / 1000.0) / logstep;
}
double MelToHz(double mel) {
  const double f_sp = 200.0 / 3, logstep = std::log(6.4) / 27.0;
  return mel < 15.0 ? mel * f_sp : 1000.0 * std::exp(logstep * (mel - 15.0));
}

}  // namespace

WhisperLogMel::WhisperLogMel(int32_t n_mels) : n_mels_(n_mels) {
  ECHOIC_CHECK(n_mels == 80 || n_mels == 128, ErrorCode::kInvalidArgument,
               "WhisperLogMel: n_mels must be 80 or 128, got ", n_mels);
  window_.resize(kNfft);
  for (int i = 0; i < kNfft; ++i) {
    // Whisper uses a float32 window; round it the same way.
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2 * kPi * i / kNfft));
  }
  fft_twiddle_.resize(2 * kHalf);
  for (int k = 0; k < kHalf; ++k) {
    fft_twiddle_[2 * k] = std::cos(-2 * kPi * k / kHalf);
    fft_twiddle_[2 * k + 1] = std::sin(-2 * kPi * k / kHalf);
  }
  perm_.resize(kHalf);
  BuildPerm(0, 1, 0, 0, perm_.data());
  split_twiddle_.resize(2 * kBins);
  for (int k = 0; k < kBins; ++k) {
    split_twiddle_[2 * k] = std::cos(-2 * kPi * k / kNfft);
    split_twiddle_[2 * k + 1] = std::sin(-2 * kPi * k / kNfft);
  }
  // librosa.filters.mel(sr=16000, n_fft=400, n_mels): triangles between n_mels+2
  // points evenly spaced in mel over [0, 8000] Hz, area-normalized ('slaney'),
  // stored as float32. Only the non-zero run of each row is kept.
  std::vector<double> f(n_mels + 2);
  const double mel_max = HzToMel(kSampleRate / 2.0);
  for (int i = 0; i < n_mels + 2; ++i) f[i] = MelToHz(mel_max * i / (n_mels + 1));
  bands_.resize(n_mels);
  for (int m = 0; m < n_mels; ++m) {
    const double enorm = 2.0 / (f[m + 2] - f[m]);
    Band& band = bands_[m];
    band.first_bin = -1;
    for (int k = 0; k < kBins; ++k) {
      const double hz = k * static_cast<double>(kSampleRate) / kNfft;
      const double lower = (hz - f[m]) / (f[m + 1] - f[m]), upper = (f[m + 2] - hz) / (f[m + 2] - f[m + 1]);
      const float w = static_cast<float>(std::max(0.0, std::min(lower, upper)) * enorm);
      if (w == 0.0f) continue;
      if (band.first_bin < 0) band.first_bin = k;
      band.weights.resize(k - band.first_bin + 1, 0.0f);
      band.weights.back() = w;
    }
    if (band.first_bin < 0) band.first_bin = 0;  // empty band (not at 80/128 mels)
  }
}

std::vector<float> WhisperLogMel::DenseFilters() const {
  std::vector<float> dense(static_cast<size_t>(n_mels_) * kBins, 0.0f);
  for (int m = 0; m < n_mels_; ++m)
    std::copy(bands_[m].weights.begin(), bands_[m].weights.end(), dense.begin() + m * kBins + bands_[m].first_bin);
  return dense;
}

std::vector<float> WhisperLogMel::Compute(const float* samples, size_t n, int32_t num_frames) const {
  ECHOIC_CHECK(num_frames >= 0, ErrorCode::kInvalidArgument, "WhisperLogMel: negative num_frames ", num_frames);
  std::vector<float> out(static_cast<size_t>(n_mels_) * num_frames);
  Compute(samples, n, num_frames, out.data());
  return out;
}

void WhisperLogMel::Compute(const float* samples, size_t n, int32_t num_frames, float* out) const {
  ECHOIC_CHECK(num_frames >= 0, ErrorCode::kInvalidArgument, "WhisperLogMel: negative num_frames ", num_frames);
  ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "WhisperLogMel: null samples");
  ECHOIC_CHECK(out != nullptr || num_frames == 0, ErrorCode::kInvalidArgument, "WhisperLogMel: null output");
  if (num_frames == 0) return;
  // The signal Whisper sees: audio zero-padded/truncated to L samples, then reflected
  // by n_fft/2 at both ends (torch.stft center=True). ext[j] = signal[j - 200].
  const int64_t L = static_cast<int64_t>(num_frames) * kHop, pad = kNfft / 2;
  const int64_t used = std::min<int64_t>(L, static_cast<int64_t>(n));
  std::vector<float> ext(static_cast<size_t>(L + 2 * pad), 0.0f);
  for (int64_t i = 0; i < used; ++i) {
    ECHOIC_CHECK(std::isfinite(samples[i]), ErrorCode::kInvalidArgument, "WhisperLogMel: sample ", i, " is not finite");
    ext[pad + i] = samples[i];
  }
  auto reflect = [L](int64_t i) {  // numpy 'reflect' (edge not repeated), folded if needed
    while (i < 0 || i >= L) i = i < 0 ? -i : 2 * (L - 1) - i;
    return i;
  };
  for (int64_t j = 0; j < pad; ++j) {
    ext[j] = ext[pad + reflect(j - pad)];
    ext[pad + L + j] = ext[pad + reflect(L + j)];
  }

  Block block;
  alignas(64) float power[kBins * kLanes];
  float acc[kLanes];
  float max_log = -100.0f;
  for (int32_t t0 = 0; t0 < num_frames; t0 += kLanes) {
    const int lanes = std::min<int32_t>(kLanes, num_frames - t0);
    // Real 400-point FFT as a complex 200-point one on (even, odd) sample pairs.
    for (int q = 0; q < kHalf; ++q) {
      const int i = 2 * perm_[q];
      for (int l = 0; l < kLanes; ++l) {
        const float* f = ext.data() + static_cast<size_t>(t0 + (l < lanes ? l : 0)) * kHop;
        block.re[q * kLanes + l] = window_[i] * f[i];
        block.im[q * kLanes + l] = window_[i + 1] * f[i + 1];
      }
    }
    Fft200(block, fft_twiddle_.data());
    for (int k = 0; k < kBins; ++k) {
      const Real* ar = block.re + (k % kHalf) * kLanes;
      const Real* ai = block.im + (k % kHalf) * kLanes;
      const Real* br = block.re + ((kHalf - k) % kHalf) * kLanes;
      const Real* bi = block.im + ((kHalf - k) % kHalf) * kLanes;
      const Real wr = split_twiddle_[2 * k], wi = split_twiddle_[2 * k + 1];
      for (int l = 0; l < kLanes; ++l) {
        // X = (a + conj b)/2 + w (a - conj b)/(2i)
        const Real er = 0.5 * (ar[l] + br[l]), ei = 0.5 * (ai[l] - bi[l]);
        const Real orr = 0.5 * (ai[l] + bi[l]), oi = -0.5 * (ar[l] - br[l]);
        const Real xr = er + wr * orr - wi * oi, xi = ei + wr * oi + wi * orr;
        power[k * kLanes + l] = static_cast<float>(xr * xr + xi * xi);
      }
    }
    for (int m = 0; m < n_mels_; ++m) {
      const Band& band = bands_[m];
      for (int l = 0; l < kLanes; ++l) acc[l] = 0.0f;
      for (size_t k = 0; k < band.weights.size(); ++k) {
        const float w = band.weights[k];
        const float* p = power + (band.first_bin + k) * kLanes;
        for (int l = 0; l < kLanes; ++l) acc[l] += w * p[l];
      }
      float* row = out + static_cast<size_t>(m) * num_frames + t0;
      for (int l = 0; l < lanes; ++l) {
        row[l] = std::log10(std::max(acc[l], 1e-10f));
        max_log = std::max(max_log, row[l]);
      }
    }
  }
  const float floor = max_log - 8.0f;
  const size_t total = static_cast<size_t>(n_mels_) * num_frames;
  for (size_t i = 0; i < total; ++i) out[i] = (std::max(out[i], floor) + 4.0f) / 4.0f;
}

}  // namespace echoic::features
