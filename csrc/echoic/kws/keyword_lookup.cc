#include "echoic/kws/keyword_lookup.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "echoic/audio/samples.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/gaussian.h"
#include "echoic/vad/energy_vad.h"

namespace echoic::kws {

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool Exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

constexpr int32_t kHop = FrameEncoder::kSamplesPerFrame;
constexpr double kFrameSeconds = 0.02;
// Speech segments closer than this are one word (stop closures, a breath inside a phrase).
constexpr double kJoinGapSeconds = 0.3;

// What one enrolled example may cost in the index.
constexpr size_t kCodeBytes = 64;

// Training vectors for a new keyword index's codec. Embeddings are unit vectors; sq8 is trained on
// +-e_i (the whole [-1, 1] range of every axis). Wider embeddings are product-quantized into
// kCodeBytes one-byte codes, trained on random unit vectors: the enrolled words are too few to
// train on, and the codebooks must not depend on which word was enrolled first.
std::vector<float> CodecTrainingVectors(const index::IndexOptions& io) {
  const size_t d = io.dim;
  if (io.encoding == index::Encoding::kSq8) {
    std::vector<float> axes(2 * d * d, 0.f);
    for (size_t i = 0; i < d; ++i) {
      axes[i * d + i] = 1.f;
      axes[(d + i) * d + i] = -1.f;
    }
    return axes;
  }
  const size_t n = 8192;
  std::vector<float> x(n * d);
  Gaussian g(io.seed);
  for (float& v : x) v = static_cast<float>(g.Next());
  return x;  // the index normalises them (cosine metric)
}

int64_t FramesOf(int64_t samples) { return (samples + kHop - 1) / kHop; }

float Dot(const float* a, const float* b, size_t n) {
  float s = 0.f;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

std::string FormatLabel(const std::string& keyword, int32_t frames, float threshold) {
  char thr[32];
  std::snprintf(thr, sizeof thr, "%.4f", threshold);
  return keyword + "@" + std::to_string(frames) + "@" + thr;
}

}  // namespace

bool ParseLookupLabel(const std::string& label, std::string* keyword, int32_t* frames, float* threshold) {
  const size_t p2 = label.rfind('@');
  if (p2 == std::string::npos || p2 == 0) return false;
  const size_t p1 = label.rfind('@', p2 - 1);
  if (p1 == std::string::npos || p1 == 0) return false;
  const std::string f = label.substr(p1 + 1, p2 - p1 - 1), t = label.substr(p2 + 1);
  char* end = nullptr;
  const long n = std::strtol(f.c_str(), &end, 10);
  if (f.empty() || *end != '\0' || n < 1 || n > 1500) return false;
  const double th = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || !std::isfinite(th)) return false;
  *keyword = label.substr(0, p1);
  *frames = static_cast<int32_t>(n);
  *threshold = static_cast<float>(th);
  return true;
}

