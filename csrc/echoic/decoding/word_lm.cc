#include "echoic/decoding/word_lm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

constexpr double kLn10 = 2.302585092994046;
constexpr double kPartialWordPenalty = -1e4;
constexpr int32_t kBos = -1, kEos = -2, kUnk = -3;
constexpr uint64_t kCodeBits = 21;

// <s> -> 1, </s> -> 2, word i -> i + 3; 0 = no word (shorter n-grams). <unk>
// never takes part in a higher n-gram (see Log10Prob).
uint64_t Code(int32_t w) { return static_cast<uint64_t>(w + 3); }
uint64_t Key(int32_t a, int32_t b, int32_t c) {
  return (Code(a) << (2 * kCodeBits)) | (Code(b) << kCodeBits) | Code(c);
}
uint64_t Key(int32_t a, int32_t b) { return (Code(a) << kCodeBits) | Code(b); }

bool ParseFloat(const std::string& s, float* out) {
  char* end = nullptr;
  *out = std::strtof(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' && std::isfinite(*out);
}

}  // namespace

void WordLmConfig::Validate() const {
  ECHOIC_CHECK(std::isfinite(scale) && scale >= 0.f, ErrorCode::kInvalidArgument,
               "word LM config: lm_scale must be a finite number >= 0, got ", scale);
  ECHOIC_CHECK(std::isfinite(word_bonus), ErrorCode::kInvalidArgument,
               "word LM config: word_bonus must be finite, got ", word_bonus);
}

std::shared_ptr<const WordLm> WordLm::FromArpa(const std::string& path, const SymbolTable& symbols,
                                               const WordLmConfig& config) {
  std::ifstream in(path, std::ios::binary);
  ECHOIC_CHECK(in.good(), ErrorCode::kIo, "word LM '", path, "': cannot open the file");
  auto lm = FromArpaStream(in, symbols, config, path);
  ECHOIC_CHECK(!in.bad(), ErrorCode::kIo, "word LM '", path, "': read error");
  return lm;
}

std::shared_ptr<const WordLm> WordLm::FromArpaText(const std::string& text, const SymbolTable& symbols,
                                                   const WordLmConfig& config, const std::string& source_name) {
  std::istringstream in(text);
  return FromArpaStream(in, symbols, config, source_name);
}

std::shared_ptr<const WordLm> WordLm::FromArpaStream(std::istream& in, const SymbolTable& symbols,
                                                     const WordLmConfig& config, const std::string& source_name) {
  config.Validate();
  std::shared_ptr<WordLm> lm(new WordLm());
  lm->config_ = config;
  lm->source_ = source_name;
  lm->Build(in, symbols);  // parsed line by line: no copy of the whole file
  return lm;
}

