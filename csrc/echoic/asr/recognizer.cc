#include "echoic/asr/recognizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "echoic/adaptive/model_pool.h"
#include "echoic/decoding/hotwords.h"
#include "echoic/decoding/segment_decoder.h"
#include "echoic/ort/environment.h"
#include "echoic/ort/library.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/memory_monitor.h"
#include "echoic/vad/energy_vad.h"
#include "echoic/vad/external_vad.h"
#include "echoic/vad/silero_vad.h"

namespace echoic::asr {

using decoding::Hotword;
using decoding::Hypothesis;
using decoding::SegmentDecoder;
using decoding::SymbolTable;
using decoding::WordLm;
using decoding::WordLmConfig;

void RecognizerConfig::Validate() const {
  ECHOIC_CHECK(!model.empty(), ErrorCode::kInvalidArgument, "recognizer config: 'model' is empty");
  ECHOIC_CHECK(decoding_method == "greedy" || decoding_method == "beam" || decoding_method == "auto",
               ErrorCode::kInvalidArgument,
               "recognizer config: decoding_method must be 'greedy', 'beam' or 'auto', got '", decoding_method, "'");
  ECHOIC_CHECK(beam_size >= 0 && beam_size <= 64, ErrorCode::kInvalidArgument,
               "recognizer config: beam_size must be in 0..64 (0: automatic), got ", beam_size);
  ECHOIC_CHECK(std::isfinite(hotword_score), ErrorCode::kInvalidArgument, "recognizer config: hotword_score");
  ECHOIC_CHECK(nbest >= 1 && nbest <= 16, ErrorCode::kInvalidArgument,
               "recognizer config: nbest must be in 1..16, got ", nbest);
  ECHOIC_CHECK(nbest == 1 || decoding_method != "greedy", ErrorCode::kInvalidArgument, "recognizer config: nbest ",
               nbest, " needs beam search; greedy decoding keeps one path (use decoding_method 'beam' or 'auto')");
  ECHOIC_CHECK(max_batch >= 0, ErrorCode::kInvalidArgument,
               "recognizer config: max_batch must be >= 0 (0: chosen by the model), got ", max_batch);
  WordLmConfig{lm_scale, word_bonus}.Validate();
  endpoint.Validate();
  ECHOIC_CHECK(vad.empty() || vad == "energy" || vad == "silero" || vad == "external", ErrorCode::kInvalidArgument,
               "recognizer config: vad must be '', 'energy', 'silero' or 'external', got '", vad, "'");
  ECHOIC_CHECK(vad != "silero" || !vad_model.empty(), ErrorCode::kInvalidArgument,
               "recognizer config: vad 'silero' needs vad_model (path to silero_vad.onnx)");
}

namespace {
std::string TokensBeside(const std::string& model) {
  if (StreamingTransducerModel::LooksLikeTransducerDir(model)) return model + "/tokens.txt";
  size_t slash = model.find_last_of('/');
  return (slash == std::string::npos ? std::string() : model.substr(0, slash + 1)) + "tokens.txt";
}
}  // namespace

namespace {
int64_t FileBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : 0;
}
}  // namespace

int64_t MemoryReport::EstimatedBytes(int64_t streams) const {
  const int64_t batch = std::min<int64_t>(streams, max_batch);
  return std::max<int64_t>(load_bytes, 0) + std::max<int64_t>(first_run_bytes, 0) + streams * stream_bytes +
         2 * batch * stream_bytes;
}

