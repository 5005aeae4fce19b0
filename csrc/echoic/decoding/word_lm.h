// A word n-gram language model (ARPA, orders 1-3) with its lexicon, for CTC
// prefix beam search: tokens must spell lexicon words, and each completed word
// adds scale * ln P(word | history) + word_bonus. It fixes what an acoustic
// model alone does with unfamiliar words: spelling them as they sound.
#ifndef ECHOIC_DECODING_WORD_LM_H_
#define ECHOIC_DECODING_WORD_LM_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "echoic/decoding/symbol_table.h"

namespace echoic::decoding {

struct WordLmConfig {
  float scale = 0.8f;       // weight of ln P(word | history)
  float word_bonus = 3.0f;  // added per word (counters the LM's preference for few words)
  // kInvalidArgument: NaN/Inf, or scale < 0.
  void Validate() const;
};

class WordLm {
 public:
  // Hypothesis state: a lexicon trie node (0 = between words, kOutOfLexicon =
  // inside a word the lexicon lacks) and the last two words.
  static constexpr int32_t kOutOfLexicon = -1;
  struct State {
    int32_t node = 0;
    int32_t w1 = -1, w2 = -1;  // w2 is the most recent word; -1 = <s>, -3 = <unk>
  };
  struct Step {
    bool allowed = false;  // false: the token spells no lexicon word from here
    double score = 0.0;    // added to the hypothesis
    State state;
  };

  // Reads an ARPA file. Its unigrams that `symbols` can spell (words of
  // UTF-8 text; <s>, </s> and <unk> aside) are the lexicon. Errors: kIo
  // (cannot read), kCorruptData (malformed ARPA, naming file and line),
  // kModel (order > 3, or no spellable word).
  static std::shared_ptr<const WordLm> FromArpa(const std::string& path, const SymbolTable& symbols,
                                                const WordLmConfig& config = {});
  static std::shared_ptr<const WordLm> FromArpaText(const std::string& text, const SymbolTable& symbols,
                                                    const WordLmConfig& config = {},
                                                    const std::string& source_name = "<string>");
  static std::shared_ptr<const WordLm> FromArpaStream(std::istream& in, const SymbolTable& symbols,
                                                      const WordLmConfig& config, const std::string& source_name);

  State Start() const { return {}; }
  Step Forward(const State& s, int32_t token) const;
  // Like Forward, but a token the lexicon forbids starts or continues an
  // out-of-lexicon word, scored as <unk> when it ends. For hotwords: the
  // phrases a user boosts are often names no lexicon has. Forward itself only
  // closes such a word (a word-start token) or keeps it (blank).
  Step ForwardOutOfLexicon(const State& s, int32_t token) const;
  // End of a segment: closes the open word and adds </s>; a state inside a
  // partial word gets a large penalty (such a prefix is not a sentence).
  double Finalize(const State& s) const;

  int32_t num_words() const { return static_cast<int32_t>(unigrams_.size()); }
  int32_t order() const { return order_; }
  const std::string& source() const { return source_; }
  const WordLmConfig& config() const { return config_; }
  // log10 P(word | w1 w2) with back-off (ARPA convention); -1 = <s> in history.
  double Log10Prob(int32_t w1, int32_t w2, int32_t word) const;
  int32_t WordId(const std::string& word) const;  // -1 when not in the lexicon

 private:
  WordLm() = default;
  void Build(std::istream& in, const SymbolTable& symbols);
  int32_t Child(int32_t node, unsigned char byte) const;
  int32_t Walk(int32_t node, const std::string& bytes) const;  // -1 when off the trie
  double WordScore(const State& s, int32_t word) const;
  // Scores the word open in `s` (if any) and returns the state after it; false
  // when `s` ends inside a partial lexicon word.
  bool CloseWord(const State& s, double* score, State* after) const;

  struct TrieNode {
    int32_t first_child = -1, next_sibling = -1, word = -1;
    unsigned char byte = 0;
  };
  struct Entry {
    float log10_prob = 0.f, log10_backoff = 0.f;
  };
  WordLmConfig config_;
  std::string source_;
  int32_t order_ = 1;
  // Words live only in the trie (a word id is stored at its last node): a 64k-word
  // lexicon then costs a few MB, not the ~10 MB of string maps.
  std::vector<Entry> unigrams_;                 // by word id
  Entry unk_{-100.f, 0.f}, bos_{-99.f, 0.f};    // <unk> (also for words absent from the ARPA) and <s>
  float eos_log10_ = -1.f;                      // unigram </s>
  std::unordered_map<uint64_t, Entry> higher_;  // bigrams and trigrams, keyed by Key()
  std::vector<TrieNode> trie_;
  std::vector<std::string> token_text_;  // token id -> its bytes without the word-start mark
  std::vector<uint8_t> token_kind_;      // 0 plain, 1 word start, 2 no text (blank/special)
};

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_WORD_LM_H_
