// Memory-pressure fallback: the policy on its own (watermarks, hysteresis,
// timing, signals) and the AdaptiveRecognizer driven by an injected probe and
// a fake clock over the two random test tiers.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <thread>

#include "echoic/adaptive/adaptive_recognizer.h"
#include "echoic/adaptive/fallback_policy.h"
#include "echoic/runtime/error.h"
#include "testing/check.h"

using namespace echoic;
using namespace echoic::asr;

namespace {

constexpr int64_t MB = int64_t{1} << 20;

MemoryState Avail(int64_t bytes, PressureLevel level = PressureLevel::kNone) {
  MemoryState s;
  s.available_bytes = bytes;
  s.pressure_level = level;
  s.source = "test";
  return s;
}

FallbackPolicyConfig PolicyCfg() {
  FallbackPolicyConfig c;
  c.low_watermark_bytes = 100 * MB;
  c.high_watermark_bytes = 200 * MB;
  c.upgrade_after_s = 10;
  c.down_interval_s = 1;
  return c;
}

std::string DataDir(const std::string& name) {
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/data/" + name;
}

class FakeProbe : public MemoryProbe {
 public:
  std::optional<MemoryReading> Read() override {
    MemoryReading r;
    r.available_bytes = avail.load();
    r.source = "fake";
    return r;
  }
  std::atomic<int64_t> avail{int64_t{4} << 30};
};

struct Rig {
  double now = 0;
  FakeProbe* probe = nullptr;
  std::vector<SwitchEvent> events;
  std::unique_ptr<AdaptiveRecognizer> rec;
};

AdaptiveRecognizerConfig BaseCfg(Rig* rig) {
  AdaptiveRecognizerConfig c;
  c.tiers = {{"big", DataDir("asr-random-wenet-large"), ""}, {"small", DataDir("asr-random-wenet"), ""}};
  c.base.enable_endpoint = false;
  c.policy = PolicyCfg();
  c.monitor.poll_interval = std::chrono::milliseconds(0);
  c.monitor.system_probes = false;
  c.clock = [rig] { return rig->now; };
  c.on_switch = [rig](const SwitchEvent& e) { rig->events.push_back(e); };
  return c;
}

void MakeRig(Rig* rig, AdaptiveRecognizerConfig c) {
  rig->rec = std::make_unique<AdaptiveRecognizer>(c);
  auto probe = std::make_unique<FakeProbe>();
  rig->probe = probe.get();
  rig->rec->monitor().AddProbe(std::move(probe));
}

std::vector<float> TestAudio(double seconds, uint32_t seed = 7) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> noise(0.f, 0.05f);
  std::vector<float> x(static_cast<size_t>(seconds * 16000));
  for (size_t i = 0; i < x.size(); ++i) {
    double t = i / 16000.0;
    float env = 0.5f + 0.5f * static_cast<float>(std::sin(2 * M_PI * 1.3 * t));
    x[i] = env * (0.3f * static_cast<float>(std::sin(2 * M_PI * (200 + 150 * std::sin(t)) * t)) + noise(gen));
  }
  return x;
}

std::string Text(const std::vector<Result>& rs) {
  std::string out;
  for (const auto& r : rs) out += (out.empty() ? "" : " ") + r.text;
  return out;
}

}  // namespace

// ---- policy ---------------------------------------------------------------

TEST(policy_watermarks_and_hysteresis) {
  FallbackPolicy p(PolicyCfg(), 3);
  CHECK_EQ(p.Evaluate(Avail(150 * MB), 0, 0.0, -1).tier, size_t{0});  // between the marks: stay
  auto d = p.Evaluate(Avail(50 * MB), 0, 1.0, -1);
  CHECK_EQ(d.tier, size_t{1});
  CHECK(d.reason.find("low watermark") != std::string::npos);
  // Still low right after: wait down_interval before the next step.
  CHECK_EQ(p.Evaluate(Avail(50 * MB), 1, 1.5, -1).tier, size_t{1});
  CHECK_EQ(p.Evaluate(Avail(50 * MB), 1, 2.1, -1).tier, size_t{2});
  CHECK_EQ(p.Evaluate(Avail(10 * MB), 2, 9.0, -1).tier, size_t{2});  // nothing smaller
  // Unknown availability never moves down, and up only after upgrade_after.
  CHECK_EQ(p.Evaluate(Avail(-1), 1, 10.0, -1).tier, size_t{1});
  CHECK_EQ(p.Evaluate(Avail(-1), 2, 10.0, -1).tier, size_t{2});
}

