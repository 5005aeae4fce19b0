#include "echoic/decoding/context_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

ContextGraph::ContextGraph(const std::vector<ContextPhrase>& phrases, float default_boost, int32_t vocab_size)
    : phrases_(phrases) {
  ECHOIC_CHECK(std::isfinite(default_boost) && default_boost > 0.f, ErrorCode::kInvalidArgument,
               "ContextGraph: default boost must be finite and > 0, got ", default_boost);
  ECHOIC_CHECK(!phrases.empty(), ErrorCode::kInvalidArgument, "ContextGraph: no phrases given");
  nodes_.emplace_back();  // root
  for (size_t p = 0; p < phrases.size(); ++p) {
    const auto& ph = phrases[p];
    ECHOIC_CHECK(!ph.tokens.empty(), ErrorCode::kInvalidArgument, "ContextGraph: phrase ", p, " ('", ph.label,
                 "') has no tokens");
    ECHOIC_CHECK(std::isfinite(ph.boost), ErrorCode::kInvalidArgument, "ContextGraph: phrase ", p, " ('", ph.label,
                 "') has a non-finite boost");
    const float boost = ph.boost > 0.f ? ph.boost : default_boost;
    int32_t cur = 0;
    for (int32_t tok : ph.tokens) {
      ECHOIC_CHECK(tok >= 0 && (vocab_size <= 0 || tok < vocab_size), ErrorCode::kInvalidArgument,
                   "ContextGraph: phrase ", p, " ('", ph.label, "') has token id ", tok, " outside the vocabulary of ",
                   vocab_size);
      int32_t child = Child(cur, tok);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        Node n;
        n.token = tok;
        nodes_.push_back(n);
        auto& nx = nodes_[cur].next;
        nx.insert(std::lower_bound(nx.begin(), nx.end(), std::make_pair(tok, -1)), {tok, child});
      }
      // Phrases sharing a prefix: the largest boost wins on the shared edges.
      nodes_[child].edge_boost = std::max(nodes_[child].edge_boost, boost);
      cur = child;
    }
    if (nodes_[cur].phrase < 0) nodes_[cur].phrase = static_cast<int32_t>(p);  // duplicates: first wins
  }
  // Breadth-first (parents first): scores, fail links, output links, and
  // `base` (score kept on failure).
  std::deque<int32_t> queue;
  for (auto [tok, child] : nodes_[0].next) {
    Node& c = nodes_[child];
    c.fail = 0;
    c.node_score = c.edge_boost;
    c.base = c.phrase >= 0 ? c.node_score : 0.f;
    queue.push_back(child);
  }
  while (!queue.empty()) {
    int32_t u = queue.front();
    queue.pop_front();
    for (auto [tok, v] : nodes_[u].next) {
      int32_t f = nodes_[u].fail;
      int32_t target = -1;
      while (true) {
        target = Child(f, tok);
        if (target >= 0 || f == 0) break;
        f = nodes_[f].fail;
      }
      Node& nv = nodes_[v];
      nv.node_score = nodes_[u].node_score + nv.edge_boost;
      nv.fail = target >= 0 ? target : 0;
      nv.output = nodes_[nv.fail].phrase >= 0 ? nv.fail : nodes_[nv.fail].output;
      nv.base = nv.phrase >= 0 ? nv.node_score : nodes_[u].base;
      queue.push_back(v);
    }
  }
}

int32_t ContextGraph::Child(int32_t node, int32_t token) const {
  const auto& nx = nodes_[node].next;
  auto it = std::lower_bound(nx.begin(), nx.end(), std::make_pair(token, -1));
  return (it != nx.end() && it->first == token) ? it->second : -1;
}

float ContextGraph::Pending(State s) const { return nodes_[s].node_score - nodes_[s].base; }

ContextGraph::Step ContextGraph::Forward(State state, int32_t token) const {
  ECHOIC_CHECK(state >= 0 && state < num_states(), ErrorCode::kInvalidArgument, "ContextGraph: state ", state,
               " is not one of this graph's ", num_states(), " states");
  Step step;
  int32_t child = Child(state, token);
  if (child >= 0) {
    step.state = child;
    step.score = nodes_[child].node_score - nodes_[state].node_score;
  } else {
    // Mismatch: fall back to the longest suffix that is still a phrase prefix.
    // The broken match's pending boost is taken back; phrases completed on the
    // way (kept in `base`) stay; the suffix match brings its own score.
    int32_t f = state;
    int32_t target = -1;
    while (f != 0) {
      f = nodes_[f].fail;
      target = Child(f, token);
      if (target >= 0) break;
    }
    if (target < 0) target = Child(0, token);
    step.state = target >= 0 ? target : 0;
    step.score = nodes_[step.state].node_score - Pending(state);
  }
  const Node& n = nodes_[step.state];
  step.phrase = n.phrase >= 0 ? n.phrase : (n.output >= 0 ? nodes_[n.output].phrase : -1);
  return step;
}