void WordLm::Build(std::istream& in, const SymbolTable& symbols) {
  // Token texts, and the bytes any token can produce (a word needs all of its bytes there).
  bool producible[256] = {false};
  for (int32_t id = 0; id < symbols.size(); ++id) {
    std::string t = symbols.Token(id);
    uint8_t kind = 0;
    if (id == symbols.blank_id() || symbols.IsSpecial(id)) {
      kind = 2;
      t.clear();
    } else if (symbols.IsWordStart(id)) {
      kind = 1;
      t = t.substr(3);  // U+2581 is 3 bytes of UTF-8
    }
    for (unsigned char b : t) producible[b] = true;
    token_text_.push_back(t);
    token_kind_.push_back(kind);
  }
  trie_.emplace_back();  // root

  std::string line;
  int64_t line_no = 0;
  int32_t section = -1;  // -1 before \data\, 0 in \data\, n in \n-grams:
  auto bad = [&](const std::string& why) {
    Fail(ErrorCode::kCorruptData, "word LM '", source_, "' line ", line_no, ": ", why);
  };
  std::vector<std::string> f;
  bool ended = false, have_unk = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line == "\\data\\") {
      section = 0;
      continue;
    }
    if (line == "\\end\\") {
      ended = true;
      break;
    }
    if (line[0] == '\\') {
      int n = 0;
      if (std::sscanf(line.c_str(), "\\%d-grams:", &n) != 1 || n < 1) bad("unknown section '" + line + "'");
      ECHOIC_CHECK(n <= 3, ErrorCode::kModel, "word LM '", source_, "': order ", n,
                   " is not supported (at most 3; prune it, e.g. with KenLM's --prune or by order)");
      section = n;
      order_ = std::max(order_, n);
      continue;
    }
    if (section < 0) bad("text before \\data\\");
    if (section == 0) {
      if (line.rfind("ngram ", 0) != 0) bad("expected 'ngram N=count' in \\data\\");
      continue;
    }
    f.clear();
    std::istringstream ls(line);
    for (std::string w; ls >> w;) f.push_back(w);
    const size_t n = static_cast<size_t>(section);
    if (f.size() != n + 1 && f.size() != n + 2)
      bad("expected log10 prob, " + std::to_string(n) + " word(s), optional back-off");
    Entry e;
    if (!ParseFloat(f[0], &e.log10_prob)) bad("bad log10 probability '" + f[0] + "'");
    if (f.size() == n + 2 && !ParseFloat(f[n + 1], &e.log10_backoff)) bad("bad back-off weight '" + f[n + 1] + "'");
    if (n == 1) {
      const std::string& w = f[1];
      if (w == "<s>") {
        bos_ = e;
        continue;
      }
      if (w == "</s>") {
        eos_log10_ = e.log10_prob;
        continue;
      }
      if (w == "<unk>" || w == "<UNK>") {
        unk_ = e;
        have_unk = true;
        continue;
      }
      bool ok = !w.empty();
      for (unsigned char b : w) ok = ok && producible[b];
      if (!ok || WordId(w) >= 0) continue;  // unspellable with these tokens (or a duplicate line)
      const int32_t id = static_cast<int32_t>(unigrams_.size());
      ECHOIC_CHECK(id + 3 < (1 << kCodeBits), ErrorCode::kModel, "word LM '", source_, "': more than ",
                   (1 << kCodeBits) - 3, " words");
      unigrams_.push_back(e);
      int32_t node = 0;
      for (unsigned char b : w) {
        int32_t c = Child(node, b);
        if (c < 0) {
          c = static_cast<int32_t>(trie_.size());
          TrieNode t;
          t.byte = b;
          t.next_sibling = trie_[node].first_child;
          trie_.push_back(t);
          trie_[node].first_child = c;
        }
        node = c;
      }
      trie_[node].word = id;
      continue;
    }
    int32_t w[3] = {0, 0, 0};
    bool known = true;
    for (size_t i = 0; i < n; ++i) {
      const std::string& s = f[1 + i];
      if (s == "<s>")
        w[i] = kBos;
      else if (s == "</s>")
        w[i] = kEos;
      else if ((w[i] = WordId(s)) < 0) {
        known = false;
        break;
      }
    }
    if (!known) continue;  // mentions a word outside the lexicon
    higher_[n == 2 ? Key(w[0], w[1]) : Key(w[0], w[1], w[2])] = e;
  }
  if (section < 0) Fail(ErrorCode::kCorruptData, "word LM '", source_, "': no \\data\\ section (not an ARPA file)");
  ECHOIC_CHECK(ended, ErrorCode::kCorruptData, "word LM '", source_, "': truncated (no \\end\\ line)");
  if (!have_unk) {  // no <unk> line: an unknown word is as likely as the rarest known one
    unk_.log10_prob = 0.f;
    for (const Entry& e : unigrams_) unk_.log10_prob = std::min(unk_.log10_prob, e.log10_prob);
  }
  ECHOIC_CHECK(!unigrams_.empty(), ErrorCode::kModel, "word LM '", source_,
               "': none of its words can be spelled with the model's tokens (", symbols.source(),
               "); is the case the same?");
}

