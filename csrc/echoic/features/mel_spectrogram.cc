#include "echoic/features/mel_spectrogram.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {

constexpr double kPi = 3.14159265358979323846;

double HzToMel(double hz, bool htk) {
  if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  // Slaney: linear below 1 kHz, logarithmic above (librosa's default).
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return hz >= min_log_hz ? min_log_mel + std::log(hz / min_log_hz) / logstep : hz / f_sp;
}

double MelToHz(double mel, bool htk) {
  if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return mel >= min_log_mel ? min_log_hz * std::exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

bool IsPowerOfTwo(int v) { return v >= 2 && (v & (v - 1)) == 0; }

}  // namespace

void MelSpectrogramOptions::Validate() const {
  auto bad = [](const char* field, auto value, const char* want) {
    Fail(ErrorCode::kInvalidArgument, "MelSpectrogramOptions.", field, " = ", value, ": ", want);
  };
  if (sample_rate < 1000 || sample_rate > 384000) bad("sample_rate", sample_rate, "must be in [1000, 384000]");
  if (!IsPowerOfTwo(n_fft)) bad("n_fft", n_fft, "must be a power of two >= 2");
  if (win_length < 1 || win_length > n_fft) bad("win_length", win_length, "must be in [1, n_fft]");
  if (hop_length < 1) bad("hop_length", hop_length, "must be >= 1");
  if (n_mels < 1 || n_mels > n_fft / 2 + 1) bad("n_mels", n_mels, "must be in [1, n_fft/2+1]");
  const double nyq = sample_rate / 2.0;
  const double hi = fmax > 0 ? fmax : nyq;
  if (!(fmin >= 0) || !(hi <= nyq) || !(fmin < hi)) bad("fmin/fmax", fmin, "need 0 <= fmin < fmax <= sample_rate/2");
  if (window != "hamming" && window != "hann") bad("window", window, "must be hamming or hann");
  if (mel_scale != "slaney" && mel_scale != "htk") bad("mel_scale", mel_scale, "must be slaney or htk");
  if (!(power > 0) || !std::isfinite(power)) bad("power", power, "must be > 0");
  if (log != "log10" && log != "ln" && log != "none") bad("log", log, "must be log10, ln or none");
  if (log != "none" && !(log_floor > 0)) bad("log_floor", log_floor, "must be > 0 when a log is taken");
}

std::string MelSpectrogramOptions::ToString() const {
  std::ostringstream os;
  os << "MelSpectrogramOptions(sample_rate=" << sample_rate << ", n_fft=" << n_fft << ", win_length=" << win_length
     << ", hop_length=" << hop_length << ", n_mels=" << n_mels << ", fmin=" << fmin << ", fmax=" << fmax
     << ", window=" << window << ", mel_scale=" << mel_scale << ", slaney_norm=" << slaney_norm << ", power=" << power
     << ", log=" << log << ", log_floor=" << log_floor << ", center=" << center << ")";
  return os.str();
}

