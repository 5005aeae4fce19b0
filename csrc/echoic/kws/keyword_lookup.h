// Keyword lookup by example: enroll a word from 1-5 recordings, find it in audio of any length,
// said by anyone. Each recording is trimmed to speech by a VAD and becomes one acoustic word
// embedding (word_embedding.h) stored in an index::Index, namespace "keywords", with the label
// "<keyword>@<frames>@<threshold>": the word's length in 20 ms frames and the detection threshold
// calibrated from that recording alone (the best score of the word against the rest of its own
// clip plus a margin, never below a floor).
//
// The scanner runs the Whisper encoder over 30 s windows at fixed places of the stream (every
// 24 s, 3 s of context on each side of the frames a window keeps), scores every 20 ms start at
// each enrolled length x {0.8 .. 1.25} against the index and reports peaks above a keyword's
// threshold, one per refractory period; where detections of different keywords overlap, only
// the higher-scoring one is kept (LookupOptions::overlap_suppression). Window places depend only
// on the absolute position in the stream, so any chunking gives the same detections; a detection
// is reported once its window has run (up to ~28 s after the word in a live stream) or at
// InputFinished().
#ifndef ECHOIC_KWS_KEYWORD_LOOKUP_H_
#define ECHOIC_KWS_KEYWORD_LOOKUP_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "echoic/index/index.h"
#include "echoic/kws/word_embedding.h"
#include "echoic/vad/vad.h"

namespace echoic::kws {

struct LookupOptions {
  WordEmbeddingOptions embedding;                             // random projection: dim is taken from an existing index
  std::vector<float> scales{0.8f, 0.9f, 1.0f, 1.12f, 1.25f};  // window length / enrolled length
  float min_threshold =
      std::numeric_limits<float>::quiet_NaN();  // floor of every calibrated
                                                // threshold; NaN: the embedding's (WordEmbedder::default_threshold)
  float calibration_margin = 0.1f;              // above the word's best score elsewhere in its own clip
  float threshold_offset = 0.f;                 // added to every threshold at scan time (the user's trade-off)
  float refractory_s = -1.f;                    // < 0: the keyword's longest enrolled example
  // Competing keywords: a detection is dropped when a detection of another keyword with a higher
  // score overlaps it by more than this fraction of the shorter of the two (the stream holds one
  // word there; the closer enrolled example names it). >= 1: every keyword is reported on its own.
  float overlap_suppression = 0.5f;
  int32_t hop_frames = 1200;         // encoder window step (frames of 20 ms); context = (window - hop) / 2
  size_t max_clip_samples = 480000;  // enrollment clips: at most one encoder window (30 s)
};

struct LookupDetection {
  std::string keyword;
  double start = 0, end = 0;  // seconds from the stream start
  float score = 0;            // cosine similarity to the best-matching enrolled example
  float threshold = 0;        // that example's threshold (with the offset)
};

// One enrolled example as stored in the index.
struct LookupExample {
  int64_t id = -1;
  std::string keyword;
  int32_t frames = 0;
  float threshold = 0;
};

class LookupScanner;

class KeywordLookup {
 public:
  static constexpr const char* kNamespace = "keywords";
  // Opens `index_path` (or creates it: dim = the embedding's dim, no float16 copies, at most
  // 64 B a vector: sq8 codes up to 64 dims, 64 product-quantizer codes for wider embeddings).
  // An index made by another embedding is refused; one made by another encoder (e.g. speaker
  // d-vectors) is shared: keyword entries live in their own namespace.
  // `vad`: prototype for enrollment trimming (cloned per clip); null = the energy VAD.
  KeywordLookup(std::shared_ptr<const FrameEncoder> encoder, const std::string& index_path,
                const LookupOptions& options = {}, std::shared_ptr<const vad::VoiceActivityDetector> vad = nullptr,
                bool read_only = false);

  // 1-5 clips of 16 kHz mono samples, each at most one encoder window; returns the new ids.
  std::vector<int64_t> Enroll(const std::string& keyword, const std::vector<std::vector<float>>& clips);
  std::vector<LookupExample> Examples() const;
  std::vector<std::string> Keywords() const;
  size_t Remove(const std::string& keyword);  // kNotFound when not enrolled; returns examples removed
  // A scanner over what is enrolled now. kState when nothing is.
  std::unique_ptr<LookupScanner> NewScanner() const;