KeywordLookup::KeywordLookup(std::shared_ptr<const FrameEncoder> encoder, const std::string& index_path,
                             const LookupOptions& options, std::shared_ptr<const vad::VoiceActivityDetector> vad,
                             bool read_only)
    : encoder_(std::move(encoder)), vad_(std::move(vad)), opts_(options) {
  ECHOIC_CHECK(encoder_ != nullptr, ErrorCode::kInvalidArgument, "keyword lookup: no encoder");
  ECHOIC_CHECK(!opts_.scales.empty(), ErrorCode::kInvalidArgument, "keyword lookup: no window scales");
  for (float s : opts_.scales)
    ECHOIC_CHECK(s >= 0.5f && s <= 2.f, ErrorCode::kInvalidArgument, "keyword lookup: scale ", s, " outside 0.5..2");
  const int32_t w = encoder_->window_frames();
  ECHOIC_CHECK(opts_.hop_frames >= 1 && opts_.hop_frames <= w, ErrorCode::kInvalidArgument,
               "keyword lookup: hop_frames ", opts_.hop_frames, " must be in 1..", w);
  ECHOIC_CHECK(!std::isinf(opts_.min_threshold) && std::isfinite(opts_.calibration_margin) &&
                   std::isfinite(opts_.threshold_offset) && std::isfinite(opts_.refractory_s) &&
                   std::isfinite(opts_.overlap_suppression),
               ErrorCode::kInvalidArgument, "keyword lookup: thresholds and refractory must be finite");
  if (Exists(index_path)) {
    index::OpenOptions oo;
    oo.read_only = read_only;
    index_ = std::shared_ptr<index::Index>(index::Index::Open(index_path, oo));
    // The random projection takes its size from the index; a projection file has its own.
    if (opts_.embedding.projection.empty()) opts_.embedding.dim = static_cast<int32_t>(index_->options().dim);
    ECHOIC_CHECK(index_->options().metric == index::Metric::kCosine, ErrorCode::kInvalidArgument, "index '", index_path,
                 "' does not use the cosine metric; keyword lookup needs it");
  } else {
    ECHOIC_CHECK(!read_only, ErrorCode::kNotFound, "keyword index '", index_path, "' does not exist");
  }
  embedder_ = std::make_shared<WordEmbedder>(encoder_->dim(), opts_.embedding);
  opts_.embedding = embedder_->options();
  if (std::isnan(opts_.min_threshold)) opts_.min_threshold = embedder_->default_threshold();
  embedding_id_ = embedder_->Id(encoder_->name());
  // Another word embedding's index first: its name says more than its width.
  if (index_) {
    const std::string& declared = index_->options().encoder_id;
    if (!declared.empty() && declared.rfind("awe-", 0) == 0 && declared != embedding_id_)
      Fail(ErrorCode::kInvalidArgument, "keyword index '", index_path, "' holds word embeddings '", declared,
           "', this lookup makes '", embedding_id_, "' (another model or embedding settings; enroll again)");
  }
  // A wider index (a speaker index shared with us) stores our vectors zero-padded: cosines are unchanged.
  if (index_)
    ECHOIC_CHECK(index_->options().dim >= static_cast<size_t>(opts_.embedding.dim), ErrorCode::kInvalidArgument,
                 "keyword index '", index_path, "' holds ", index_->options().dim, "-dim vectors; the projection '",
                 opts_.embedding.projection, "' makes ", opts_.embedding.dim);
  if (!index_) {
    index::IndexOptions io;
    io.dim = static_cast<size_t>(opts_.embedding.dim);
    io.metric = index::Metric::kCosine;
    // At most kCodeBytes per example: sq8 up to 64 dims, product quantization of wider ones.
    io.encoding = io.dim > kCodeBytes && io.dim % kCodeBytes == 0 ? index::Encoding::kPq : index::Encoding::kSq8;
    io.pq_m = kCodeBytes;
    io.keep_fp16 = false;  // the codes are all a keyword costs
    io.encoder_id = embedding_id_;
    index_ = std::shared_ptr<index::Index>(index::Index::Create(index_path, io));
    const std::vector<float> train = CodecTrainingVectors(io);
    index_->Train(train.data(), train.size() / io.dim);
  }
  // An index of another encoder (speaker d-vectors) is shared: our entries are not checked
  // against its id, and are told apart by their namespace and labels.
  const std::string& declared = index_->options().encoder_id;
  index_encoder_id_ = declared == embedding_id_ ? embedding_id_ : std::string();
}

void KeywordLookup::Close() {
  if (index_) index_->Close();
}

std::vector<std::pair<double, double>> KeywordLookup::SpeechSegments(const float* samples, size_t n) const {
  std::unique_ptr<vad::VoiceActivityDetector> v = vad_ ? vad_->Clone() : std::make_unique<vad::EnergyVad>();
  vad::CheckSampleRate(*v, FrameEncoder::kSampleRate, "keyword lookup enrollment");
  v->Accept(samples, n);
  v->Flush();
  const double dur = static_cast<double>(n) / FrameEncoder::kSampleRate;
  std::vector<std::pair<double, double>> joined;
  for (const auto& s : v->TakeSegments()) {
    if (!joined.empty() && s.first - joined.back().second < kJoinGapSeconds)
      joined.back().second = std::max(joined.back().second, s.second);
    else
      joined.emplace_back(std::max(0.0, s.first), std::min(dur, s.second));
  }
  ECHOIC_CHECK(!joined.empty(), ErrorCode::kInvalidArgument,
               "keyword lookup: no speech found in an enrollment clip of ", dur, " s");
  return joined;
}