Recognizer::Recognizer(const RecognizerConfig& config) : config_(config) {
  config_.Validate();
  // The ORT library and environment come once per process: keep them out of the model's figures.
  try {
    ort::Library::Get(config_.session.ort_library);
    ort::Environment::Get();
  } catch (const Error&) {
    // Loading the model reports it, naming the model.
  }
  TrimHeap();
  const int64_t before = ProcessRssBytes();
  Load();
  TrimHeap();  // ORT frees the parsed model and graph copies after loading: hand those pages back
  const int64_t after = ProcessRssBytes();
  if (config_.max_batch == 0) {
    // Large per-stream states: batching's copies cost more memory than its CPU saving is worth;
    // small ones: ORT's per-run overhead dominates, batch. Whisper decodes its windows as before.
    const int64_t state = whisper_ ? 0 : static_cast<int64_t>(model_->NewState()->Bytes());
    config_.max_batch = state >= RecognizerConfig::kAutoBatchStateBytes ? 1 : 8;
  }
  MemoryReport& m = memory_;
  m.load_bytes = before >= 0 && after >= 0 ? std::max<int64_t>(0, after - before) : -1;
  m.max_batch = config_.max_batch;
  if (whisper_) {
    const auto& wi = whisper_->model().info();
    m.model_file_bytes = FileBytes(config_.model + "/encoder.onnx") + FileBytes(config_.model + "/decoder.onnx");
    m.stream_bytes = static_cast<int64_t>(wi.window_seconds() * wi.sample_rate) * static_cast<int64_t>(sizeof(float));
    m.max_batch = 1;  // windows are decoded one at a time
  } else {
    const auto& info = model_->info();
    m.model_file_bytes = transducer_
                             ? FileBytes(config_.model + "/encoder.onnx") + FileBytes(config_.model + "/decoder.onnx") +
                                   FileBytes(config_.model + "/joiner.onnx")
                             : FileBytes(config_.model);
    if (word_lm_) m.model_file_bytes += FileBytes(word_lm_->source());
    // The fbank keeps about one chunk plus one shift of frames.
    const int64_t feature_bytes = int64_t{info.chunk_frames() + info.chunk_shift_frames()} * info.feature_dim *
                                  static_cast<int64_t>(sizeof(float));
    m.stream_bytes = static_cast<int64_t>(model_->NewState()->Bytes()) + feature_bytes;
  }
}

MemoryReport Recognizer::memory_report() const {
  MemoryReport m = memory_;
  m.first_run_bytes = first_run_bytes_.load();
  return m;
}

template <typename Fn>
void Recognizer::MeasuredRun(Fn&& run) const {
  if (first_run_claimed_.load(std::memory_order_relaxed) || first_run_claimed_.exchange(true)) {
    run();
    return;
  }
  const int64_t before = ProcessRssBytes();
  run();
  const int64_t after = ProcessRssBytes();
  first_run_bytes_ = before >= 0 && after >= 0 ? std::max<int64_t>(0, after - before) : -1;
}

void Recognizer::Load() {
  if (whisper::WhisperModel::LooksLikeWhisperDir(config_.model)) {
    LoadWhisper();
    return;
  }
  struct stat st {};
  if (!StreamingTransducerModel::LooksLikeTransducerDir(config_.model) && ::stat(config_.model.c_str(), &st) == 0 &&
      S_ISDIR(st.st_mode))
    config_.model += "/model.onnx";  // a CTC model folder
  if (config_.tokens.empty()) config_.tokens = TokensBeside(config_.model);
  // A folder with encoder.onnx is a transducer; a folder with model.onnx or an .onnx file is CTC.
  if (StreamingTransducerModel::LooksLikeTransducerDir(config_.model)) {
    transducer_ = StreamingTransducerModel::Load(config_.model, config_.session);
    model_ = transducer_;
  } else {
    model_ = StreamingCtcModel::Load(config_.model, config_.session);
  }
  symbols_ = std::make_shared<SymbolTable>(SymbolTable::FromFile(config_.tokens));
  const auto& info = model_->info();
  ECHOIC_CHECK(symbols_->size() == info.vocab_size, ErrorCode::kModel, "model '", config_.model, "' has vocab_size ",
               info.vocab_size, " but '", config_.tokens, "' lists ", symbols_->size(), " tokens");
  ResolveDecoding();
  fbank_options_.sample_rate = info.sample_rate;
  fbank_options_.num_bins = info.feature_dim;
  fbank_options_.dither = 0.f;
  fbank_options_.snip_edges = false;
  fbank_options_.low_freq = info.fbank_low_freq;
  if (config_.vad == "silero") {
    vad::SileroVadOptions vo;
    vo.session.ort_library = config_.session.ort_library;
    vad_prototype_ = vad::SileroVad::FromFile(config_.vad_model, vo);
  } else if (config_.vad == "energy") {
    vad_prototype_ = std::make_unique<vad::EnergyVad>();
  } else if (config_.vad == "external") {
    vad::ExternalVadOptions eo;
    eo.sample_rate = info.sample_rate;
    vad_prototype_ = std::make_unique<vad::ExternalVad>(eo);
  }
  ECHOIC_CHECK(!vad_prototype_ || vad_prototype_->sample_rate() == info.sample_rate, ErrorCode::kInvalidArgument,
               "recognizer: the VAD runs at ", vad_prototype_ ? vad_prototype_->sample_rate() : 0,
               " Hz but the model at ", info.sample_rate, " Hz");
  fbank_options_.high_freq = info.fbank_high_freq;
}