  // A clip's speech segments (seconds; the VAD's, joined across pauses < 0.3 s). Enrollment keeps
  // one: the last of a single clip; with several clips, in each the one most like the others'.
  std::vector<std::pair<double, double>> SpeechSegments(const float* samples, size_t n) const;

  const index::Index& index() const { return *index_; }
  const WordEmbedder& embedder() const { return *embedder_; }
  const FrameEncoder& encoder() const { return *encoder_; }
  const LookupOptions& options() const { return opts_; }
  const std::string& embedding_id() const { return embedding_id_; }
  // Passed to the index on add/search: the embedding id when the index is ours, else "".
  const std::string& index_encoder_id() const { return index_encoder_id_; }
  void Close();

 private:
  friend class LookupScanner;
  std::shared_ptr<const FrameEncoder> encoder_;
  std::shared_ptr<index::Index> index_;
  std::shared_ptr<const WordEmbedder> embedder_;
  std::shared_ptr<const vad::VoiceActivityDetector> vad_;
  LookupOptions opts_;
  std::string embedding_id_, index_encoder_id_;
};

class LookupScanner {
 public:
  // Samples: 16 kHz mono in [-1, 1], any chunk size.
  void AcceptWaveform(const float* samples, size_t n);
  void InputFinished();  // runs the last window; later audio is kState until Reset()
  std::vector<LookupDetection> TakeDetections();
  void Reset();                                          // a new stream (same enrolled set)
  double encoder_seconds() const { return encoder_s_; }  // wall time in the encoder
  double scan_seconds() const { return scan_s_; }        // wall time projecting, embedding, searching
  double audio_seconds() const { return static_cast<double>(received_) / FrameEncoder::kSampleRate; }

 private:
  friend class KeywordLookup;
  struct Length {
    int32_t frames;
    std::vector<std::pair<size_t, float>> uses;  // (example index, scale) scored at this length
  };
  struct Candidate {
    bool live = false;
    int64_t start = 0;
    int32_t frames = 0;
    float margin = 0, score = 0, threshold = 0;
  };
  struct Held {  // a keyword's peak, kept until no later peak can overlap it
    LookupDetection det;
    int64_t a = 0, b = 0;  // frames
    bool suppressed = false;
  };
  LookupScanner(const KeywordLookup& lookup, std::vector<LookupExample> examples);
  void RunWindow(bool final);
  void Score(bool final);
  void Emit(size_t keyword, const Candidate& c);
  void Release(bool all);

  std::shared_ptr<const FrameEncoder> encoder_;
  std::shared_ptr<const WordEmbedder> embedder_;
  std::shared_ptr<index::Index> index_;
  LookupOptions opts_;
  std::string index_encoder_id_;
  std::vector<LookupExample> examples_;
  std::vector<std::string> keywords_;
  std::vector<size_t> example_keyword_;                    // keyword index of each example
  std::vector<int32_t> refractory_;                        // per keyword, frames
  std::vector<Length> lengths_;                            // distinct window lengths, ascending
  std::vector<std::pair<int64_t, size_t>> id_to_example_;  // sorted by id

  // Stream state.
  std::vector<float> pending_;  // samples from frame `pending_frame_` on
  int64_t pending_frame_ = 0;
  int64_t received_ = 0;          // samples
  int64_t owned_ = 0;             // frames projected so far (the next window's first kept frame)
  std::vector<float> projected_;  // frames [proj_base_, owned_) x projected width
  int64_t proj_base_ = 0;
  int64_t next_start_ = 0;       // next window start to score
  std::vector<Candidate> cand_;  // per keyword
  std::vector<Held> held_;
  std::vector<LookupDetection> out_;
  bool finished_ = false;
  double encoder_s_ = 0, scan_s_ = 0;
};

// Parses "<keyword>@<frames>@<threshold>"; false when the label is not one of ours.
bool ParseLookupLabel(const std::string& label, std::string* keyword, int32_t* frames, float* threshold);

}  // namespace echoic::kws

#endif  // ECHOIC_KWS_KEYWORD_LOOKUP_H_