int32_t WordLm::Child(int32_t node, unsigned char byte) const {
  for (int32_t c = trie_[node].first_child; c >= 0; c = trie_[c].next_sibling)
    if (trie_[c].byte == byte) return c;
  return -1;
}

int32_t WordLm::Walk(int32_t node, const std::string& bytes) const {
  for (unsigned char b : bytes) {
    node = Child(node, b);
    if (node < 0) return -1;
  }
  return node;
}

int32_t WordLm::WordId(const std::string& word) const {
  const int32_t node = word.empty() ? -1 : Walk(0, word);
  return node < 0 ? -1 : trie_[node].word;
}

double WordLm::Log10Prob(int32_t w1, int32_t w2, int32_t word) const {
  const double p1 = word == kEos ? eos_log10_ : (word >= 0 ? unigrams_[word].log10_prob : unk_.log10_prob);
  // An <unk> (out-of-lexicon word) being predicted or in the history: unigram only.
  if (order_ < 2 || word == kUnk || w2 == kUnk) return p1;
  // History of one word: <s> at the start of a segment, else the last word.
  auto bigram = [&]() -> double {
    if (auto it = higher_.find(Key(w2, word)); it != higher_.end()) return it->second.log10_prob;
    const double bo = w2 == kBos ? bos_.log10_backoff : unigrams_[w2].log10_backoff;
    return bo + p1;
  };
  if (order_ < 3 || w2 == kBos || w1 == kUnk) return bigram();
  if (auto it = higher_.find(Key(w1, w2, word)); it != higher_.end()) return it->second.log10_prob;
  auto h = higher_.find(Key(w1, w2));
  return (h != higher_.end() ? h->second.log10_backoff : 0.0) + bigram();
}

double WordLm::WordScore(const State& s, int32_t word) const {
  return config_.scale * kLn10 * Log10Prob(s.w1, s.w2, word) + config_.word_bonus;
}

bool WordLm::CloseWord(const State& s, double* score, State* after) const {
  *after = s;
  *score = 0.0;
  if (s.node == 0) return true;
  const int32_t word = s.node == kOutOfLexicon ? kUnk : trie_[s.node].word;
  if (word == -1) return false;  // a partial lexicon word
  *score = WordScore(s, word);
  after->w1 = s.w2;
  after->w2 = word;
  after->node = 0;
  return true;
}

WordLm::Step WordLm::Forward(const State& s, int32_t token) const {
  Step out;
  out.state = s;
  if (token < 0 || token >= static_cast<int32_t>(token_kind_.size())) return out;  // not allowed
  const uint8_t kind = token_kind_[token];
  if (kind == 2) {
    out.allowed = true;
    return out;
  }
  if (kind == 1) {  // a word start closes the open word
    if (!CloseWord(s, &out.score, &out.state)) return out;
  } else if (s.node == kOutOfLexicon) {
    return out;  // only ForwardOutOfLexicon (a hotword match) extends such a word
  }
  const int32_t node = Walk(out.state.node, token_text_[token]);
  if (node < 0) return out;
  out.state.node = node;
  out.allowed = true;
  return out;
}

WordLm::Step WordLm::ForwardOutOfLexicon(const State& s, int32_t token) const {
  Step out = Forward(s, token);
  if (out.allowed || token < 0 || token >= static_cast<int32_t>(token_kind_.size())) return out;
  out = Step{};
  out.state = s;
  if (token_kind_[token] == 1) {
    // Close what is open; a partial lexicon word turns out to be out of lexicon.
    State open = s;
    if (s.node > 0 && trie_[s.node].word < 0) open.node = kOutOfLexicon;
    CloseWord(open, &out.score, &out.state);
  }
  out.state.node = kOutOfLexicon;
  out.allowed = true;
  return out;
}

double WordLm::Finalize(const State& s) const {
  State h;
  double score = 0.0;
  if (!CloseWord(s, &score, &h)) return kPartialWordPenalty;
  return score + config_.scale * kLn10 * Log10Prob(h.w1, h.w2, kEos);
}

}  // namespace echoic::decoding
