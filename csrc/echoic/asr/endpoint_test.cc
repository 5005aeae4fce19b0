#include "echoic/asr/endpoint.h"

#include <cmath>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::asr::EndpointConfig;
using echoic::asr::EndpointDetector;

TEST(default_rules) {
  EndpointDetector d;
  CHECK(!d.Update(false, 2.3f, 2.3f));
  CHECK_EQ(d.last_rule(), 0);
  CHECK(d.Update(false, 2.4f, 2.4f));  // rule 1: long silence, nothing decoded
  CHECK_EQ(d.last_rule(), 1);
  CHECK(!d.Update(false, 1.5f, 5.f));  // rule 2 needs decoded speech
  CHECK(d.Update(true, 1.2f, 5.f));
  CHECK_EQ(d.last_rule(), 2);
  CHECK(!d.Update(true, 1.19f, 5.f));
  CHECK(!d.Update(true, 0.f, 19.9f));
  CHECK(d.Update(true, 0.f, 20.f));  // rule 3: utterance too long
  CHECK_EQ(d.last_rule(), 3);
}

TEST(custom_and_disabled_rules) {
  EndpointConfig c;
  c.rule3.enabled = false;
  c.rule2.min_trailing_silence_s = 0.5f;
  EndpointDetector d(c);
  CHECK(!d.Update(true, 0.f, 100.f));
  CHECK(d.Update(true, 0.5f, 1.f));
  CHECK_NEAR(EndpointDetector::SilenceFromBlankFrames(30, 0.04f), 1.2, 1e-6);
  // 30 frames of 40 ms reach a 1.2 s threshold despite float rounding.
  EndpointDetector d2;
  CHECK(d2.Update(true, EndpointDetector::SilenceFromBlankFrames(30, 0.04f), 2.f));
  CHECK(!d2.Update(true, EndpointDetector::SilenceFromBlankFrames(29, 0.04f), 2.f));
}

TEST(validation) {
  EndpointConfig c;
  c.rule1.min_trailing_silence_s = -1.f;
  CHECK_THROWS_CODE(EndpointDetector{c}, ErrorCode::kInvalidArgument);
  c = EndpointConfig{};
  c.rule3.min_utterance_length_s = 0.f;  // rule 3 would fire always
  CHECK_THROWS_CODE(EndpointDetector{c}, ErrorCode::kInvalidArgument);
  c.rule3.enabled = false;
  EndpointDetector ok(c);
  c.rule2.min_utterance_length_s = NAN;
  CHECK_THROWS_CODE(c.Validate(), ErrorCode::kInvalidArgument);
  EndpointDetector d;
  CHECK_THROWS_CODE(d.Update(true, -0.1f, 1.f), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(d.Update(true, 0.1f, NAN), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(EndpointDetector::SilenceFromBlankFrames(3, 0.f), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