std::vector<int64_t> KeywordLookup::Enroll(const std::string& keyword, const std::vector<std::vector<float>>& clips) {
  ECHOIC_CHECK(!keyword.empty() && keyword.find('@') == std::string::npos && keyword.size() <= 256,
               ErrorCode::kInvalidArgument, "keyword lookup: keyword must be 1-256 characters without '@', got '",
               keyword, "'");
  ECHOIC_CHECK(!clips.empty() && clips.size() <= 5, ErrorCode::kInvalidArgument, "keyword lookup: enroll '", keyword,
               "' from 1 to 5 recordings, got ", clips.size());
  const size_t d = static_cast<size_t>(opts_.embedding.dim), pw = embedder_->projected_width();
  struct Clip {
    int64_t frames = 0;
    std::vector<float> proj;
    std::vector<std::pair<int64_t, int64_t>> spans;  // speech segments in frames
    std::vector<std::vector<float>> vecs;            // their embeddings
    size_t pick = 0;
  };
  std::vector<Clip> cs(clips.size());
  for (size_t c = 0; c < clips.size(); ++c) {
    const auto& x = clips[c];
    ECHOIC_CHECK(x.size() >= 1600 && x.size() <= opts_.max_clip_samples &&
                     static_cast<int64_t>(x.size()) <= encoder_->window_samples(),
                 ErrorCode::kInvalidArgument, "keyword lookup: enrollment clip ", c + 1, " of '", keyword, "' is ",
                 x.size() / 16000.0, " s; give 0.1 to ", opts_.max_clip_samples / 16000.0, " s");
    Clip& k = cs[c];
    k.frames = FramesOf(static_cast<int64_t>(x.size()));
    const std::vector<float> frames = encoder_->Encode(x.data(), x.size());
    k.proj.resize(static_cast<size_t>(k.frames) * pw);
    embedder_->Project(frames.data(), static_cast<size_t>(k.frames), k.proj.data());
    for (const auto& seg : SpeechSegments(x.data(), x.size())) {
      const int64_t a =
          std::clamp<int64_t>(static_cast<int64_t>(std::floor(seg.first / kFrameSeconds)), 0, k.frames - 1);
      const int64_t b =
          std::clamp<int64_t>(static_cast<int64_t>(std::ceil(seg.second / kFrameSeconds)), a + 1, k.frames);
      k.spans.emplace_back(a, b);
      k.vecs.emplace_back(d);
      embedder_->Embed(k.proj.data(), static_cast<size_t>(a), static_cast<size_t>(b), k.vecs.back().data());
    }
    // One clip: the last segment (lead-ins, clicks and breaths come before a prompted word).
    k.pick = k.spans.size() - 1;
  }
  // Several clips: in each, the segment most like the other clips' segments (the word they share).
  if (cs.size() > 1)
    for (size_t c = 0; c < cs.size(); ++c) {
      float best = -1e9f;
      for (size_t s = 0; s < cs[c].vecs.size(); ++s) {
        float sum = 0;
        for (size_t o = 0; o < cs.size(); ++o) {
          if (o == c) continue;
          float m = -1.f;
          for (const auto& v : cs[o].vecs) m = std::max(m, Dot(cs[c].vecs[s].data(), v.data(), d));
          sum += m;
        }
        if (sum > best) best = sum, cs[c].pick = s;
      }
    }
  std::vector<float> vecs, w(d);
  std::vector<std::string> labels;
  for (const Clip& k : cs) {
    const auto [a, b] = k.spans[k.pick];
    const std::vector<float>& v = k.vecs[k.pick];
    // Calibration: the word's best score against windows of its own clip that cover at most half
    // of it (the lead-in, the tail, other sounds). A clip of the word alone leaves the floor.
    const int64_t len = b - a;
    float off = -1.f;
    for (float s : opts_.scales) {
      const int64_t l = std::max<int64_t>(1, std::lround(len * s));
      for (int64_t t = 0; t + l <= k.frames; ++t) {
        const int64_t overlap = std::max<int64_t>(0, std::min(t + l, b) - std::max(t, a));
        if (2 * overlap > std::min(l, len)) continue;
        embedder_->Embed(k.proj.data(), static_cast<size_t>(t), static_cast<size_t>(t + l), w.data());
        off = std::max(off, Dot(v.data(), w.data(), d));
      }
    }
    const float thr = std::max(opts_.min_threshold, off + opts_.calibration_margin);
    vecs.insert(vecs.end(), v.begin(), v.end());
    vecs.resize(vecs.size() + index_->options().dim - d, 0.f);
    labels.push_back(FormatLabel(keyword, static_cast<int32_t>(len), thr));
  }
  return index_->Add(vecs.data(), clips.size(), nullptr, &labels, kNamespace, index_encoder_id_);
}

