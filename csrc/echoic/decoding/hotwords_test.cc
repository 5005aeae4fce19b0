#include "echoic/decoding/hotwords.h"

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::decoding::NormalizeHotwordPhrase;
using echoic::decoding::ParseHotwords;

TEST(grammar_boosts_comments_and_blank_lines) {
  auto h = ParseHotwords("# names\n\nEchoic\nopen sesame\t2.5\r\nGo Forward! :3\n  # indented comment\nlast");
  CHECK_EQ(h.size(), 4u);
  CHECK(h[0].phrase == "echoic");
  CHECK_EQ(h[0].score, 0.f);
  CHECK(h[1].phrase == "open sesame");
  CHECK_NEAR(h[1].score, 2.5, 1e-6);
  CHECK(h[2].phrase == "go forward");
  CHECK_NEAR(h[2].score, 3.0, 1e-6);
  CHECK(h[3].phrase == "last");
}

TEST(normalised_like_transcripts) {
  CHECK(NormalizeHotwordPhrase("  Don't   STOP, now.") == "don't stop now");
  CHECK(NormalizeHotwordPhrase("x-ray") == "x ray");
  CHECK(NormalizeHotwordPhrase("caf\xC3\xA9") == "caf\xC3\xA9");  // non-ASCII kept
}

TEST(bad_lines_name_their_line) {
  CHECK_THROWS_CODE(ParseHotwords("ok\nfoo\tbar"), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ParseHotwords("foo :-1"), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ParseHotwords("foo\tinf"), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ParseHotwords("?!\n"), ErrorCode::kInvalidArgument);
  try {
    ParseHotwords("ok\nfoo\tbar");
  } catch (const echoic::Error& e) {
    CHECK(std::string(e.what()).find("line 2") != std::string::npos);
  }
  CHECK(ParseHotwords("").empty());
  CHECK(ParseHotwords("# only a comment\n").empty());
}
TEST_MAIN()