TEST(policy_moves_up_only_after_sustained_relief) {
  FallbackPolicy p(PolicyCfg(), 2);
  CHECK_EQ(p.Evaluate(Avail(500 * MB), 1, 0.0, -1).tier, size_t{1});
  CHECK_EQ(p.Evaluate(Avail(500 * MB), 1, 9.9, -1).tier, size_t{1});
  auto d = p.Evaluate(Avail(500 * MB), 1, 10.0, -1);
  CHECK_EQ(d.tier, size_t{0});
  CHECK(!d.reason.empty());
  // A dip between the marks restarts the timer.
  FallbackPolicy q(PolicyCfg(), 2);
  q.Evaluate(Avail(500 * MB), 1, 0.0, -1);
  q.Evaluate(Avail(150 * MB), 1, 5.0, -1);
  CHECK_EQ(q.Evaluate(Avail(500 * MB), 1, 12.0, -1).tier, size_t{1});
  CHECK_EQ(q.Evaluate(Avail(500 * MB), 1, 21.9, -1).tier, size_t{1});
  CHECK_EQ(q.Evaluate(Avail(500 * MB), 1, 22.0, -1).tier, size_t{0});
  // The upper tier's measured size must fit on top of the high watermark.
  FallbackPolicy r(PolicyCfg(), 2);
  r.Evaluate(Avail(250 * MB), 1, 0.0, 100 * MB);
  CHECK_EQ(r.Evaluate(Avail(250 * MB), 1, 100.0, 100 * MB).tier, size_t{1});
  r.Evaluate(Avail(350 * MB), 1, 100.0, 100 * MB);
  CHECK_EQ(r.Evaluate(Avail(350 * MB), 1, 110.0, 100 * MB).tier, size_t{0});
}

TEST(policy_oscillating_memory_does_not_flap) {
  FallbackPolicy p(PolicyCfg(), 2);
  size_t tier = 0;
  int switches = 0;
  for (int i = 0; i < 600; ++i) {  // 60 s, flipping between starved and plenty every 100 ms
    int64_t avail = (i % 2 == 0) ? 50 * MB : 500 * MB;
    auto d = p.Evaluate(Avail(avail), tier, i * 0.1, -1);
    if (d.tier != tier) {
      ++switches;
      tier = d.tier;
      p.Switched(i * 0.1);
    }
  }
  CHECK_EQ(switches, 1);  // down once, never back up while it keeps dipping
  CHECK_EQ(tier, size_t{1});
  // Oscillating around the high watermark only: never moves at all.
  FallbackPolicy q(PolicyCfg(), 2);
  tier = 1;
  for (int i = 0; i < 600; ++i) {
    auto d = q.Evaluate(Avail(i % 2 ? 190 * MB : 210 * MB), tier, i * 0.1, -1);
    CHECK_EQ(d.tier, size_t{1});
  }
}

TEST(policy_host_signals) {
  FallbackPolicy p(PolicyCfg(), 3);
  CHECK_EQ(p.Evaluate(Avail(500 * MB, PressureLevel::kModerate), 0, 0.0, -1).tier, size_t{0});
  auto d = p.Evaluate(Avail(500 * MB, PressureLevel::kLow), 0, 0.1, -1);
  CHECK_EQ(d.tier, size_t{1});
  CHECK(d.reason.find("'low'") != std::string::npos);
  // The level staying at low is not a new signal.
  CHECK_EQ(p.Evaluate(Avail(500 * MB, PressureLevel::kLow), 1, 0.2, -1).tier, size_t{1});
  CHECK_EQ(p.Evaluate(Avail(500 * MB, PressureLevel::kCritical), 1, 0.3, -1).tier, size_t{2});
  // Moderate blocks going up however long memory is free.
  CHECK_EQ(p.Evaluate(Avail(900 * MB, PressureLevel::kModerate), 2, 1.0, -1).tier, size_t{2});
  CHECK_EQ(p.Evaluate(Avail(900 * MB, PressureLevel::kModerate), 2, 100.0, -1).tier, size_t{2});
  CHECK_EQ(p.Evaluate(Avail(900 * MB), 2, 101.0, -1).tier, size_t{2});
  CHECK_EQ(p.Evaluate(Avail(900 * MB), 2, 111.0, -1).tier, size_t{1});
}

