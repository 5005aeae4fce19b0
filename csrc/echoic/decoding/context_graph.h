// Contextual biasing ("hotwords"): an Aho-Corasick automaton over token-id
// sequences. Walking a hypothesis' tokens through it yields a boost per token;
// boosts of a partial match are taken back when the match breaks, so only
// completed phrases keep their boost.
#ifndef ECHOIC_DECODING_CONTEXT_GRAPH_H_
#define ECHOIC_DECODING_CONTEXT_GRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "echoic/decoding/symbol_table.h"

namespace echoic::decoding {

struct ContextPhrase {
  std::vector<int32_t> tokens;
  float boost = 0.f;  // per-token boost; <= 0 means the graph's default
  std::string label;  // reported on a match (e.g. the hotword text)
};

class ContextGraph {
 public:
  using State = int32_t;  // node id; Root() is the empty match
  struct Step {
    float score = 0.f;    // to add to the hypothesis' context score
    State state = 0;      // state after the token
    int32_t phrase = -1;  // index of a phrase completed by this token, else -1
  };

  // kInvalidArgument: no phrases, an empty phrase, a negative token id (or one
  // >= vocab_size when vocab_size > 0), a non-finite boost, default <= 0.
  ContextGraph(const std::vector<ContextPhrase>& phrases, float default_boost = 1.5f, int32_t vocab_size = 0);

  State Root() const { return 0; }
  Step Forward(State state, int32_t token) const;
  // Score to add at the end of an utterance: takes back an unfinished match.
  float Finalize(State state) const;
  // Boost held by an unfinished match in `state` (what Finalize takes back).
  float Pending(State state) const;

  int32_t num_phrases() const { return static_cast<int32_t>(phrases_.size()); }
  const ContextPhrase& phrase(int32_t i) const { return phrases_.at(i); }
  int32_t num_states() const { return static_cast<int32_t>(nodes_.size()); }

 private:
  struct Node {
    int32_t token = -1;
    float edge_boost = 0.f;  // boost for entering this node (max over phrases sharing the edge)
    float node_score = 0.f;  // boost accumulated from the root along the trie path
    float base = 0.f;        // node_score of the deepest phrase end on that path (kept on failure)
    int32_t fail = 0;
    int32_t phrase = -1;                            // phrase ending exactly here
    int32_t output = -1;                            // nearest phrase end reachable through fail links
    std::vector<std::pair<int32_t, int32_t>> next;  // sorted (token, node)
  };
  int32_t Child(int32_t node, int32_t token) const;
  std::vector<Node> nodes_;
  std::vector<ContextPhrase> phrases_;
};

// Greedy longest-match encoding of text with a char or BPE vocabulary: words are
// split at whitespace and each gets the "▁" word prefix (as a separate "▁" token
// or merged into the first piece, whichever the vocabulary offers; dropped when
// the vocabulary has no "▁" pieces at all); pieces missing from the vocabulary
// fall back to <0xHH> byte tokens; a word that cannot be encoded as written is
// retried in ASCII upper, then lower case (vocabularies of one case).
// kInvalidArgument when text is empty or a character cannot be encoded.
std::vector<int32_t> EncodeWithTokens(const std::string& text, const SymbolTable& symbols);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_CONTEXT_GRAPH_H_
