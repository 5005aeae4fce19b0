#include "echoic/whisper/streaming.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "echoic/runtime/error.h"

namespace echoic::whisper {

namespace {

constexpr int32_t kRate = 16000;
constexpr int64_t kHop = 1600;  // 100 ms: the VAD and the window rules advance in these steps

int64_t Samples(float seconds) { return static_cast<int64_t>(std::llround(seconds * kRate)); }

// First token index of each word (a token that starts with a space, or the first).
std::vector<size_t> WordStarts(const Tokenizer& tok, const std::vector<int32_t>& tokens) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (i == 0 || tok.StartsWord(tokens[i])) starts.push_back(i);
  return starts;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Token strings for display: a token may end inside a UTF-8 character, so
// bytes that do not form one become U+FFFD (text and words are whole).
std::string DisplayToken(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<uint8_t>(bytes[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= bytes.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<uint8_t>(bytes[i + k]) >> 6) == 0x2;
    if (ok)
      out.append(bytes, i, len), i += len;
    else
      out += "\xEF\xBF\xBD", i += 1;
  }
  return out;
}

// Whether text holds a letter or digit (any non-ASCII byte counts): a window
// decoded to punctuation alone heard no speech.
bool HasWords(const std::string& text) {
  for (char c : text)
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

}  // namespace

StreamingDecoder::StreamingDecoder(std::shared_ptr<const WhisperModel> model, const StreamingOptions& options)
    : model_(std::move(model)), options_(options), mel_(model_->info().n_mels) {
  ECHOIC_CHECK(options_.max_window_s >= 2.f && options_.max_window_s <= model_->info().window_seconds() - 1.f,
               ErrorCode::kInvalidArgument, "whisper streaming: max window must be 2..",
               model_->info().window_seconds() - 1.f, " s, got ", options_.max_window_s);
  ECHOIC_CHECK(options_.endpoint_silence_s > 0.f && options_.partial_step_s > 0.f && options_.lead_in_s >= 0.f,
               ErrorCode::kInvalidArgument,
               "whisper streaming: endpoint silence, partial step and lead-in must be > 0");
}

std::unique_ptr<StreamingState> StreamingDecoder::NewState(
    std::unique_ptr<vad::VoiceActivityDetector> vad, const std::vector<std::pair<std::string, float>>& hotwords) const {
  ECHOIC_CHECK(vad && vad->sample_rate() == kRate, ErrorCode::kInvalidArgument,
               "whisper streaming needs a 16 kHz voice activity detector");
  auto s = std::make_unique<StreamingState>();
  s->vad_ = std::move(vad);
  const Tokenizer& tok = model_->tokenizer();
  for (const auto& [phrase, boost] : hotwords) {
    ECHOIC_CHECK(std::isfinite(boost), ErrorCode::kInvalidArgument, "whisper stream: hotword boost must be finite");
    std::string t = Trim(phrase);
    if (t.empty()) continue;
    std::string capital = t;
    if (capital[0] >= 'a' && capital[0] <= 'z') capital[0] = static_cast<char>(capital[0] - 'a' + 'A');
    s->hotword_tokens_.push_back({tok.Encode(" " + t), boost});
    if (capital != t) s->hotword_tokens_.push_back({tok.Encode(" " + capital), boost});
  }
  return s;
}

void StreamingDecoder::Accept(StreamingState* s, const float* samples, size_t n) const {
  ECHOIC_CHECK(!s->finished_, ErrorCode::kState, "whisper stream: audio after input_finished");
  s->audio_.insert(s->audio_.end(), samples, samples + n);
  s->received_ += static_cast<int64_t>(n);
}

void StreamingDecoder::InputFinished(StreamingState* s) const { s->finished_ = true; }

bool StreamingDecoder::IsReady(const StreamingState& s) const {
  return s.received_ - s.consumed_ >= kHop || (s.finished_ && !s.drained_);
}

std::vector<int32_t> StreamingDecoder::Prompt(const StreamingState& s) const {
  return options_.condition_on_previous_text ? s.context_ : std::vector<int32_t>();
}

std::vector<float> StreamingDecoder::Mel(const StreamingState& s, int64_t end) const {
  const auto& info = model_->info();
  const size_t n = static_cast<size_t>(std::min<int64_t>(end - s.window_start_, info.n_samples()));
  std::vector<float> mel(static_cast<size_t>(info.n_mels) * 2 * info.n_audio_ctx);
  mel_.Compute(s.audio_.data(), n, 2 * info.n_audio_ctx, mel.data());
  return mel;
}

void StreamingDecoder::Decode(const std::vector<StreamingState*>& states) const {
  std::vector<Closing> closing;
  for (StreamingState* s : states) {
    ECHOIC_CHECK(s != nullptr, ErrorCode::kInvalidArgument, "decode: a stream is null");
    while (IsReady(*s)) {
      const int64_t step = std::min(kHop, s->received_ - s->consumed_);
      if (step > 0) {
        s->vad_->Accept(s->audio_.data() + (s->consumed_ - s->window_start_), static_cast<size_t>(step));
        s->consumed_ += step;
      }
      const bool last = s->finished_ && s->consumed_ == s->received_;
      if (last) s->vad_->Flush();
      const float length = static_cast<float>(s->consumed_ - s->window_start_) / kRate;
      const float trailing = std::min(s->vad_->TrailingSilenceSeconds(), length);
      const bool speech = s->vad_->SpeechSinceReset() || !s->confirmed_.empty();
      if (last) {
        s->drained_ = true;
        if (speech) {
          closing.push_back({s, s->consumed_, false});
        } else if (s->segment_ == 0) {
          s->finals_.push_back(
              MakeResult(*s, {}, {}, {}, true));  // a stream that heard nothing ends with one empty final
          s->segment_ += 1;
        }
        break;
      }
      if (!speech) {
        // Only silence so far: keep a short lead-in, drop the rest unheard.
        const int64_t keep_from = s->consumed_ - Samples(options_.lead_in_s);
        if (keep_from > s->window_start_) {
          s->audio_.erase(s->audio_.begin(), s->audio_.begin() + (keep_from - s->window_start_));
          s->window_start_ = keep_from;
        }
      } else if (trailing >= options_.endpoint_silence_s) {
        const float cut_back = std::max(0.f, trailing - options_.lead_in_s);
        closing.push_back({s, s->consumed_ - Samples(cut_back), false});
        break;
      } else if (length >= options_.max_window_s) {
        closing.push_back({s, s->consumed_, true});
        break;
      }
    }
  }
  if (!closing.empty()) CloseWindows(closing);
}

void StreamingDecoder::CloseWindows(const std::vector<Closing>& closing) const {
  const auto& info = model_->info();
  const Tokenizer& tok = model_->tokenizer();
  std::vector<float> mels;
  for (const Closing& c : closing) {
    std::vector<float> m = Mel(*c.state, c.end);
    mels.insert(mels.end(), m.begin(), m.end());
  }
  CrossCache batch = model_->Encode(mels, static_cast<int64_t>(closing.size()));
  std::vector<std::vector<int32_t>> prompts, prefixes;
  std::vector<DecodingOptions> per_window;
  for (const Closing& c : closing) {
    prompts.push_back(Prompt(*c.state));
    prefixes.push_back(c.state->confirmed_);
    per_window.push_back(options_.decoding);
    per_window.back().seed = static_cast<uint32_t>(c.state->segment_);
    per_window.back().hotwords = c.state->hotword_tokens_;
  }
  // Windows closing together (several streams) share one decoder batch.
  std::vector<DecodingResult> results = DecodeWindows(*model_, batch, prompts, prefixes, per_window);
  for (size_t i = 0; i < closing.size(); ++i) {
    StreamingState* s = closing[i].state;
    CrossCache row;
    if (closing.size() > 1) row = WhisperModel::SelectRows(batch, {static_cast<int32_t>(i)});
    const CrossCache& cross = closing.size() == 1 ? batch : row;
    const DecodingResult& r = results[i];
    std::vector<int32_t> tokens = r.tokens;
    std::vector<float> probs = r.probs;
    // Too short to hold a word: Whisper answers such slivers with stock phrases.
    const bool sliver = closing[i].end - s->window_start_ < Samples(options_.min_window_s);
    const bool no_words = !HasWords(model_->tokenizer().Decode(tokens));  // e.g. ". . ." on noise
    if ((r.no_speech || sliver || no_words) && s->confirmed_.empty()) tokens.clear(), probs.clear();
    const int32_t audio_frames = static_cast<int32_t>((closing[i].end - s->window_start_) / 320);
    std::vector<TokenSpan> spans = TimeTokens(*model_, cross, tokens, audio_frames);
    int64_t next_start = closing[i].end;
    bool trimmed = false;
    if (closing[i].forced) {
      // Keep the last word for the next window (it may be cut off), unless it is confirmed.
      std::vector<size_t> words = WordStarts(tok, tokens);
      if (words.size() >= 2 && words.back() >= s->confirmed_.size()) {
        const size_t keep = words.back();
        tokens.resize(keep), probs.resize(keep), spans.resize(keep);
        trimmed = true;
        next_start = s->window_start_ + Samples(spans.back().end);
        next_start = std::clamp(next_start, s->window_start_ + 1, closing[i].end);
      }
    }
    // A stream that heard nothing still ends with one (empty) final.
    if (!tokens.empty() || (s->drained_ && s->segment_ == 0)) {
      s->finals_.push_back(MakeResult(*s, tokens, probs, spans, true));
      if (options_.decoding.nbest > 1 && !tokens.empty()) {
        // The other beams' texts; a window cut at its longest (its last word moved on to the
        // next window) has only the text it kept.
        asr::Result& f = s->finals_.back();
        f.alternatives.push_back({f.text, r.alternatives.empty() ? r.avg_logprob : r.alternatives[0].score});
        for (size_t k = 1; k < r.alternatives.size() && !trimmed; ++k) {
          asr::Alternative a{Trim(tok.Decode(r.alternatives[k].tokens)), r.alternatives[k].score};
          if (!a.text.empty() && std::none_of(f.alternatives.begin(), f.alternatives.end(),
                                              [&](const asr::Alternative& o) { return o.text == a.text; }))
            f.alternatives.push_back(std::move(a));
        }
      }
      s->segment_ += 1;
      s->context_.insert(s->context_.end(), tokens.begin(), tokens.end());
      const size_t max_context = static_cast<size_t>(info.n_text_ctx / 2 - 1);
      if (s->context_.size() > max_context)
        s->context_.erase(s->context_.begin(), s->context_.end() - static_cast<std::ptrdiff_t>(max_context));
    }
    s->audio_.erase(s->audio_.begin(), s->audio_.begin() + (next_start - s->window_start_));
    s->window_start_ = next_start;
    s->confirmed_.clear();
    s->last_tail_.clear();
    s->last_partial_at_ = -1;
    s->partial_ = asr::Result();
    if (!closing[i].forced) s->vad_->ResetSegment();
  }
}

asr::Result StreamingDecoder::Partial(StreamingState* s) const {
  const bool speech = s->vad_->SpeechSinceReset() || !s->confirmed_.empty();
  if (s->drained_ || !speech) return MakeResult(*s, {}, {}, {}, false);
  if (s->last_partial_at_ >= 0 && s->consumed_ - s->last_partial_at_ < Samples(options_.partial_step_s))
    return s->partial_;
  s->last_partial_at_ = s->consumed_;
  std::vector<float> mel = Mel(*s, s->consumed_);
  CrossCache cross = model_->Encode(mel, 1);
  DecodingOptions opts = options_.decoding;
  opts.temperatures = {0.f};  // partials are provisional: no fallback passes
  opts.hotwords = s->hotword_tokens_;
  DecodingResult r = DecodeWindow(*model_, cross, Prompt(*s), s->confirmed_, opts);
  std::vector<int32_t> tail(r.tokens.begin() + static_cast<std::ptrdiff_t>(s->confirmed_.size()), r.tokens.end());
  // A partial has no fallback passes, so it is judged more strictly than a final:
  // a low log-prob, a likely no-speech window or a sliver of audio shows nothing.
  const bool sliver = s->consumed_ - s->window_start_ < Samples(options_.min_window_s);
  if (r.no_speech || r.avg_logprob < opts.logprob_threshold || r.no_speech_prob > opts.no_speech_threshold || sliver ||
      !HasWords(model_->tokenizer().Decode(tail)))
    tail.clear();
  // Confirm the words both of the last two partials agree on, up to a word start both share.
  const Tokenizer& tok = model_->tokenizer();
  size_t agree = 0;
  while (agree < tail.size() && agree < s->last_tail_.size() && tail[agree] == s->last_tail_[agree]) ++agree;
  size_t confirm = 0;
  for (size_t j = 1; j <= agree; ++j) {
    const bool word_starts_here = j < tail.size() && tok.StartsWord(tail[j]) &&
                                  (j < agree || (j < s->last_tail_.size() && tok.StartsWord(s->last_tail_[j])));
    if (word_starts_here) confirm = j;
  }
  s->confirmed_.insert(s->confirmed_.end(), tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(confirm));
  s->last_tail_.assign(tail.begin() + static_cast<std::ptrdiff_t>(confirm), tail.end());
  std::vector<int32_t> tokens = s->confirmed_;
  tokens.insert(tokens.end(), s->last_tail_.begin(), s->last_tail_.end());
  std::vector<float> probs(r.probs.begin(),
                           r.probs.begin() + static_cast<std::ptrdiff_t>(std::min(tokens.size(), r.probs.size())));
  probs.resize(tokens.size(), 1.f);
  const int32_t audio_frames = static_cast<int32_t>((s->consumed_ - s->window_start_) / 320);
  std::vector<TokenSpan> spans = TimeTokens(*model_, cross, tokens, audio_frames);
  s->partial_ = MakeResult(*s, tokens, probs, spans, false);
  s->partial_.stable_words = static_cast<int32_t>(WordStarts(tok, s->confirmed_).size());
  return s->partial_;
}

std::vector<asr::Result> StreamingDecoder::TakeFinals(StreamingState* s) const {
  std::vector<asr::Result> out(s->finals_.begin(), s->finals_.end());
  s->finals_.clear();
  return out;
}

asr::Result StreamingDecoder::MakeResult(const StreamingState& s, const std::vector<int32_t>& tokens,
                                         const std::vector<float>& probs, const std::vector<TokenSpan>& spans,
                                         bool is_final) const {
  const Tokenizer& tok = model_->tokenizer();
  asr::Result r;
  r.is_final = is_final;
  r.segment = s.segment_;
  r.segment_start = static_cast<float>(s.window_start_) / kRate;
  r.model = model_->info().name;
  r.text = Trim(tok.Decode(tokens));
  r.token_ids = tokens;
  for (size_t i = 0; i < tokens.size(); ++i) {
    r.tokens.push_back(DisplayToken(tok.Bytes(tokens[i])));
    r.token_times.push_back(r.segment_start + (i < spans.size() ? spans[i].start : 0.f));
    r.token_confidences.push_back(i < probs.size() ? probs[i] : 1.f);
  }
  std::vector<size_t> starts = WordStarts(tok, tokens);
  for (size_t w = 0; w < starts.size(); ++w) {
    const size_t b = starts[w], e = w + 1 < starts.size() ? starts[w + 1] : tokens.size();
    asr::WordInfo info;
    info.word = Trim(tok.Decode(std::vector<int32_t>(tokens.begin() + b, tokens.begin() + e)));
    if (info.word.empty()) continue;
    info.start = r.segment_start + (b < spans.size() ? spans[b].start : 0.f);
    info.end = r.segment_start + (e - 1 < spans.size() ? spans[e - 1].end : 0.f);
    float c = 0.f;
    for (size_t i = b; i < e; ++i) c += r.token_confidences[i];
    info.confidence = c / static_cast<float>(e - b);
    r.words.push_back(std::move(info));
  }
  r.stable_words = is_final ? static_cast<int32_t>(r.words.size()) : 0;
  return r;
}

}  // namespace echoic::whisper
