#include "echoic/kws/word_embedding.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::kws::WordEmbedder;
using echoic::kws::WordEmbeddingOptions;

namespace {

std::string Bundled() {
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/sdk/echoic/models/lookup-projection/projection.bin";
}

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Write(const std::string& name, const std::string& bytes) {
  const std::string p = "/tmp/echoic_word_embedding_test_" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

WordEmbeddingOptions With(const std::string& path) {
  WordEmbeddingOptions o;
  o.projection = path;
  return o;
}

std::vector<float> Frames(size_t n, size_t f) {
  std::mt19937 g(3);
  std::normal_distribution<float> d;
  std::vector<float> x(n * f);
  for (float& v : x) v = d(g);
  return x;
}

}  // namespace

// The file the recipe writes is read as written: the embedding of a span equals the map applied
// by hand (weights and bias straight from the file's bytes) to its centred slice means.
TEST(BundledProjectionMatchesItsBytes) {
  const std::string bytes = ReadAll(Bundled());
  WordEmbedder e(384, With(Bundled()));
  CHECK(e.learned());
  CHECK_EQ(e.options().slices, 6);
  constexpr size_t D = 128;  // the bundled map's width
  CHECK_EQ(e.options().dim, static_cast<int32_t>(D));
  if (e.options().dim != static_cast<int32_t>(D)) return;  // the sizes below would not hold
  CHECK(e.default_threshold() > 0.3f && e.default_threshold() < 0.95f);
  CHECK(e.Id("whisper-tiny.en").rfind("awe-lda-", 0) == 0);
  uint32_t name_len;
  std::memcpy(&name_len, bytes.data() + 20, 4);
  // The file's floats need not be 4-byte aligned in the string: copy them out.
  std::vector<float> weights(6 * D * 384 + D);
  std::memcpy(weights.data(), bytes.data() + 28 + name_len, weights.size() * sizeof(float));
  const float* w = weights.data();
  const float* bias = w + 6 * D * 384;
  const size_t n = 37, a = 5, b = 30;
  const std::vector<float> x = Frames(n, 384);
  std::vector<float> proj(n * e.projected_width()), got(D);
  e.Project(x.data(), n, proj.data());
  e.Embed(proj.data(), a, b, got.data());
  std::vector<double> want(D, 0.0);
  for (size_t s = 0; s < 6; ++s) {
    const size_t len = b - a, lo = a + (len * s + 3) / 6, hi = a + (len * (s + 1) + 3) / 6;
    std::vector<double> m(384, 0.0);
    for (size_t t = lo; t < hi; ++t)
      for (size_t j = 0; j < 384; ++j) m[j] += x[t * 384 + j] / double(hi - lo);
    for (size_t i = 0; i < D; ++i)
      for (size_t j = 0; j < 384; ++j) want[i] += w[(s * D + i) * 384 + j] * m[j];
  }
  double norm = 0;
  for (size_t i = 0; i < D; ++i) norm += (want[i] - bias[i]) * (want[i] - bias[i]);
  for (size_t i = 0; i < D; ++i) CHECK_NEAR(got[i], (want[i] - bias[i]) / std::sqrt(norm), 1e-4);
}

TEST(MissingDamagedAndMismatchedFilesAreTypedErrors) {
  const std::string good = ReadAll(Bundled());
  CHECK(good.size() > 1000);
  CHECK_THROWS_CODE(WordEmbedder(384, With("/nonexistent/projection.bin")), ErrorCode::kIo);
  CHECK_THROWS_CODE(WordEmbedder(384, With(Write("empty", ""))), ErrorCode::kCorruptData);
  CHECK_THROWS_CODE(WordEmbedder(384, With("/dev/zero")), ErrorCode::kCorruptData);  // endless: bounded read
  CHECK_THROWS_CODE(WordEmbedder(384, With(Write("short", good.substr(0, good.size() - 4)))), ErrorCode::kCorruptData);
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  CHECK_THROWS_CODE(WordEmbedder(384, With(Write("flipped", flipped))), ErrorCode::kCorruptData);
  std::string magic = good;
  magic[0] = 'X';
  CHECK_THROWS_CODE(WordEmbedder(384, With(Write("magic", magic))), ErrorCode::kCorruptData);
  // Fitted for 384-value frames: another encoder's are refused.
  CHECK_THROWS_CODE(WordEmbedder(512, With(Bundled())), ErrorCode::kModel);
  try {
    WordEmbedder(384, With(Write("named", "junk")));
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(std::string(e.what()).find("echoic_word_embedding_test_named") != std::string::npos);
  }
}

// No file: the seeded random projection, the same on every run.
TEST(RandomProjectionIsSeeded) {
  WordEmbedder a(16), b(16);
  CHECK(!a.learned());
  CHECK_NEAR(a.default_threshold(), 0.6, 1e-6);
  const std::vector<float> x = Frames(10, 16);
  std::vector<float> pa(10 * a.projected_width()), pb(pa.size()), ea(64), eb(64);
  a.Project(x.data(), 10, pa.data());
  b.Project(x.data(), 10, pb.data());
  a.Embed(pa.data(), 0, 10, ea.data());
  b.Embed(pb.data(), 0, 10, eb.data());
  CHECK(ea == eb);
}

TEST_MAIN()
