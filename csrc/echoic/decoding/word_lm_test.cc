#include "echoic/decoding/word_lm.h"

#include <cmath>
#include <string>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/ctc_prefix_beam_search.h"
#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::CtcBeamSearchConfig;
using echoic::decoding::CtcPrefixBeamSearch;
using echoic::decoding::WordLm;
using echoic::decoding::WordLmConfig;
namespace tu = echoic::decoding::testutil;

namespace {

// A hand-made bigram model: "public trust" is likely, "poblic"/"trost" are not words.
const char* kArpa = R"(\data\
ngram 1=7
ngram 2=3

\1-grams:
-1.0	<s>	-0.3
-1.0	</s>
-0.6	public	-0.2
-0.7	trust	-0.2
-1.2	the	-0.3
-2.0	cat
-3.0	<unk>

\2-grams:
-0.1	<s> public
-0.05	public trust
-0.2	trust </s>

\end\
)";

std::shared_ptr<const WordLm> Lm(float scale = 1.f, float bonus = 0.f) {
  return WordLm::FromArpaText(kArpa, tu::CharVocab(), WordLmConfig{scale, bonus}, "test.arpa");
}

WordLm::State Spell(const WordLm& lm, const std::string& s, double* score, bool* ok) {
  WordLm::State st = lm.Start();
  *score = 0.0;
  *ok = true;
  for (char c : s) {
    auto step = lm.Forward(st, tu::Id(c));
    if (!step.allowed) {
      *ok = false;
      return st;
    }
    *score += step.score;
    st = step.state;
  }
  return st;
}

}  // namespace

TEST(arpa_probabilities_with_back_off) {
  auto lm = Lm();
  CHECK_EQ(lm->num_words(), 4);
  CHECK_EQ(lm->order(), 2);
  const int32_t pub = lm->WordId("public"), trust = lm->WordId("trust"), the = lm->WordId("the");
  CHECK(pub >= 0 && trust >= 0 && the >= 0);
  CHECK_EQ(lm->WordId("poblic"), -1);
  CHECK_NEAR(lm->Log10Prob(-1, -1, pub), -0.1, 1e-6);          // listed bigram <s> public
  CHECK_NEAR(lm->Log10Prob(-1, pub, trust), -0.05, 1e-6);      // listed bigram
  CHECK_NEAR(lm->Log10Prob(-1, pub, the), -0.2 + -1.2, 1e-6);  // back-off(public) + P(the)
  CHECK_NEAR(lm->Log10Prob(-1, -1, the), -0.3 + -1.2, 1e-6);   // back-off(<s>) + P(the)
}

TEST(forward_follows_the_lexicon_and_scores_words) {
  auto lm = Lm(1.f, 0.5f);
  double score = 0.0;
  bool ok = false;
  auto st = Spell(*lm, " public trust", &score, &ok);
  CHECK(ok);
  // "public" is scored when "▁" starts the next word: ln(10) * -0.1 + bonus.
  CHECK_NEAR(score, std::log(10.0) * -0.1 + 0.5, 1e-6);
  // Finalize closes "trust" (bigram -0.05) and adds </s> (bigram trust </s> -0.2).
  CHECK_NEAR(lm->Finalize(st), std::log(10.0) * (-0.05 - 0.2) + 0.5, 1e-6);
  Spell(*lm, " poblic", &score, &ok);
  CHECK(!ok);  // "po" leads to no lexicon word
  st = Spell(*lm, " pub", &score, &ok);
  CHECK(ok);
  CHECK(lm->Finalize(st) < -1000.0);                                     // ends inside a word
  CHECK(!lm->Forward(st, tu::Id(' ')).allowed);                          // "pub" is not a word
  CHECK(lm->Forward(st, 0).allowed && lm->Forward(st, 0).score == 0.0);  // blank changes nothing
}

TEST(beam_search_with_lm_spells_words_the_acoustics_blur) {
  // Acoustics favour "poblic trost" slightly at two frames; the LM corrects both.
  std::vector<float> lp;
  auto add = [&](const std::vector<float>& f) { lp.insert(lp.end(), f.begin(), f.end()); };
  for (char c : std::string(" p")) add(tu::PeakyFrames(std::string(1, c)));
  add(tu::Frame({{'o', 0.55f}, {'u', 0.4f}}));
  for (char c : std::string("blic tr")) add(tu::PeakyFrames(std::string(1, c)));
  add(tu::Frame({{'o', 0.55f}, {'u', 0.4f}}));
  for (char c : std::string("st")) add(tu::PeakyFrames(std::string(1, c)));
  const int32_t T = static_cast<int32_t>(lp.size() / tu::kV);
  auto sym = tu::CharVocab();
  CtcBeamSearchConfig cfg;
  cfg.beam = 8;
  CtcPrefixBeamSearch plain(tu::kV, 0, cfg);
  plain.Accept(lp.data(), T, tu::kV);
  CHECK(sym.Detokenize(plain.Best(true).tokens) == "poblic trost");
  CtcPrefixBeamSearch with_lm(tu::kV, 0, cfg, nullptr, Lm(0.5f, 1.f));
  // Chunking does not change the result.
  for (int32_t t = 0; t < T; t += 3) with_lm.Accept(lp.data() + t * tu::kV, std::min(3, T - t), tu::kV);
  CHECK(sym.Detokenize(with_lm.Best(true).tokens) == "public trust");
}