void Recognizer::LoadWhisper() {
  ECHOIC_CHECK(config_.vad != "external", ErrorCode::kUnsupported, "recognizer: Whisper model '", config_.model,
               "' gates its windows with its own VAD; use vad 'energy' (default) or 'silero', not 'external'");
  ECHOIC_CHECK(config_.lm.empty() || config_.lm == "auto", ErrorCode::kUnsupported, "recognizer: a word LM ('",
               config_.lm, "') works with CTC models only; '", config_.model, "' is a Whisper model");
  config_.lm.clear();
  auto model = whisper::WhisperModel::Load(config_.model, config_.session);
  whisper::StreamingOptions so;
  if (config_.decoding_method == "auto") config_.decoding_method = config_.nbest > 1 ? "beam" : "greedy";
  if (config_.beam_size == 0) config_.beam_size = 5;  // OpenAI's and faster-whisper's default
  config_.beam_size = std::max(config_.beam_size, config_.nbest);
  so.decoding.beam_size = config_.decoding_method == "beam" ? std::min(config_.beam_size, 16) : 1;
  so.decoding.nbest = config_.nbest;
  const auto& ep = config_.endpoint;
  if (ep.rule2.enabled && ep.rule2.min_trailing_silence_s > 0) so.endpoint_silence_s = ep.rule2.min_trailing_silence_s;
  const float longest = model->info().window_seconds() - 1.f;
  if (ep.rule3.enabled && ep.rule3.min_utterance_length_s > 0)
    so.max_window_s = std::clamp(ep.rule3.min_utterance_length_s, 2.f, longest);
  if (!config_.enable_endpoint) so.max_window_s = longest, so.endpoint_silence_s = 1e9f;
  so.max_window_s = std::min(so.max_window_s, longest);  // a model with a short window (echoic compress --window)
  if (config_.vad == "silero") {
    vad::SileroVadOptions vo;
    vo.session.ort_library = config_.session.ort_library;
    vad_prototype_ = vad::SileroVad::FromFile(config_.vad_model, vo);
  } else {
    vad_prototype_ = std::make_unique<vad::EnergyVad>();
  }
  whisper_ = std::make_shared<whisper::StreamingDecoder>(std::move(model), so);
}

const SymbolTable& Recognizer::symbols() const {
  ECHOIC_CHECK(symbols_ != nullptr, ErrorCode::kUnsupported, "recognizer: Whisper model '", config_.model,
               "' has no tokens.txt symbol table");
  return *symbols_;
}

void Recognizer::LoadWordLm() {
  std::string path = config_.lm;
  if (path == "auto") {  // lm.arpa beside tokens.txt, for CTC models
    const size_t slash = config_.tokens.find_last_of('/');
    path = (slash == std::string::npos ? std::string() : config_.tokens.substr(0, slash + 1)) + "lm.arpa";
    struct stat st {};
    if (transducer_ || config_.decoding_method == "greedy" || ::stat(path.c_str(), &st) != 0) path.clear();
  }
  // "auto" decoding: beam search when there is an LM to use or n-best is asked for, else greedy.
  if (config_.decoding_method == "auto")
    config_.decoding_method = path.empty() && config_.nbest == 1 ? "greedy" : "beam";
  if (path.empty()) return;
  ECHOIC_CHECK(!transducer_, ErrorCode::kInvalidArgument, "recognizer: a word LM ('", path,
               "') works with CTC models only; '", config_.model, "' is a transducer");
  ECHOIC_CHECK(config_.decoding_method == "beam", ErrorCode::kInvalidArgument, "recognizer: the word LM '", path,
               "' needs decoding_method 'beam' (greedy decoding cannot use it)");
  word_lm_ = WordLm::FromArpa(path, *symbols_, WordLmConfig{config_.lm_scale, config_.word_bonus});
}