TEST(policy_rejects_bad_config) {
  FallbackPolicyConfig c = PolicyCfg();
  c.high_watermark_bytes = c.low_watermark_bytes - 1;
  CHECK_THROWS_CODE(FallbackPolicy(c, 2), ErrorCode::kInvalidArgument);
  c = PolicyCfg();
  c.upgrade_after_s = NAN;
  CHECK_THROWS_CODE(FallbackPolicy(c, 2), ErrorCode::kInvalidArgument);
}

// ---- adaptive recognizer --------------------------------------------------

TEST(load_failure_falls_back_to_next_tier) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.loader = [](const RecognizerConfig& rc) -> std::shared_ptr<Recognizer> {
    if (rc.model.find("large") != std::string::npos) Fail(ErrorCode::kOutOfMemory, rc.model, ": test says no");
    return std::make_shared<Recognizer>(rc);
  };
  MakeRig(&rig, c);
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  CHECK_EQ(rig.rec->counters().failed_loads, 1);
  CHECK(!rig.rec->pool().IsLoaded(0));
  // Memory looks plentiful, but the big tier still does not load: stay, count, retry later.
  rig.probe->avail = int64_t{8} << 30;
  rig.rec->Evaluate();
  rig.now = 11;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  CHECK_EQ(rig.rec->counters().failed_loads, 2);
  CHECK_EQ(rig.rec->counters().switches_up, 0);
}

TEST(bad_alloc_counts_as_out_of_memory) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.loader = [](const RecognizerConfig& rc) -> std::shared_ptr<Recognizer> {
    if (rc.model.find("large") != std::string::npos) throw std::bad_alloc();
    return std::make_shared<Recognizer>(rc);
  };
  MakeRig(&rig, c);
  CHECK_EQ(rig.rec->current_tier(), size_t{1});
  CHECK_EQ(rig.rec->pool().stats(0).failed_loads_oom, 1);
}

TEST(nothing_fits_is_a_clear_out_of_memory_error) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.loader = [](const RecognizerConfig& rc) -> std::shared_ptr<Recognizer> {
    Fail(ErrorCode::kOutOfMemory, rc.model, ": no memory");
  };
  CHECK_THROWS_CODE(AdaptiveRecognizer{c}, ErrorCode::kOutOfMemory);
  try {
    AdaptiveRecognizer r(c);
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("no model tier fits") != std::string::npos);
    CHECK(m.find("asr-random-wenet-large") != std::string::npos);
  }
  // Other load errors are not memory problems: they propagate as they are.
  c.tiers[1].model = DataDir("does-not-exist/model.onnx");
  c.loader = {};
  c.tiers.erase(c.tiers.begin());
  CHECK_THROWS_CODE(AdaptiveRecognizer{c}, ErrorCode::kIo);
}

TEST(watermarks_move_down_unload_and_come_back_up) {
  Rig rig;
  MakeRig(&rig, BaseCfg(&rig));
  CHECK((rig.rec->current_tier_name()) == (std::string("big")));
  auto s = rig.rec->CreateStream();
  auto x = TestAudio(2.0);
  s->AcceptWaveform(16000, x.data(), 16000);
  rig.rec->DecodeAvailable(s.get());
  CHECK((s->tier_name()) == (std::string("big")));

  rig.probe->avail = 50 * MB;  // below the low watermark
  rig.now = 1;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  CHECK(rig.rec->pool().IsLoaded(0));  // the stream still holds it
  auto s2 = rig.rec->CreateStream();   // new streams are admitted on the small tier only
  CHECK((s2->tier_name()) == (std::string("small")));
  rig.rec->DecodeAvailable(s.get());  // safe point: the stream moves
  CHECK((s->tier_name()) == (std::string("small")));
  CHECK(!rig.rec->pool().IsLoaded(0));  // and the big tier is gone
  CHECK_EQ(rig.rec->pool().stats(0).unloads, 1);
  auto cnt = rig.rec->counters();
  CHECK_EQ(cnt.switches_down, 1);
  CHECK_EQ(cnt.streams_moved, 1);
  CHECK(cnt.redecoded_seconds > 0.5 && cnt.redecoded_seconds <= 1.0 + 1e-9);
  CHECK_EQ(rig.events.size(), size_t{1});
  CHECK((rig.events[0].from) == (std::string("big")));
  CHECK((rig.events[0].to) == (std::string("small")));
  CHECK(rig.events[0].reason.find("low watermark") != std::string::npos);

  // Memory frees up: move up only after upgrade_after (10 s) of relief.
  rig.probe->avail = int64_t{2} << 30;
  rig.now = 2;
  rig.rec->Evaluate();
  rig.now = 11.9;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  rig.now = 12.1;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("big")));
  CHECK_EQ(rig.rec->counters().switches_up, 1);
  s->AcceptWaveform(16000, x.data() + 16000, 16000);
  s->InputFinished();
  s2.reset();
  rig.rec->DecodeAvailable(s.get());
  CHECK((s->tier_name()) == (std::string("big")));
  CHECK(!rig.rec->pool().IsLoaded(1));
  auto finals = s->PopFinalResults();
  CHECK_EQ(finals.size(), size_t{1});
  if (!finals.empty()) CHECK((finals[0].model) == (std::string("big")));
  CHECK_EQ(rig.rec->PopEvents().size(), size_t{2});
}