TEST(hotwords_may_leave_the_lexicon) {
  // "dog" is no lexicon word: the LM alone cannot spell it; as a hotword it can.
  std::vector<float> lp;
  for (char c : std::string(" public dog")) {
    auto f = tu::PeakyFrames(std::string(1, c));
    lp.insert(lp.end(), f.begin(), f.end());
  }
  const int32_t T = static_cast<int32_t>(lp.size() / tu::kV);
  auto sym = tu::CharVocab();
  CtcBeamSearchConfig cfg;
  cfg.beam = 8;
  CtcPrefixBeamSearch lm_only(tu::kV, 0, cfg, nullptr, Lm(0.5f, 1.f));
  lm_only.Accept(lp.data(), T, tu::kV);
  CHECK(sym.Detokenize(lm_only.Best(true).tokens) != "public dog");
  echoic::decoding::ContextPhrase dog;
  dog.tokens = echoic::decoding::EncodeWithTokens("dog", sym);
  dog.label = "dog";
  auto graph =
      std::make_shared<echoic::decoding::ContextGraph>(std::vector<echoic::decoding::ContextPhrase>{dog}, 2.f, tu::kV);
  CtcPrefixBeamSearch with_hotword(tu::kV, 0, cfg, graph, Lm(0.5f, 1.f));
  with_hotword.Accept(lp.data(), T, tu::kV);
  CHECK(sym.Detokenize(with_hotword.Best(true).tokens) == "public dog");
  // The out-of-lexicon word is scored as <unk> (absent from the ARPA here: the rarest
  // word's probability), so it costs more than a lexicon word would.
  auto lm = Lm(1.f, 0.f);
  auto st = lm->Start();
  for (char c : std::string(" dog")) st = lm->ForwardOutOfLexicon(st, tu::Id(c)).state;
  CHECK(st.node == WordLm::kOutOfLexicon);
  auto closed = lm->Forward(st, tu::Id(' '));
  CHECK(closed.allowed && closed.state.node == 0);
  CHECK_NEAR(closed.score, std::log(10.0) * -3.0, 1e-6);  // <unk> -3.0 in kArpa
}

TEST(bad_arpa_files_are_typed_errors) {
  auto sym = tu::CharVocab();
  auto arpa = [&](const std::string& text) { return WordLm::FromArpaText(text, sym); };
  CHECK_THROWS_CODE(arpa("hello\n"), ErrorCode::kCorruptData);                                      // not ARPA
  CHECK_THROWS_CODE(arpa("\\data\\\nngram 1=1\n\\1-grams:\n-1.0 cat\n"), ErrorCode::kCorruptData);  // no end line
  CHECK_THROWS_CODE(arpa("\\data\\\nngram 1=1\n\\1-grams:\nx cat\n\\end\\\n"), ErrorCode::kCorruptData);
  CHECK_THROWS_CODE(arpa("\\data\\\nngram 1=1\n\\1-grams:\n-inf cat\n\\end\\\n"), ErrorCode::kCorruptData);
  CHECK_THROWS_CODE(arpa("\\data\\\nngram 4=1\n\\4-grams:\n"), ErrorCode::kModel);                     // order 4
  CHECK_THROWS_CODE(arpa("\\data\\\nngram 1=1\n\\1-grams:\n-1.0 CAT\n\\end\\\n"), ErrorCode::kModel);  // unspellable
  CHECK_THROWS_CODE(WordLm::FromArpa("/nonexistent/lm.arpa", sym), ErrorCode::kIo);
  CHECK_THROWS_CODE(WordLm::FromArpaText(kArpa, sym, WordLmConfig{-1.f, 0.f}), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(WordLm::FromArpaText(kArpa, sym, WordLmConfig{1.f, NAN}), ErrorCode::kInvalidArgument);
}

// A BPE-style word-start token ("\u2581zq") that the lexicon cannot spell, arriving
// while an out-of-lexicon word is open: the open word is closed as <unk> without
// looking up trie node -1 (a heap read before the trie, seen under ASan).
TEST(out_of_lexicon_word_closed_by_an_unspellable_word_start) {
  auto sym = echoic::decoding::SymbolTable::FromString(tu::CharVocabText() + "\xE2\x96\x81zq 29\n", "bpe-ish");
  auto lm = WordLm::FromArpaText(kArpa, sym, WordLmConfig{1.f, 0.f}, "test.arpa");
  auto st = lm->Start();
  for (char c : std::string(" dog")) st = lm->ForwardOutOfLexicon(st, tu::Id(c)).state;
  CHECK(st.node == WordLm::kOutOfLexicon);
  auto step = lm->ForwardOutOfLexicon(st, 29);
  CHECK(step.allowed);
  CHECK(step.state.node == WordLm::kOutOfLexicon);
  CHECK(step.state.w2 == -3);                           // "dog" closed as <unk>
  CHECK_NEAR(step.score, std::log(10.0) * -3.0, 1e-6);  // <unk> -3.0 in kArpa
}

TEST_MAIN()
