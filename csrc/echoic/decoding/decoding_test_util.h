// Helpers shared by the decoding (and result) unit tests: a small char vocabulary and synthetic
// CTC log-prob matrices.
#ifndef ECHOIC_DECODING_DECODING_TEST_UTIL_H_
#define ECHOIC_DECODING_DECODING_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "echoic/decoding/symbol_table.h"

namespace echoic::decoding::testutil {

// <blk> 0, ▁ 1, a..z 2..27, ' 28.
inline std::string CharVocabText() {
  std::string s = "<blk> 0\n\xE2\x96\x81 1\n";
  for (int i = 0; i < 26; ++i) s += std::string(1, static_cast<char>('a' + i)) + " " + std::to_string(i + 2) + "\n";
  s += "' 28\n";
  return s;
}
inline SymbolTable CharVocab() { return SymbolTable::FromString(CharVocabText(), "char-vocab"); }
constexpr int32_t kV = 29;

inline int32_t Id(char c) { return c == ' ' ? 1 : c == '\'' ? 28 : c == '_' ? 0 : 2 + (c - 'a'); }

// One frame per character of `path` ('_' = blank, ' ' = ▁), each frame giving
// probability `peak` to its label and spreading the rest over the others.
inline std::vector<float> PeakyFrames(const std::string& path, float peak = 0.97f, int32_t vocab = kV) {
  std::vector<float> m;
  const float rest = std::log((1.f - peak) / static_cast<float>(vocab - 1));
  for (char c : path) {
    for (int32_t v = 0; v < vocab; ++v) m.push_back(v == Id(c) ? std::log(peak) : rest);
  }
  return m;
}

// A frame from explicit probabilities for a few labels; the remaining mass is
// spread over the other tokens.
inline std::vector<float> Frame(const std::vector<std::pair<char, float>>& probs, int32_t vocab = kV) {
  std::vector<float> p(vocab, 0.f);
  float used = 0.f;
  for (auto& [c, pr] : probs) {
    p[Id(c)] = pr;
    used += pr;
  }
  const float rest = std::max(1e-6f, (1.f - used)) / static_cast<float>(vocab - probs.size());
  for (int32_t v = 0; v < vocab; ++v)
    if (p[v] == 0.f) p[v] = rest;
  float sum = 0.f;
  for (float x : p) sum += x;
  std::vector<float> out;
  for (float x : p) out.push_back(std::log(x / sum));
  return out;
}

inline void Append(std::vector<float>& m, const std::vector<float>& frame) {
  m.insert(m.end(), frame.begin(), frame.end());
}

// Random log-softmax matrix (temperature makes it more or less peaky).
inline std::vector<float> RandomLogProbs(int32_t frames, int32_t vocab, uint32_t seed, float temperature = 1.f,
                                         int32_t blank_bias_id = 0, float blank_bias = 2.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> m;
  for (int32_t t = 0; t < frames; ++t) {
    std::vector<float> z(vocab);
    float mx = -1e30f;
    for (int32_t v = 0; v < vocab; ++v) {
      z[v] = nd(rng) * 2.f / temperature + (v == blank_bias_id ? blank_bias : 0.f);
      mx = std::max(mx, z[v]);
    }
    double s = 0;
    for (float x : z) s += std::exp(x - mx);
    for (float x : z) m.push_back(static_cast<float>(x - mx - std::log(s)));
  }
  return m;
}

// Feeds `m` (frames x vocab) to `dec` in chunks whose sizes `sizes` cycles through.
template <typename Decoder>
void FeedChunks(Decoder& dec, const std::vector<float>& m, int32_t vocab, const std::vector<int32_t>& sizes) {
  const int32_t frames = static_cast<int32_t>(m.size() / vocab);
  int32_t t = 0;
  size_t i = 0;
  while (t < frames) {
    int32_t n = std::min(sizes[i++ % sizes.size()], frames - t);
    dec.Accept(m.data() + static_cast<size_t>(t) * vocab, n, vocab);
    t += n;
  }
}

inline std::vector<int32_t> RandomSizes(uint32_t seed, int32_t count = 64, int32_t max_size = 9) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, max_size);  // 0-frame chunks are legal too
  std::vector<int32_t> s;
  for (int32_t i = 0; i < count; ++i) s.push_back(d(rng));
  s.push_back(1);  // guarantee progress
  return s;
}

}  // namespace echoic::decoding::testutil

#endif  // ECHOIC_DECODING_DECODING_TEST_UTIL_H_
