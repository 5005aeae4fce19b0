// ARPA word LM: the input is ARPA text read with the bundled echoic-small-en tokens (the
// lexicon is the ARPA words those tokens spell); a model that loads is walked over a few
// token sequences as the beam search would.
#include "echoic/decoding/symbol_table.h"
#include "echoic/decoding/word_lm.h"
#include "fuzz_common.h"

using namespace echoic;

namespace {
const decoding::SymbolTable& Symbols() {
  static const decoding::SymbolTable s = decoding::SymbolTable::FromFile(ECHOIC_FUZZ_TOKENS);
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const decoding::SymbolTable& sym = Symbols();
  fuzz::ExpectTypedErrors([&] {
    auto lm =
        decoding::WordLm::FromArpaText(std::string(reinterpret_cast<const char*>(data), size), sym, {}, "fuzz.arpa");
    const int32_t n = sym.size();
    for (int32_t seed = 0; seed < 4; ++seed) {
      decoding::WordLm::State s = lm->Start();
      for (int32_t step = 0; step < 24; ++step) {
        // The first token the lexicon allows from a pseudo-random start, so walks spell words.
        for (int32_t k = 0; k < 64; ++k) {
          const int32_t token = (seed * 131 + step * 977 + k * 31) % n;
          decoding::WordLm::Step st = (step % 5 == 4) ? lm->ForwardOutOfLexicon(s, token) : lm->Forward(s, token);
          if (st.allowed) {
            s = st.state;
            break;
          }
        }
      }
      (void)lm->Finalize(s);
    }
    const int32_t w = lm->num_words();
    for (int32_t i = 0; i < 16 && w > 0; ++i) (void)lm->Log10Prob(i % w - 1, (i * 7) % w, (i * 13) % w);
  });
  return 0;
}