void Recognizer::ResolveDecoding() {
  LoadWordLm();
  // A lexicon-constrained search needs a wider beam than plain prefix search.
  if (config_.beam_size == 0) config_.beam_size = word_lm_ ? 16 : 4;
  config_.beam_size = std::max(config_.beam_size, config_.nbest);
}

Recognizer::~Recognizer() = default;

std::unique_ptr<Stream> Recognizer::CreateStream(const std::vector<Hotword>& hotwords) const {
  decoding::CheckHotwordLimits(hotwords);
  if (whisper_) {
    std::vector<std::pair<std::string, float>> phrases;
    for (const auto& h : hotwords) phrases.emplace_back(h.phrase, h.score);
    auto state = whisper_->NewState(vad_prototype_->Clone(), phrases);
    auto stream = std::unique_ptr<Stream>(new Stream(next_stream_id_.fetch_add(1), whisper_, std::move(state)));
    stream->owner_ = this;
    return stream;
  }
  std::unique_ptr<SegmentDecoder> decoder;
  if (transducer_) {
    decoder = decoding::MakeTransducerDecoder(
        transducer_, *symbols_, config_.decoding_method == "beam" ? config_.beam_size : 1, {}, config_.hotword_score);
    // As MakeCtcDecoder does: the biased search wins only where it completes a hotword.
    if (!hotwords.empty())
      decoder = decoding::MakeHotwordGatedDecoder(
          std::move(decoder),
          decoding::MakeTransducerDecoder(transducer_, *symbols_, config_.beam_size, hotwords, config_.hotword_score));
  } else {
    decoder = decoding::MakeCtcDecoder(*symbols_, model_->info().blank_id, config_.decoding_method, config_.beam_size,
                                       hotwords, config_.hotword_score, word_lm_);
  }
  int64_t id = next_stream_id_.fetch_add(1);
  auto stream = std::unique_ptr<Stream>(new Stream(id, model_, fbank_options_, std::move(decoder)));
  if (vad_prototype_) stream->vad_ = vad_prototype_->Clone();
  stream->owner_ = this;
  return stream;
}

void Recognizer::CheckOwner(const Stream& s) const {
  ECHOIC_CHECK(s.owner_ == this, ErrorCode::kInvalidArgument, "stream ", s.id(),
               " was created by another recognizer; give it to the recognizer that made it");
}

bool Recognizer::IsReady(const Stream& s) const {
  CheckOwner(s);
  if (whisper_) return whisper_->IsReady(*s.whisper_state_);
  return s.FramesReady() >= model_->info().chunk_frames();
}

void Recognizer::Decode(const std::vector<Stream*>& streams) const {
  if (whisper_) {
    std::vector<whisper::StreamingState*> states;
    std::vector<Stream*> ready;
    for (Stream* s : streams) {
      ECHOIC_CHECK(s != nullptr, ErrorCode::kInvalidArgument, "decode: a stream is null");
      CheckOwner(*s);
      if (IsReady(*s)) states.push_back(s->whisper_state_.get()), ready.push_back(s);
    }
    for (size_t begin = 0; begin < states.size(); begin += config_.max_batch) {
      const size_t end = std::min(states.size(), begin + static_cast<size_t>(config_.max_batch));
      MeasuredRun([&] {
        whisper_->Decode(std::vector<whisper::StreamingState*>(states.begin() + begin, states.begin() + end));
      });
    }
    for (Stream* s : ready)
      for (auto& r : whisper_->TakeFinals(s->whisper_state_.get())) s->finals_.push_back(std::move(r));
    return;
  }
  const auto& info = model_->info();
  std::vector<Stream*> ready;
  for (Stream* s : streams) {
    ECHOIC_CHECK(s != nullptr, ErrorCode::kInvalidArgument, "decode: a stream is null");
    if (IsReady(*s)) ready.push_back(s);
  }
  const size_t frame_floats = static_cast<size_t>(info.chunk_frames()) * info.feature_dim;
  for (size_t begin = 0; begin < ready.size(); begin += config_.max_batch) {
    size_t end = std::min(ready.size(), begin + static_cast<size_t>(config_.max_batch));
    std::vector<std::vector<float>> chunks(end - begin, std::vector<float>(frame_floats));
    std::vector<const float*> feats;
    std::vector<ModelState*> states;
    std::vector<SegmentDecoder*> decoders;
    for (size_t i = begin; i < end; ++i) {
      Stream* s = ready[i];
      s->fbank_.GetFrames(s->frames_consumed_, info.chunk_frames(), chunks[i - begin].data());
      feats.push_back(chunks[i - begin].data());
      states.push_back(s->encoder_.get());
      decoders.push_back(s->decoder_.get());
    }
    std::vector<std::vector<float>> outputs;  // log-probs (CTC) or encoder frames (transducer)
    MeasuredRun([&] { model_->Run(feats, states, &outputs); });
    decoding::AcceptChunks(decoders, outputs, info.output_dim);
    for (size_t i = begin; i < end; ++i) {
      Stream* s = ready[i];
      s->frames_consumed_ += info.chunk_shift_frames();
      s->fbank_.DiscardFramesBefore(s->frames_consumed_);
      AfterChunk(s, static_cast<int32_t>(outputs[i - begin].size() / info.output_dim));
    }
  }
}

