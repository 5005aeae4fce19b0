#include "echoic/whisper/tokenizer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::whisper::Tokenizer;

namespace {

// GPT-2 byte-level form of one byte, written independently of the library's table.
std::string Form(unsigned char b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) ++cp;
  }
  std::string s;
  if (cp < 0x80)
    s.push_back(static_cast<char>(cp));
  else
    s += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
  return s;
}

std::string TempDir() {
  auto dir = std::filesystem::temp_directory_path() / ("echoic_tokenizer_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Ids 0..255: the byte tokens (id = byte). Then the merge results, then specials.
const char* kMerges =
    "t '\n"  // must never apply: the pre-tokenizer splits "it" | "'s"
    "e l\n"  // outranks "l l", so "hello" becomes h|el|l|o, then "el l" has no merge
    "l l\n"
    "h el\n"
    "Ġ w\n"
    "o r\n"
    "Ġw or\n"
    "' s\n"
    "1 2\n";
const char* kMerged[] = {"t'", "el", "ll", "hel", "Ġw", "or", "Ġwor", "'s", "12"};

struct Fixture {
  std::string dir = TempDir(), vocab = dir + "/vocabulary.txt", merges = dir + "/merges.txt";
  Fixture() {
    std::string v;
    for (int b = 0; b < 256; ++b) v += Form(static_cast<unsigned char>(b)) + "\n";
    for (const char* m : kMerged) v += std::string(m) + "\n";
    v += "<|endoftext|>\n<|0.00|>\n";
    Write(vocab, v);
    Write(merges, std::string("#version: 0.2\n") + kMerges);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

int32_t Merged(int i) { return 256 + i; }

}  // namespace

TEST(BytesAndSpecials) {
  Fixture f;
  Tokenizer t = Tokenizer::FromFiles(f.vocab, "");
  CHECK_EQ(t.size(), 256 + 9 + 2);
  CHECK(t.Bytes(' ') == " ");
  CHECK(t.Bytes('\n') == "\n");
  CHECK(t.Bytes(0xC3) == "\xC3");
  CHECK(t.Bytes(Merged(4)) == " w");
  CHECK(t.StartsWord(Merged(4)) && t.StartsWord(' ') && !t.StartsWord('w'));
  const int32_t eot = t.Find("<|endoftext|>"), ts = t.Find("<|0.00|>");
  CHECK_EQ(eot, 265);
  CHECK_EQ(ts, 266);
  CHECK_EQ(t.Find("<|nope|>"), -1);
  CHECK_EQ(t.Find("Ġw"), Merged(4));
  CHECK(t.IsSpecial(eot) && t.IsSpecial(ts) && !t.IsSpecial('<'));
  CHECK(t.Bytes(eot) == "<|endoftext|>");
  // "é" is split over two byte tokens; specials are skipped.
  CHECK(t.Decode({eot, 'h', 0xC3, 0xA9, Merged(4), ts}) == "h\xC3\xA9 w");
  CHECK(t.Decode({0xC3}) == "\xC3");  // a lone lead byte stays as it is
  CHECK_THROWS_CODE(t.Bytes(-1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(t.Bytes(t.size()), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(t.Decode({1000}), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(t.Encode("hi"), ErrorCode::kState);  // decode-only
}

TEST(EncodeByMergeRankAndPreTokenization) {
  Fixture f;
  Tokenizer t = Tokenizer::FromFiles(f.vocab, f.merges);
  using V = std::vector<int32_t>;
  CHECK(t.Encode("hello") == (V{Merged(3), 'l', 'o'}));  // "e l" before "l l"
  CHECK(t.Encode("hello world") == (V{Merged(3), 'l', 'o', Merged(6), 'l', 'd'}));
  CHECK(t.Encode("it's") == (V{'i', 't', Merged(7)}));  // contraction split
  CHECK(t.Encode("ab12") == (V{'a', 'b', Merged(8)}));  // letters | digits
  CHECK(t.Encode("a  w") == (V{'a', ' ', Merged(4)}));  // last space joins the word
  CHECK(t.Encode("w\t\tw") == (V{'w', '\t', '\t', 'w'}));
  CHECK(t.Encode("w  ") == (V{'w', ' ', ' '}));
  CHECK(t.Encode("") == V{});
  for (std::string s :
       {"hello world, it's 12 o'clock!\n\n  x", "\xC3\xA9t\xC3\xA9 \xE2\x80\x94 ok", "\xFF\xFE bad utf8"})
    CHECK(t.Decode(t.Encode(s)) == s);
}

TEST(Errors) {
  Fixture f;
  CHECK_THROWS_CODE(Tokenizer::FromFiles(f.dir + "/missing.txt", ""), ErrorCode::kIo);
  CHECK_THROWS_CODE(Tokenizer::FromFiles(f.vocab, f.dir + "/missing.txt"), ErrorCode::kIo);
  const std::string bad = f.dir + "/bad.txt";
  Write(bad, "a\nb c\n");  // a raw space is not a byte-level symbol
  try {
    Tokenizer::FromFiles(bad, "");
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kCorruptData);
    CHECK(std::string(e.what()).find("line 2") != std::string::npos);
  }
  Write(bad, "a\n\nb\n");
  CHECK_THROWS_CODE(Tokenizer::FromFiles(bad, ""), ErrorCode::kCorruptData);
  Write(bad, "Ġ w\nq z\n");  // "qz" is not in the vocabulary
  CHECK_THROWS_CODE(Tokenizer::FromFiles(f.vocab, bad), ErrorCode::kCorruptData);
  Write(bad, "Ġw\n");
  CHECK_THROWS_CODE(Tokenizer::FromFiles(f.vocab, bad), ErrorCode::kCorruptData);
  Write(bad, "a\nb\n");  // merges need all 256 byte tokens
  CHECK_THROWS_CODE(Tokenizer::FromFiles(bad, f.merges), ErrorCode::kCorruptData);
}

// Real Whisper files: ECHOIC_WHISPER_TEST_DIR holding vocabulary.txt and merges.txt
// (merges from tokenizer.json's model.merges, one per line).
TEST(RealWhisperVocabulary) {
  const char* dir = std::getenv("ECHOIC_WHISPER_TEST_DIR");
  if (!dir || !std::filesystem::exists(std::string(dir) + "/merges.txt")) {
    std::printf("skipped: set ECHOIC_WHISPER_TEST_DIR to a folder with vocabulary.txt and merges.txt\n");
    return;
  }
  Tokenizer t = Tokenizer::FromFiles(std::string(dir) + "/vocabulary.txt", std::string(dir) + "/merges.txt");
  CHECK_EQ(t.Find("<|endoftext|>"), 50256);
  CHECK_EQ(t.Find("<|notimestamps|>"), 50362);
  CHECK_EQ(t.Find("<|0.00|>"), 50363);
  // Ids from the `tokenizers` package on the multilingual tokenizer.json
  // (tokenizer.encode(text, add_special_tokens=False).ids).
  struct Case {
    std::string text;
    std::vector<int32_t> ids;
  };
  const Case cases[] = {
      {" Hello world, it's a test.", {18435, 995, 11, 340, 338, 257, 1332, 13}},
      {"I'll pay $1,000 for 13 dogs!", {40, 1183, 1414, 720, 16, 11, 830, 329, 1511, 6844, 0}},
      {"  Spaces\tand\nnew lines ", {220, 48086, 197, 392, 198, 3605, 3951, 220}},
      {"Caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x94 \xE2\x80\x9Cquoted\xE2\x80\x9D \xC2\xBD",
       {34, 1878, 2634, 41492, 851, 564, 250, 421, 5191, 447, 251, 25208}},
  };
  for (const Case& c : cases) {
    CHECK(t.Encode(c.text) == c.ids);
    CHECK(t.Decode(c.ids) == c.text);
  }
}

TEST_MAIN()