TEST(critical_signal_goes_to_smallest_and_moderate_holds) {
  Rig rig;
  MakeRig(&rig, BaseCfg(&rig));
  rig.rec->SignalPressure(PressureLevel::kCritical);
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  CHECK(!rig.rec->pool().IsLoaded(0));  // no stream held it: unloaded at once
  rig.rec->SignalPressure(PressureLevel::kModerate);
  rig.now = 100;
  rig.rec->Evaluate();
  rig.now = 200;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("small")));
  rig.rec->SignalPressure(PressureLevel::kNone);
  rig.now = 211;
  rig.rec->Evaluate();
  CHECK((rig.rec->current_tier_name()) == (std::string("big")));
}

TEST(mid_utterance_switch_loses_nothing) {
  // Reference: the small tier alone.
  Rig ref;
  auto rc = BaseCfg(&ref);
  rc.tiers.erase(rc.tiers.begin());
  MakeRig(&ref, rc);
  auto x = TestAudio(4.0, 11);
  auto feed = [&](AdaptiveRecognizer& r, AdaptiveStream* s, size_t from, size_t to) {
    for (size_t i = from; i < to; i += 1600) {
      s->AcceptWaveform(16000, x.data() + i, std::min<size_t>(1600, to - i));
      r.DecodeAvailable(s);
    }
  };
  auto rs = ref.rec->CreateStream();
  feed(*ref.rec, rs.get(), 0, x.size());
  rs->InputFinished();
  ref.rec->DecodeAvailable(rs.get());
  std::string want = Text(rs->PopFinalResults());
  CHECK(!want.empty());

  Rig rig;
  MakeRig(&rig, BaseCfg(&rig));
  auto s = rig.rec->CreateStream();
  feed(*rig.rec, s.get(), 0, 27200);  // 1.7 s on the big tier
  std::string big_partial = rig.rec->GetPartial(*s).text;
  rig.rec->SignalPressure(PressureLevel::kLow);
  Result p = rig.rec->GetPartial(*s);  // moves and re-decodes right here
  CHECK((p.model) == (std::string("small")));
  feed(*rig.rec, s.get(), 27200, x.size());
  s->InputFinished();
  rig.rec->DecodeAvailable(s.get());
  auto finals = s->PopFinalResults();
  CHECK((Text(finals)) == (want));
  for (const auto& r : finals) CHECK(r.model == std::string("small"));
  CHECK_NEAR(rig.rec->counters().redecoded_seconds, 1.7, 1e-6);
  (void)big_partial;
}

TEST(buffer_overflow_finalizes_on_the_old_tier) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.max_buffer_seconds = 1.0;
  MakeRig(&rig, c);
  auto s = rig.rec->CreateStream();
  auto x = TestAudio(3.0, 5);
  s->AcceptWaveform(16000, x.data(), 32000);  // 2 s > 1 s buffer, no endpoint
  rig.rec->DecodeAvailable(s.get());
  CHECK_NEAR(s->buffered_seconds(), 1.0, 1e-6);
  rig.rec->SwitchTo(1, "test");
  s->AcceptWaveform(16000, x.data() + 32000, 16000);
  s->InputFinished();
  rig.rec->DecodeAvailable(s.get());
  auto finals = s->PopFinalResults();
  CHECK(finals.size() >= 1);
  if (!finals.empty()) CHECK((finals[0].model) == (std::string("big")));
  CHECK_EQ(rig.rec->counters().overflow_finalizations, 1);
  CHECK_EQ(rig.rec->counters().redecoded_seconds, 0.0);
  for (size_t i = 1; i < finals.size(); ++i) {
    CHECK((finals[i].model) == (std::string("small")));
    CHECK(finals[i].segment_start >= 1.99f);
    CHECK_EQ(finals[i].segment, finals[i - 1].segment + 1);
  }
}