std::vector<LookupExample> KeywordLookup::Examples() const {
  std::vector<LookupExample> out;
  for (const auto& e : index_->Entries(kNamespace)) {
    LookupExample x;
    x.id = e.id;
    ECHOIC_CHECK(ParseLookupLabel(e.label, &x.keyword, &x.frames, &x.threshold), ErrorCode::kCorruptData, "index '",
                 index_->path(), "': entry ", e.id, " of namespace '", kNamespace, "' is labelled '", e.label,
                 "', not <keyword>@<frames>@<threshold> (written by another keyword method?)");
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<std::string> KeywordLookup::Keywords() const {
  std::set<std::string> s;
  for (const auto& e : Examples()) s.insert(e.keyword);
  return {s.begin(), s.end()};
}

size_t KeywordLookup::Remove(const std::string& keyword) {
  std::vector<int64_t> ids;
  for (const auto& e : Examples())
    if (e.keyword == keyword) ids.push_back(e.id);
  ECHOIC_CHECK(!ids.empty(), ErrorCode::kNotFound, "keyword '", keyword, "' is not enrolled in '", index_->path(), "'");
  index_->Remove(ids.data(), ids.size());
  return ids.size();
}

std::unique_ptr<LookupScanner> KeywordLookup::NewScanner() const {
  auto ex = Examples();
  ECHOIC_CHECK(!ex.empty(), ErrorCode::kState, "no keyword is enrolled in '", index_->path(), "'");
  return std::unique_ptr<LookupScanner>(new LookupScanner(*this, std::move(ex)));
}

LookupScanner::LookupScanner(const KeywordLookup& lookup, std::vector<LookupExample> examples)
    : encoder_(lookup.encoder_),
      embedder_(lookup.embedder_),
      index_(lookup.index_),
      opts_(lookup.opts_),
      index_encoder_id_(lookup.index_encoder_id_),
      examples_(std::move(examples)) {
  std::vector<int32_t> lens;
  for (size_t i = 0; i < examples_.size(); ++i) {
    const auto& e = examples_[i];
    auto it = std::find(keywords_.begin(), keywords_.end(), e.keyword);
    if (it == keywords_.end()) {
      keywords_.push_back(e.keyword);
      refractory_.push_back(0);
      it = keywords_.end() - 1;
    }
    const size_t k = static_cast<size_t>(it - keywords_.begin());
    example_keyword_.push_back(k);
    refractory_[k] = std::max(refractory_[k], e.frames);
    id_to_example_.emplace_back(e.id, i);
    for (float s : opts_.scales) {
      const int32_t l = std::max<int32_t>(1, static_cast<int32_t>(std::lround(e.frames * s)));
      auto lt = std::find_if(lengths_.begin(), lengths_.end(), [&](const Length& x) { return x.frames == l; });
      if (lt == lengths_.end()) {
        lengths_.push_back(Length{l, {}});
        lt = lengths_.end() - 1;
      }
      lt->uses.emplace_back(i, s);
    }
  }
  if (opts_.refractory_s >= 0)
    std::fill(refractory_.begin(), refractory_.end(),
              std::max<int32_t>(1, static_cast<int32_t>(std::lround(opts_.refractory_s / kFrameSeconds))));
  std::sort(lengths_.begin(), lengths_.end(), [](const Length& a, const Length& b) { return a.frames < b.frames; });
  std::sort(id_to_example_.begin(), id_to_example_.end());
  Reset();
}

void LookupScanner::Reset() {
  pending_.clear();
  pending_frame_ = received_ = owned_ = proj_base_ = next_start_ = 0;
  projected_.clear();
  cand_.assign(keywords_.size(), Candidate{});
  held_.clear();
  out_.clear();
  finished_ = false;
}

void LookupScanner::AcceptWaveform(const float* samples, size_t n) {
  ECHOIC_CHECK(!finished_, ErrorCode::kState, "keyword lookup scanner: audio after InputFinished (call Reset)");
  ECHOIC_CHECK(samples != nullptr || n == 0, ErrorCode::kInvalidArgument, "keyword lookup scanner: samples are NULL");
  audio::ValidateSamples(samples, n, "keyword lookup scanner", audio::kMaxAbsSample);
  pending_.insert(pending_.end(), samples, samples + n);
  received_ += static_cast<int64_t>(n);
  const int64_t w = encoder_->window_frames();
  for (;;) {
    const int64_t start = std::max<int64_t>(0, owned_ - (w - opts_.hop_frames) / 2);
    if (received_ < (start + w) * kHop) break;
    RunWindow(false);
  }
}

void LookupScanner::InputFinished() {
  if (finished_) return;
  finished_ = true;
  while (owned_ < FramesOf(received_)) RunWindow(true);
  Score(true);
}

void LookupScanner::RunWindow(bool final) {
  const int64_t w = encoder_->window_frames();
  const int64_t start = std::max<int64_t>(0, owned_ - (w - opts_.hop_frames) / 2);
  const int64_t total = FramesOf(received_);
  // A full window keeps hop frames; the last one keeps what is left of the stream.
  const int64_t keep = final ? std::min<int64_t>(total - owned_, start + w - owned_) : opts_.hop_frames;
  const int64_t first = (start - pending_frame_) * kHop;
  const int64_t avail = static_cast<int64_t>(pending_.size()) - first;
  const size_t n = static_cast<size_t>(std::clamp<int64_t>(avail, 0, w * kHop));
  auto t0 = Clock::now();
  const std::vector<float> frames = encoder_->Encode(pending_.data() + first, n);
  encoder_s_ += Since(t0);
  t0 = Clock::now();
  const size_t pw = embedder_->projected_width();
  const size_t old = projected_.size();
  projected_.resize(old + static_cast<size_t>(keep) * pw);
  embedder_->Project(frames.data() + static_cast<size_t>(owned_ - start) * embedder_->frame_dim(),
                     static_cast<size_t>(keep), projected_.data() + old);
  scan_s_ += Since(t0);
  owned_ += keep;
  // Samples before the next window's start are done with.
  const int64_t next = std::max<int64_t>(0, owned_ - (w - opts_.hop_frames) / 2);
  if (next > pending_frame_) {
    const size_t drop = std::min(pending_.size(), static_cast<size_t>((next - pending_frame_) * kHop));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(drop));
    pending_frame_ = next;
  }
  Score(false);
}

void LookupScanner::Score(bool final) {
  const auto t0 = Clock::now();
  const size_t d = index_->options().dim, pw = embedder_->projected_width();  // d >= the embedding's dim
  const int64_t longest = lengths_.back().frames, shortest = lengths_.front().frames;
  // Starts whose every window fits (or, at the end, whose shortest one does).
  const int64_t last = final ? owned_ - shortest : owned_ - longest;
  if (last >= next_start_) {
    std::vector<float> q;
    std::vector<std::pair<int64_t, size_t>> rows;  // (start, length index)
    for (int64_t t = next_start_; t <= last; ++t)
      for (size_t j = 0; j < lengths_.size(); ++j) {
        if (t + lengths_[j].frames > owned_) break;
        q.resize(q.size() + d, 0.f);
        embedder_->Embed(projected_.data(), static_cast<size_t>(t - proj_base_),
                         static_cast<size_t>(t - proj_base_ + lengths_[j].frames), q.data() + q.size() - d);
        rows.emplace_back(t, j);
      }
    index::SearchParams sp;
    sp.k = examples_.size();
    sp.ns = KeywordLookup::kNamespace;
    sp.encoder_id = index_encoder_id_;
    const index::SearchResult r = index_->Search(q.data(), rows.size(), sp);
    // Best margin over the threshold per (start, keyword), then peaks in start order.
    const size_t nk = keywords_.size();
    std::vector<Candidate> best(static_cast<size_t>(last - next_start_ + 1) * nk);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto [t, j] = rows[i];
      const Length& len = lengths_[j];
      for (size_t c = 0; c < r.k; ++c) {
        const int64_t id = r.ids[i * r.k + c];
        if (id < 0) continue;
        auto it = std::lower_bound(id_to_example_.begin(), id_to_example_.end(), std::make_pair(id, size_t{0}));
        if (it == id_to_example_.end() || it->first != id) continue;  // enrolled after this scanner
        const size_t e = it->second;
        if (std::none_of(len.uses.begin(), len.uses.end(), [&](const auto& u) { return u.first == e; })) continue;
        const float score = r.scores[i * r.k + c];
        const float thr = examples_[e].threshold + opts_.threshold_offset;
        Candidate& b = best[static_cast<size_t>(t - next_start_) * nk + example_keyword_[e]];
        if (!b.live || score - thr > b.margin) b = Candidate{true, t, len.frames, score - thr, score, thr};
      }
    }
    for (int64_t t = next_start_; t <= last; ++t)
      for (size_t k = 0; k < nk; ++k) {
        Candidate& cur = cand_[k];
        if (cur.live && t - cur.start >= refractory_[k]) {
          Emit(k, cur);
          cur.live = false;
        }
        const Candidate& b = best[static_cast<size_t>(t - next_start_) * nk + k];
        if (b.live && b.margin >= 0 && (!cur.live || b.margin > cur.margin)) cur = b;
      }
    next_start_ = last + 1;
  }
  if (final) {
    for (size_t k = 0; k < keywords_.size(); ++k)
      if (cand_[k].live) {
        Emit(k, cand_[k]);
        cand_[k].live = false;
      }
  }
  Release(final);
  // Frames before the next start are never read again.
  const int64_t drop = std::min(next_start_, owned_) - proj_base_;
  if (drop > 0) {
    projected_.erase(projected_.begin(), projected_.begin() + static_cast<std::ptrdiff_t>(drop * pw));
    proj_base_ += drop;
  }
  scan_s_ += Since(t0);
}