void Recognizer::DecodeAvailable(Stream* stream) const {
  ECHOIC_CHECK(stream != nullptr, ErrorCode::kInvalidArgument, "decode: stream is null");
  while (IsReady(*stream)) Decode({stream});
}

void Recognizer::AfterChunk(Stream* s, int32_t frames) const {
  const auto& info = model_->info();
  s->encoder_frames_ += frames;
  const bool last = s->input_finished_ && !IsReady(*s);
  bool endpoint = false;
  if (config_.enable_endpoint) {
    const float fs = info.encoder_frame_seconds();
    const float length = (s->encoder_frames_ - s->segment_start_frame_) * fs;
    float trailing = s->decoder_->TrailingBlankFrames() * fs;
    bool speech = s->decoder_->DecodedSomething();
    if (s->vad_) {
      // The VAD is advanced exactly to the audio this chunk covered, so decisions
      // do not depend on how the audio was chunked on arrival.
      s->FeedVadUpTo(static_cast<int64_t>(s->frames_consumed_) * (info.sample_rate / 100));
      // Silence counts only inside the current segment, and "speech" means the
      // VAD heard some (a decoder may emit junk on noise).
      trailing = std::min(s->vad_->TrailingSilenceSeconds(), length);
      speech = s->vad_->SpeechSinceReset();
    }
    endpoint = EndpointDetector(config_.endpoint).Update(speech, trailing, length);
  }
  if (endpoint || last) CloseSegment(s, last);
}

Result Recognizer::GetPartial(const Stream& s) const {
  CheckOwner(s);
  if (whisper_) return whisper_->Partial(s.whisper_state_.get());
  const auto& info = model_->info();
  return MakeResult(s.decoder_->Best(/*finalize=*/false), *symbols_, info.encoder_frame_seconds(),
                    s.segment_start_frame_ * info.encoder_frame_seconds(), s.segment_, /*is_final=*/false);
}

void Recognizer::CloseSegment(Stream* s, bool last) const {
  const auto& info = model_->info();
  Hypothesis best = s->decoder_->Best(/*finalize=*/true);
  // Segments that closed on silence alone carry nothing; a stream that heard
  // nothing at all still ends with one (empty) final result.
  if (!best.tokens.empty() || (last && s->segment_ == 0)) {
    s->finals_.push_back(MakeResult(best, *symbols_, info.encoder_frame_seconds(),
                                    s->segment_start_frame_ * info.encoder_frame_seconds(), s->segment_,
                                    /*is_final=*/true));
    if (config_.nbest > 1) {
      std::vector<Alternative>& alts = s->finals_.back().alternatives;
      alts.push_back({s->finals_.back().text, best.rank_score});
      for (const Hypothesis& h : s->decoder_->NBest(/*finalize=*/true, config_.nbest)) {
        Alternative a{MakeResult(h, *symbols_, info.encoder_frame_seconds()).text, h.rank_score};
        // Different token sequences may spell one text (BPE splits): list each text once.
        if (std::none_of(alts.begin(), alts.end(), [&](const Alternative& o) { return o.text == a.text; }))
          alts.push_back(std::move(a));
      }
    }
    s->segment_ += 1;
  }
  s->decoder_->Reset();
  if (s->vad_) s->vad_->ResetSegment();
  s->segment_start_frame_ = s->encoder_frames_;
}

}  // namespace echoic::asr