TEST(preloaded_fallback_stays_loaded) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.preload_fallback = true;
  MakeRig(&rig, c);
  CHECK(rig.rec->pool().IsLoaded(0) && rig.rec->pool().IsLoaded(1));
  rig.rec->Evaluate();
  CHECK(rig.rec->pool().IsLoaded(1));  // not released as unused
  rig.rec->SignalPressure(PressureLevel::kLow);
  CHECK_EQ(rig.rec->pool().stats(1).loads, 1);  // the switch did not load it again
  CHECK(!rig.rec->pool().IsLoaded(0));
}

TEST(monitor_thread_switches_while_streams_decode) {
  // Real clock, background polling every 2 ms, memory flipping under the decoder's feet.
  AdaptiveRecognizerConfig c;
  c.tiers = {{"big", DataDir("asr-random-wenet-large"), ""}, {"small", DataDir("asr-random-wenet"), ""}};
  c.base.enable_endpoint = false;
  c.policy = PolicyCfg();
  c.policy.upgrade_after_s = 0.02;
  c.policy.down_interval_s = 0;
  c.monitor.poll_interval = std::chrono::milliseconds(2);
  c.monitor.system_probes = false;
  std::atomic<int> switches{0};
  c.on_switch = [&](const SwitchEvent&) { switches++; };
  AdaptiveRecognizer rec(c);
  auto probe = std::make_unique<FakeProbe>();
  FakeProbe* p = probe.get();
  rec.monitor().AddProbe(std::move(probe));
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    for (int i = 0; !stop; ++i) {
      p->avail = (i % 2) ? 10 * MB : int64_t{4} << 30;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  });
  auto x = TestAudio(4.0, 3);
  auto a = rec.CreateStream(), b = rec.CreateStream();
  for (size_t i = 0; i < x.size(); i += 1600) {
    a->AcceptWaveform(16000, x.data() + i, std::min<size_t>(1600, x.size() - i));
    b->AcceptWaveform(16000, x.data() + i, std::min<size_t>(1600, x.size() - i));
    rec.Decode({a.get(), b.get()});
    rec.GetPartial(*a);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  flipper.join();
  a->InputFinished();
  b->InputFinished();
  while (!rec.IsDone(*a) || !rec.IsDone(*b)) rec.Decode({a.get(), b.get()});
  auto fa = a->PopFinalResults(), fb = b->PopFinalResults();
  CHECK(!fa.empty() && !fb.empty());
  CHECK(switches.load() >= 2);
  // The monitor thread may be inside a switch right now (counters are updated before the
  // observer runs): wait for it to settle, memory no longer flips.
  int64_t counted = 0;
  for (int i = 0; i < 300; ++i) {
    counted = rec.counters().switches_down + rec.counters().switches_up;
    if (counted == switches.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_EQ(counted, static_cast<int64_t>(switches.load()));
  // Both streams saw the same audio and the same switches at the same safe points.
  CHECK(Text(fa) == Text(fb));
}

TEST(config_errors) {
  Rig rig;
  auto c = BaseCfg(&rig);
  c.max_buffer_seconds = 0;
  CHECK_THROWS_CODE(AdaptiveRecognizer{c}, ErrorCode::kInvalidArgument);
  c = BaseCfg(&rig);
  c.tiers.clear();
  CHECK_THROWS_CODE(AdaptiveRecognizer{c}, ErrorCode::kInvalidArgument);
  c = BaseCfg(&rig);
  c.tiers[1].name = "big";
  CHECK_THROWS_CODE(AdaptiveRecognizer{c}, ErrorCode::kInvalidArgument);
  MakeRig(&rig, BaseCfg(&rig));
  CHECK_THROWS_CODE(rig.rec->SwitchTo(5, "x"), ErrorCode::kInvalidArgument);
}

TEST_MAIN()