void LookupScanner::Emit(size_t keyword, const Candidate& c) {
  Held h{LookupDetection{keywords_[keyword], c.start * kFrameSeconds, (c.start + c.frames) * kFrameSeconds, c.score,
                         c.threshold},
         c.start, c.start + c.frames, false};
  if (opts_.overlap_suppression < 1.f)
    for (Held& o : held_) {
      if (o.det.keyword == h.det.keyword) continue;
      const int64_t overlap = std::min(o.b, h.b) - std::max(o.a, h.a);
      if (static_cast<double>(overlap) <=
          opts_.overlap_suppression * static_cast<double>(std::min(o.b - o.a, h.b - h.a)))
        continue;
      // Ties keep the earlier one.
      (o.det.score >= h.det.score ? h : o).suppressed = true;
    }
  held_.push_back(std::move(h));
}

void LookupScanner::Release(bool all) {
  // A peak not emitted yet starts after next_start_ - (the longest refractory period): held
  // peaks ending before that cannot be overlapped any more.
  const int64_t settled = next_start_ - *std::max_element(refractory_.begin(), refractory_.end());
  size_t kept = 0;
  for (Held& h : held_) {
    if (all || h.b <= settled) {
      if (!h.suppressed) out_.push_back(std::move(h.det));
    } else {
      held_[kept++] = std::move(h);
    }
  }
  held_.resize(kept);
}

std::vector<LookupDetection> LookupScanner::TakeDetections() {
  std::vector<LookupDetection> out;
  out.swap(out_);
  return out;
}

}  // namespace echoic::kws
