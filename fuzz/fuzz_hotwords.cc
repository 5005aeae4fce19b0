// Hotword lists: ParseHotwords (the one grammar of every binding), the recognizer's limit
// check, then the context graph the beam decoder builds (MakeHotwordGraph, with the bundled
// echoic-small-en tokens), walked over the phrases' own tokens.
#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/hotwords.h"
#include "echoic/decoding/segment_decoder.h"
#include "echoic/decoding/symbol_table.h"
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
    std::vector<decoding::Hotword> hw = decoding::ParseHotwords(std::string(reinterpret_cast<const char*>(data), size));
    decoding::CheckHotwordLimits(hw);
    // Phrases the tokens cannot spell are refused as a whole list; keep the rest to reach the graph.
    std::vector<decoding::Hotword> spellable;
    for (const decoding::Hotword& h : hw)
      fuzz::ExpectTypedErrors([&] {
        (void)decoding::MakeHotwordGraph(sym, {h}, 1.5f);
        spellable.push_back(h);
      });
    auto g = decoding::MakeHotwordGraph(sym, spellable, 1.5f);
    if (!g) return;
    decoding::ContextGraph::State s = g->Root();
    float total = 0.f;
    for (int32_t i = 0; i < g->num_phrases(); ++i)
      for (int32_t t : g->phrase(i).tokens) {
        decoding::ContextGraph::Step st = g->Forward(s, t);
        total += st.score;
        s = st.state;
      }
    total += g->Finalize(s) + g->Pending(s);
    (void)total;
  });
  return 0;
}
