#include "echoic/features/online_fbank.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "echoic/audio/samples.h"
#include "echoic/features/window.h"
#include "echoic/runtime/error.h"

namespace echoic::features {

namespace {

const FbankOptions& Checked(const FbankOptions& o) {
  o.Validate();
  return o;
}

// splitmix64: tiny, portable, and seeded per frame so dither does not depend on chunking.
uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double Uniform01(uint64_t& state) {  // in (0, 1]
  return (static_cast<double>(SplitMix(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

std::vector<float> MakeFloatWindow(const std::string& type, int32_t length) {
  std::vector<double> w = MakeWindow(type, length);
  return std::vector<float>(w.begin(), w.end());
}

// One frame's working buffers, per thread: a stream computes its frames on the thread that feeds
// it, and 100 streams no longer carry 100 copies (about 15 KB each).
struct FrameScratch {
  std::vector<float> frame, spectrum, mel_out;
  std::vector<double> buf;
  std::vector<std::complex<double>> bins;
};

FrameScratch& Scratch(int32_t frame_length, int32_t padded, int32_t num_bins) {
  thread_local FrameScratch s;
  if (s.frame.size() < static_cast<size_t>(frame_length)) s.frame.resize(frame_length);
  if (s.buf.size() < static_cast<size_t>(padded)) s.buf.resize(padded);
  if (s.bins.size() < static_cast<size_t>(padded / 2 + 1)) s.bins.resize(padded / 2 + 1);
  if (s.spectrum.size() < static_cast<size_t>(padded / 2 + 1)) s.spectrum.resize(padded / 2 + 1);
  if (s.mel_out.size() < static_cast<size_t>(num_bins)) s.mel_out.resize(num_bins);
  return s;
}

}  // namespace

OnlineFbank::Tables::Tables(const FbankOptions& o, int32_t frame_length, int32_t padded)
    : window(MakeFloatWindow(o.window_type, frame_length)),
      fft(padded),
      mel(o.num_bins, o.sample_rate, padded, o.low_freq, o.EffectiveHighFreq()) {}

std::shared_ptr<const OnlineFbank::Tables> OnlineFbank::SharedTables(const FbankOptions& o, int32_t frame_length,
                                                                     int32_t padded) {
  using Key = std::tuple<std::string, int32_t, int32_t, int32_t, int32_t, float, float>;
  static std::mutex mu;
  static std::map<Key, std::weak_ptr<const Tables>> cache;
  const Key key{o.window_type, frame_length, padded, o.num_bins, o.sample_rate, o.low_freq, o.EffectiveHighFreq()};
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<const Tables> t = cache[key].lock();
  if (!t) {
    t = std::make_shared<const Tables>(o, frame_length, padded);
    cache[key] = t;
  }
  return t;
}

OnlineFbank::OnlineFbank(const FbankOptions& options)
    : opts_(Checked(options)),
      frame_length_(opts_.FrameLengthSamples()),
      frame_shift_(opts_.FrameShiftSamples()),
      padded_(opts_.PaddedWindowSize()),
      tables_(SharedTables(opts_, frame_length_, padded_)),
      log_energy_floor_(opts_.energy_floor > 0 ? std::log(static_cast<double>(opts_.energy_floor)) : -1e300) {}

int64_t OnlineFbank::FirstSample(int64_t frame) const {
  if (opts_.snip_edges) return frame * frame_shift_;
  // Kaldi centres frame f on f*shift + shift/2.
  return frame * frame_shift_ + frame_shift_ / 2 - frame_length_ / 2;
}

int64_t OnlineFbank::TotalFrames(int64_t n, bool finished) const {
  if (opts_.snip_edges) return n < frame_length_ ? 0 : 1 + (n - frame_length_) / frame_shift_;
  int64_t total = (n + frame_shift_ / 2) / frame_shift_;
  if (finished) return total;
  // Before the end is known, only frames lying fully inside received audio.
  while (total > 0 && FirstSample(total - 1) + frame_length_ > n) --total;
  return total;
}

void OnlineFbank::AcceptWaveform(const float* samples, size_t n) {
  ECHOIC_CHECK(!finished_, ErrorCode::kState,
               "OnlineFbank.AcceptWaveform: called after InputFinished(); call Reset() to start a new stream");
  if (n == 0) return;
  wave_.insert(wave_.end(), samples, samples + n);
  num_samples_ += static_cast<int64_t>(n);
  ComputeReadyFrames();
}

void OnlineFbank::InputFinished() {
  if (finished_) return;
  finished_ = true;
  ComputeReadyFrames();
}

void OnlineFbank::ComputeReadyFrames() {
  int64_t target = TotalFrames(num_samples_, finished_);
  const int32_t dim = Dim();
  for (int64_t f = num_frames_; f < target; ++f) {
    std::vector<float> row(dim);
    ComputeFrame(f, row.data());
    frames_.push_back(std::move(row));
  }
  if (target > num_frames_) num_frames_ = target;
  // Keep the samples a later frame may touch; one extra frame length covers
  // the reflection at the end of the signal.
  int64_t keep_from = std::max<int64_t>(0, FirstSample(num_frames_) - frame_length_);
  if (keep_from > wave_offset_ + static_cast<int64_t>(wave_.size()) / 2 && keep_from > wave_offset_) {
    int64_t drop = std::min<int64_t>(keep_from - wave_offset_, static_cast<int64_t>(wave_.size()));
    wave_.erase(wave_.begin(), wave_.begin() + drop);
    wave_offset_ += drop;
  }
}

void OnlineFbank::ComputeFrame(int64_t frame, float* out) {
  // The time-domain steps run in float, in Kaldi's order: DC removal and
  // pre-emphasis are sensitive to rounding at the low mel bins, and matching
  // Kaldi's arithmetic keeps models trained on Kaldi features on-distribution.
  const int64_t n = num_samples_;
  const int64_t start = FirstSample(frame);
  FrameScratch& scratch = Scratch(frame_length_, padded_, opts_.num_bins);
  float* w = scratch.frame.data();
  for (int32_t i = 0; i < frame_length_; ++i) {
    int64_t s = start + i;
    // Kaldi reflects at both edges (only reached when snip_edges is false).
    while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
    w[i] = wave_[static_cast<size_t>(s - wave_offset_)];
  }
  if (opts_.dither > 0) {
    uint64_t state = (static_cast<uint64_t>(opts_.dither_seed) << 32) ^ static_cast<uint64_t>(frame);
    SplitMix(state);
    for (int32_t i = 0; i < frame_length_; ++i) {  // Box-Muller
      double r = std::sqrt(-2.0 * std::log(Uniform01(state)));
      double g = r * std::cos(2.0 * 3.14159265358979323846 * Uniform01(state));
      w[i] += static_cast<float>(g) * opts_.dither;
    }
  }
  if (opts_.remove_dc_offset) {
    float sum = 0.0f;
    for (int32_t i = 0; i < frame_length_; ++i) sum += w[i];
    float mean = sum / static_cast<float>(frame_length_);
    for (int32_t i = 0; i < frame_length_; ++i) w[i] -= mean;
  }
  auto log_energy = [&]() {
    float e = 0.0f;
    for (int32_t i = 0; i < frame_length_; ++i) e += w[i] * w[i];
    return static_cast<double>(std::log(std::max(e, FLT_EPSILON)));
  };
  double energy = 0.0;
  if (opts_.use_energy && opts_.raw_energy) energy = log_energy();
  if (opts_.preemph_coeff != 0.0f) {
    const float c = opts_.preemph_coeff;
    for (int32_t i = frame_length_ - 1; i > 0; --i) w[i] -= c * w[i - 1];
    w[0] -= c * w[0];
  }
  const float* window = tables_->window.data();
  for (int32_t i = 0; i < frame_length_; ++i) w[i] *= window[i];
  if (opts_.use_energy && !opts_.raw_energy) energy = log_energy();

  double* d = scratch.buf.data();
  for (int32_t i = 0; i < frame_length_; ++i) d[i] = w[i];
  std::fill(d + frame_length_, d + padded_, 0.0);
  std::complex<double>* bins = scratch.bins.data();
  float* spectrum = scratch.spectrum.data();
  tables_->fft.Forward(d, bins);
  for (int32_t k = 0; k <= padded_ / 2; ++k) {
    // Kaldi keeps the spectrum in float.
    float re = static_cast<float>(bins[k].real()), im = static_cast<float>(bins[k].imag());
    float p = re * re + im * im;
    spectrum[k] = opts_.use_power ? p : std::sqrt(p);
  }
  float* mel_out = scratch.mel_out.data();
  tables_->mel.Apply(spectrum, mel_out);
  int32_t offset = 0;
  if (opts_.use_energy) {
    out[0] = static_cast<float>(std::max(energy, log_energy_floor_));
    offset = 1;
  }
  for (int32_t b = 0; b < opts_.num_bins; ++b) {
    float v = mel_out[b];
    if (opts_.use_log_fbank) v = std::log(std::max(v, FLT_EPSILON));
    out[offset + b] = v;
  }
}

void OnlineFbank::GetFrames(int32_t start, int32_t n, float* out) const {
  ECHOIC_CHECK(n >= 0 && start >= 0, ErrorCode::kInvalidArgument, "OnlineFbank.GetFrames: start=", start, " and n=", n,
               " must be >= 0");
  ECHOIC_CHECK(static_cast<int64_t>(start) + n <= num_frames_, ErrorCode::kInvalidArgument,
               "OnlineFbank.GetFrames: frames [", start, ", ", static_cast<int64_t>(start) + n, ") requested but only ",
               num_frames_, " are ready");
  ECHOIC_CHECK(n == 0 || start >= frames_offset_, ErrorCode::kInvalidArgument, "OnlineFbank.GetFrames: frame ", start,
               " was discarded (first available is ", frames_offset_, ")");
  if (n > 0) ECHOIC_CHECK(out != nullptr, ErrorCode::kInvalidArgument, "OnlineFbank.GetFrames: out is null");
  const int32_t dim = Dim();
  for (int32_t i = 0; i < n; ++i) {
    const std::vector<float>& row = frames_[static_cast<size_t>(start + i - frames_offset_)];
    std::copy(row.begin(), row.end(), out + static_cast<size_t>(i) * dim);
  }
}

void OnlineFbank::DiscardFramesBefore(int32_t frame) {
  ECHOIC_CHECK(frame >= 0 && frame <= num_frames_, ErrorCode::kInvalidArgument,
               "OnlineFbank.DiscardFramesBefore: frame ", frame, " is outside [0, ", num_frames_, "]");
  while (frames_offset_ < frame && !frames_.empty()) {
    frames_.pop_front();
    ++frames_offset_;
  }
}

void OnlineFbank::Reset() {
  wave_.clear();
  wave_offset_ = 0;
  num_samples_ = 0;
  finished_ = false;
  frames_.clear();
  frames_offset_ = 0;
  num_frames_ = 0;
}

FbankMatrix ComputeFbank(const FbankOptions& options, const float* samples, size_t n) {
  OnlineFbank fbank(options);
  fbank.AcceptWaveform(samples, n);
  fbank.InputFinished();
  FbankMatrix m;
  m.num_frames = fbank.NumFramesReady();
  m.dim = fbank.Dim();
  m.data.resize(static_cast<size_t>(m.num_frames) * m.dim);
  fbank.GetFrames(0, m.num_frames, m.data.data());
  return m;
}

}  // namespace echoic::features
