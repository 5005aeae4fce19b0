#include "echoic/decoding/symbol_table.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "echoic/decoding/decoding_test_util.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::SymbolTable;
namespace tu = echoic::decoding::testutil;

namespace {
// Message of the echoic::Error `fn` throws ("" if none).
template <typename F>
std::string ErrorText(F fn, ErrorCode* code = nullptr) {
  try {
    fn();
  } catch (const echoic::Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}
bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(loads_char_vocab) {
  SymbolTable t = tu::CharVocab();
  CHECK_EQ(t.size(), 29);
  CHECK_EQ(t.blank_id(), 0);
  CHECK(t.Token(2) == "a");
  CHECK_EQ(t.Id("z"), 27);
  CHECK_EQ(t.Id("'"), 28);
  CHECK(t.IsWordStart(1));
  CHECK(!t.IsWordStart(2));
  CHECK(t.IsSpecial(0));
  CHECK_THROWS_CODE(t.Token(29), ErrorCode::kNotFound);
  CHECK_THROWS_CODE(t.Id("A"), ErrorCode::kNotFound);
}

TEST(detokenize_char_vocab) {
  SymbolTable t = tu::CharVocab();
  using tu::Id;
  std::vector<int32_t> ids = {Id(' '), Id('h'), Id('i'),  Id(' '), Id('y'),
                              Id('o'), Id('u'), Id('\''), Id('r'), Id('e')};
  CHECK(t.Detokenize(ids) == "hi you're");
  auto words = t.GroupWords(ids);
  CHECK_EQ(words.size(), size_t{2});
  CHECK_EQ(words[0].size(), size_t{2});
  CHECK_EQ(words[0][0], 1);  // positions, not ids
  CHECK_EQ(words[1].size(), size_t{6});
  // Leading/trailing/double separators and blanks collapse.
  CHECK(t.Detokenize({0, 1, 1, Id('a'), 0, 1}) == "a");
  CHECK(t.Detokenize({}).empty());
  CHECK_THROWS_CODE(t.Detokenize({99}), ErrorCode::kInvalidArgument);
}

TEST(bpe_and_byte_fallback) {
  // "é" = C3 A9 via byte fallback; "▁hello" and "▁wor" "ld" pieces.
  SymbolTable t = SymbolTable::FromString(
      "<blk> 0\n<unk> 1\n\xE2\x96\x81hello 2\n\xE2\x96\x81wor 3\nld 4\n<0xC3> 5\n<0xA9> 6\n\xE2\x96\x81 7\n<0x41> 8\n",
      "bpe");
  CHECK(t.Detokenize({2, 3, 4}) == "hello world");
  CHECK(t.Detokenize({2, 7, 5, 6}) == "hello \xC3\xA9");
  CHECK(t.Detokenize({7, 8, 1}) == "A");
  CHECK_EQ(t.ByteValue(5), 0xC3);
  CHECK_EQ(t.ByteValue(2), -1);
  // A lone continuation byte is not valid UTF-8: replaced, not passed through.
  CHECK(t.Detokenize({2, 6}) == "hello\xEF\xBF\xBD");
  auto words = t.GroupWords({2, 3, 4, 7, 5, 6});
  CHECK_EQ(words.size(), size_t{3});
  CHECK_EQ(words[1].size(), size_t{2});
  CHECK_EQ(words[2][0], 4);
}

TEST(cjk_characters_are_words) {
  // 你 好 as char tokens, then an English BPE word.
  SymbolTable t = SymbolTable::FromString("<blk> 0\n\xE4\xBD\xA0 1\n\xE5\xA5\xBD 2\n\xE2\x96\x81ok 3\n", "zh");
  CHECK(t.Detokenize({1, 2, 3}) == "\xE4\xBD\xA0\xE5\xA5\xBD ok");
  auto words = t.GroupWords({1, 2, 3});
  CHECK_EQ(words.size(), size_t{3});
  CHECK_EQ(words[1][0], 1);
}

TEST(space_symbol_line_and_blank_alias) {
  // A line holding only an id is the space symbol (sherpa-onnx convention).
  SymbolTable t = SymbolTable::FromString("<blank> 0\n 1\nx 2\n\n", "s");
  CHECK_EQ(t.blank_id(), 0);
  CHECK(t.Token(1) == " ");
  CHECK(t.Detokenize({2, 1, 2}) == "x x");
  CHECK_EQ(t.GroupWords({2, 1, 2}).size(), size_t{2});
}

TEST(bad_files_name_source_and_line) {
  ErrorCode code = ErrorCode::kOk;
  std::string msg = ErrorText([] { SymbolTable::FromString("<blk> 0\na 1\nb 1\n", "dup.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData);
  CHECK(Has(msg, "dup.txt") && Has(msg, "line 3") && Has(msg, "duplicate id 1"));

  msg = ErrorText([] { SymbolTable::FromString("<blk> 0\na b c\n", "bad.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData);
  CHECK(Has(msg, "bad.txt") && Has(msg, "line 2"));

  msg = ErrorText([] { SymbolTable::FromString("<blk> 0\na x1\n", "bad2.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData && Has(msg, "line 2"));

  msg = ErrorText([] { SymbolTable::FromString("a 0\nb 1\n", "noblank.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData && Has(msg, "noblank.txt") && Has(msg, "blank"));

  msg = ErrorText([] { SymbolTable::FromString("<blk> 0\na 5\n", "gap.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData && Has(msg, "line 2") && Has(msg, "out of range"));

  msg = ErrorText([] { SymbolTable::FromString("<blk> 0\na 1\na 2\n", "dupsym.txt"); }, &code);
  CHECK(code == ErrorCode::kCorruptData && Has(msg, "duplicate symbol"));

  CHECK_THROWS_CODE(SymbolTable::FromString("", "empty"), ErrorCode::kCorruptData);
  msg = ErrorText([] { SymbolTable::FromFile("/nonexistent/dir/tokens.txt"); }, &code);
  CHECK(code == ErrorCode::kIo && Has(msg, "/nonexistent/dir/tokens.txt"));
}

TEST(loads_from_file_with_crlf) {
  std::string path = "symbol_table_test_tokens.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << "<blk> 0\r\n\xE2\x96\x81 1\r\nq 2\r\n";
  }
  SymbolTable t = SymbolTable::FromFile(path);
  CHECK_EQ(t.size(), 3);
  CHECK(t.source() == path);
  CHECK(t.Detokenize({1, 2, 2}) == "qq");
  std::remove(path.c_str());
}

TEST_MAIN()
