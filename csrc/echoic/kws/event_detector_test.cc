#include "echoic/kws/event_detector.h"

#include "echoic/kws/posterior_smoother.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::kws::EventDetector;
using echoic::kws::PosteriorSmoother;

namespace {
// Posteriors for [filler, a, b].
std::vector<float> P(float a, float b) { return {1.f - a - b, a, b}; }
}  // namespace

TEST(ThresholdsArePerKeyword) {
  EventDetector d({"a", "b"}, {0.5f, 0.9f}, 0.0);
  auto p = P(0.1f, 0.8f);
  CHECK(!d.Process(p.data(), 0.1));  // b below its 0.9
  p = P(0.6f, 0.3f);
  auto e = d.Process(p.data(), 0.2);
  CHECK(e.has_value());
  if (e) {
    CHECK(e->keyword == "a");
    CHECK_EQ(e->index, 0);
    CHECK_NEAR(e->score, 0.6, 1e-6);
    CHECK_NEAR(e->time, 0.2, 1e-9);
  }
}

TEST(RisingEdgeOnlyFiresOncePerCrossing) {
  EventDetector d({"a", "b"}, {0.5f, 0.5f}, 0.0);
  int fired = 0;
  for (int i = 0; i < 10; ++i) {
    auto p = P(0.8f, 0.f);
    fired += d.Process(p.data(), i * 0.1).has_value();
  }
  CHECK_EQ(fired, 1);
  auto low = P(0.1f, 0.f), high = P(0.8f, 0.f);
  CHECK(!d.Process(low.data(), 1.1));
  CHECK(d.Process(high.data(), 1.2).has_value());
}

TEST(RefractorySuppressesOtherKeywords) {
  EventDetector d({"a", "b"}, {0.5f, 0.5f}, 1.0);
  auto a = P(0.9f, 0.f), b = P(0.f, 0.9f), none = P(0.f, 0.f);
  CHECK(d.Process(a.data(), 1.0).has_value());
  CHECK(!d.Process(b.data(), 1.5));  // inside the refractory period
  CHECK(!d.Process(none.data(), 1.7));
  auto e = d.Process(b.data(), 2.1);  // after it, a new crossing fires
  CHECK(e.has_value() && e->keyword == "b");
  // A score that stays high through the refractory period does not fire twice.
  EventDetector d2({"a", "b"}, {0.5f, 0.5f}, 0.5);
  int fired = 0;
  for (int i = 0; i < 20; ++i) fired += d2.Process(a.data(), i * 0.1).has_value();
  CHECK_EQ(fired, 1);
}

TEST(BadDetectorArguments) {
  CHECK_THROWS_CODE(EventDetector({"a"}, {0.5f, 0.5f}, 1.0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(EventDetector({"a"}, {0.f}, 1.0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(EventDetector({"a"}, {1.5f}, 1.0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(EventDetector({"a"}, {0.5f}, -1.0), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(PosteriorSmoother(3, 0), ErrorCode::kInvalidArgument);
}

TEST(SmootherIsAMovingAverage) {
  PosteriorSmoother s(2, 3);
  float a[2] = {1.f, 0.f}, b[2] = {0.f, 1.f};
  CHECK_NEAR(s.Push(a)[0], 1.0, 1e-6);
  CHECK_NEAR(s.Push(b)[0], 0.5, 1e-6);
  CHECK_NEAR(s.Push(b)[1], 2.0 / 3, 1e-6);
  CHECK_NEAR(s.Push(b)[1], 1.0, 1e-6);  // the first push left the window
  s.Reset();
  CHECK_NEAR(s.Push(a)[0], 1.0, 1e-6);
}

TEST_MAIN()