MelSpectrogram::MelSpectrogram(const MelSpectrogramOptions& opts) : opts_((opts.Validate(), opts)) {
  const int n_fft = opts_.n_fft, win = opts_.win_length, nfreq = n_fft / 2 + 1;
  window_.assign(n_fft, 0.0);
  const int lpad = (n_fft - win) / 2;
  for (int i = 0; i < win; ++i) {
    const double c = std::cos(2.0 * kPi * i / win);  // periodic: period = win_length
    window_[lpad + i] = opts_.window == "hamming" ? 0.54 - 0.46 * c : 0.5 - 0.5 * c;
  }
  const bool htk = opts_.mel_scale == "htk";
  const double fmax = opts_.fmax > 0 ? opts_.fmax : opts_.sample_rate / 2.0;
  const int nm = opts_.n_mels;
  std::vector<double> mel_f(nm + 2);
  const double lo_mel = HzToMel(opts_.fmin, htk), hi_mel = HzToMel(fmax, htk);
  for (int i = 0; i < nm + 2; ++i) mel_f[i] = MelToHz(lo_mel + (hi_mel - lo_mel) * i / (nm + 1), htk);
  filters_.assign(static_cast<size_t>(nm) * nfreq, 0.f);
  first_.assign(nm, nfreq);
  last_.assign(nm, 0);
  for (int m = 0; m < nm; ++m) {
    const double enorm = opts_.slaney_norm ? 2.0 / (mel_f[m + 2] - mel_f[m]) : 1.0;
    for (int k = 0; k < nfreq; ++k) {
      const double f = static_cast<double>(opts_.sample_rate) * k / n_fft;
      const double lower = (f - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
      const double upper = (mel_f[m + 2] - f) / (mel_f[m + 2] - mel_f[m + 1]);
      const double w = std::max(0.0, std::min(lower, upper)) * enorm;
      if (w > 0) {
        filters_[static_cast<size_t>(m) * nfreq + k] = static_cast<float>(w);
        first_[m] = std::min(first_[m], k);
        last_[m] = k + 1;
      }
    }
  }
}

int32_t MelSpectrogram::NumFrames(size_t num_samples) const {
  size_t n = num_samples + (opts_.center ? static_cast<size_t>(opts_.n_fft) : 0);
  if (n < static_cast<size_t>(opts_.n_fft)) return 1;  // zero-padded to one frame
  return static_cast<int32_t>(1 + (n - opts_.n_fft) / opts_.hop_length);
}

FbankMatrix MelSpectrogram::Compute(const float* samples, size_t n) const {
  ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "MelSpectrogram: null samples");
  for (size_t i = 0; i < n; ++i) {
    ECHOIC_CHECK(std::isfinite(samples[i]), ErrorCode::kInvalidArgument, "MelSpectrogram: sample ", i,
                 " is not finite");
  }
  const int n_fft = opts_.n_fft, nfreq = n_fft / 2 + 1, nm = opts_.n_mels;
  // Signal view with optional reflect padding (librosa center=True).
  const int64_t pad = opts_.center ? n_fft / 2 : 0;
  auto at = [&](int64_t i) -> double {
    int64_t j = i - pad;
    if (n == 0) return 0.0;
    if (pad > 0 && n > 1) {
      const int64_t len = static_cast<int64_t>(n);
      while (j < 0 || j >= len) j = j < 0 ? -j : 2 * (len - 1) - j;
    }
    return (j >= 0 && j < static_cast<int64_t>(n)) ? samples[j] : 0.0;
  };
  FbankMatrix out;
  out.num_frames = NumFrames(n);
  out.dim = nm;
  out.data.resize(static_cast<size_t>(out.num_frames) * nm);
  RealFft fft(n_fft);
  std::vector<double> frame(n_fft);
  std::vector<std::complex<double>> bins(nfreq);
  std::vector<double> spec(nfreq);
  for (int32_t t = 0; t < out.num_frames; ++t) {
    const int64_t start = static_cast<int64_t>(t) * opts_.hop_length;
    for (int i = 0; i < n_fft; ++i) frame[i] = window_[i] == 0.0 ? 0.0 : at(start + i) * window_[i];
    fft.Forward(frame.data(), bins.data());
    for (int k = 0; k < nfreq; ++k) {
      const double p = std::norm(bins[k]);
      spec[k] = opts_.power == 2.0f ? p : std::pow(p, opts_.power / 2.0);
    }
    float* row = &out.data[static_cast<size_t>(t) * nm];
    for (int m = 0; m < nm; ++m) {
      const float* w = &filters_[static_cast<size_t>(m) * nfreq];
      double acc = 0;
      for (int k = first_[m]; k < last_[m]; ++k) acc += w[k] * spec[k];
      if (opts_.log == "log10")
        acc = std::log10(acc + opts_.log_floor);
      else if (opts_.log == "ln")
        acc = std::log(acc + opts_.log_floor);
      row[m] = static_cast<float>(acc);
    }
  }
  return out;
}

}  // namespace echoic::features
