#include "echoic/runtime/error.h"

#include <cstring>

#include "echoic/runtime/system_info.h"
#include "testing/check.h"

TEST(fail_builds_message_and_code) {
  try {
    echoic::Fail(echoic::ErrorCode::kIo, "cannot open '", "x.wav", "' (", 2, ")");
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == echoic::ErrorCode::kIo);
    CHECK(std::strcmp(e.what(), "cannot open 'x.wav' (2)") == 0);
  }
}

TEST(check_macro_throws_only_when_false) {
  ECHOIC_CHECK(1 + 1 == 2, echoic::ErrorCode::kInternal, "unreachable");
  CHECK_THROWS_CODE(([] { ECHOIC_CHECK(false, echoic::ErrorCode::kState, "bad"); })(), echoic::ErrorCode::kState);
}

TEST(system_info_is_sane) {
  CHECK(std::strlen(echoic::Version()) > 0);
  CHECK(echoic::HardwareThreads() >= 1);
  CHECK(std::strcmp(echoic::ErrorCodeName(echoic::ErrorCode::kModel), "model") == 0);
}

TEST_MAIN()