float ContextGraph::Finalize(State state) const { return -Pending(state); }

namespace {

size_t Utf8Len(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
}

// Byte offsets at which UTF-8 characters start (plus the end).
std::vector<size_t> CharBounds(const std::string& s) {
  std::vector<size_t> b;
  for (size_t i = 0; i < s.size(); i += Utf8Len(static_cast<unsigned char>(s[i]))) b.push_back(i);
  b.push_back(s.size());
  return b;
}

}  // namespace

namespace {

const std::string kMark = "\xE2\x96\x81";

// Greedy longest match of one word; false (and the character that failed)
// when some character has neither a piece nor byte-fallback tokens.
bool EncodeWord(const std::string& word, const SymbolTable& symbols, bool has_mark, size_t longest,
                std::vector<int32_t>* ids, std::string* bad) {
  const std::string s = has_mark ? kMark + word : word;
  std::vector<size_t> bounds = CharBounds(s);
  size_t bi = 0;
  while (bi + 1 < bounds.size()) {
    bool matched = false;
    // Longest first, but no longer than the longest symbol: linear in the word's length.
    size_t top = bounds.size() - 1;
    while (top > bi + 1 && bounds[top] - bounds[bi] > longest) --top;
    for (size_t bj = top; bj > bi; --bj) {
      std::string piece = s.substr(bounds[bi], bounds[bj] - bounds[bi]);
      if (symbols.Contains(piece) && !symbols.IsSpecial(symbols.Id(piece))) {
        ids->push_back(symbols.Id(piece));
        bi = bj;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    std::string ch = s.substr(bounds[bi], bounds[bi + 1] - bounds[bi]);
    char hex[8];
    std::vector<int32_t> bytes;
    for (unsigned char c : ch) {
      std::snprintf(hex, sizeof(hex), "<0x%02X>", c);
      if (!symbols.Contains(hex)) break;
      bytes.push_back(symbols.Id(hex));
    }
    if (bytes.size() == ch.size()) {
      ids->insert(ids->end(), bytes.begin(), bytes.end());
    } else if (!(bi == 0 && has_mark && ch == kMark)) {
      // (A missing bare "▁" at the word start is skipped: the vocabulary has
      // "▁x" pieces, just none for this word's start.)
      *bad = ch;
      return false;
    }
    bi += 1;
  }
  return true;
}

std::string AsciiCase(std::string s, bool upper) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

std::vector<int32_t> EncodeWithTokens(const std::string& text, const SymbolTable& symbols) {
  bool has_mark = false;
  size_t longest = 1;
  for (int32_t i = 0; i < symbols.size(); ++i) {
    has_mark = has_mark || symbols.IsWordStart(i);
    longest = std::max(longest, symbols.Token(i).size());
  }
  std::vector<std::string> words;
  {
    std::string cur;
    for (char c : text) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (!cur.empty()) words.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) words.push_back(cur);
  }
  ECHOIC_CHECK(!words.empty(), ErrorCode::kInvalidArgument, "EncodeWithTokens: text is empty");
  std::vector<int32_t> ids;
  for (const auto& word : words) {
    // As written first; then in upper / lower case, for vocabularies of one case.
    std::string bad, ignored;
    std::vector<int32_t> w;
    bool ok = EncodeWord(word, symbols, has_mark, longest, &w, &bad);
    for (bool upper : {true, false}) {
      if (ok) break;
      w.clear();
      ok = EncodeWord(AsciiCase(word, upper), symbols, has_mark, longest, &w, &ignored);
    }
    if (!ok)
      Fail(ErrorCode::kInvalidArgument, "EncodeWithTokens: cannot encode '", bad, "' of word '", word,
           "' with the tokens of '", symbols.source(), "'");
    ids.insert(ids.end(), w.begin(), w.end());
  }
  return ids;
}

}  // namespace echoic::decoding
