#include "echoic/runtime/memory_monitor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using namespace echoic;

namespace {

class FakeProbe : public MemoryProbe {
 public:
  explicit FakeProbe(int64_t avail, std::string name = "fake") : avail_(avail), name_(std::move(name)) {}
  std::optional<MemoryReading> Read() override {
    reads++;
    if (avail_ < 0) return std::nullopt;
    MemoryReading r;
    r.available_bytes = avail_;
    r.limit_bytes = 1000;
    r.used_bytes = 1000 - avail_;
    r.source = name_;
    return r;
  }
  std::atomic<int64_t> avail_;
  std::string name_;
  std::atomic<int> reads{0};
};

std::string TempTree() {
  std::string root = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/echoic_memtest_" +
                     std::to_string(getpid());
  return root;
}

void MkdirP(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty()) mkdir(cur.c_str(), 0755);
    }
    if (i < path.size()) cur += path[i];
  }
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(parse_byte_sizes) {
  CHECK_EQ(ParseByteSize("65536"), 65536);
  CHECK_EQ(ParseByteSize("300MB"), int64_t{300} << 20);
  CHECK_EQ(ParseByteSize("1.5G"), int64_t{3} << 29);
  CHECK_EQ(ParseByteSize("512k"), 512 * 1024);
  CHECK_EQ(ParseByteSize("64 MiB"), int64_t{64} << 20);
  CHECK_THROWS_CODE(ParseByteSize("lots"), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ParseByteSize("-5MB"), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ParseByteSize("12XB"), ErrorCode::kInvalidArgument);
}

TEST(pressure_level_names) {
  CHECK(PressureLevelFromName("critical") == PressureLevel::kCritical);
  CHECK(PressureLevelFromName("none") == PressureLevel::kNone);
  CHECK_THROWS_CODE(PressureLevelFromName("panic"), ErrorCode::kInvalidArgument);
}

TEST(process_rss_is_plausible) {
  int64_t rss = ProcessRssBytes();
  CHECK(rss > (1 << 20));
  CHECK(rss < (int64_t{64} << 30));
}

TEST(tightest_probe_wins_and_signal_is_reported) {
  MemoryMonitorOptions o;
  o.poll_interval = std::chrono::milliseconds(0);
  o.system_probes = false;
  MemoryMonitor m(o);
  auto* a = new FakeProbe(500, "a");
  auto* b = new FakeProbe(200, "b");
  m.AddProbe(std::unique_ptr<MemoryProbe>(a));
  m.AddProbe(std::unique_ptr<MemoryProbe>(b));
  m.AddProbe(std::make_unique<FakeProbe>(-1, "absent"));
  MemoryState s = m.Poll();
  CHECK_EQ(s.available_bytes, 200);
  CHECK((s.source) == (std::string("b")));
  CHECK(s.pressure_level == PressureLevel::kNone);
  b->avail_ = 900;
  m.SignalPressure(PressureLevel::kLow);
  s = m.Poll();
  CHECK_EQ(s.available_bytes, 500);
  CHECK((s.source) == (std::string("a")));
  CHECK(s.pressure_level == PressureLevel::kLow);
}

TEST(budget_probe_uses_rss) {
  MemoryMonitorOptions o;
  o.poll_interval = std::chrono::milliseconds(0);
  o.system_probes = false;
  o.budget_bytes = int64_t{8} << 30;
  MemoryMonitor m(o);
  MemoryState s = m.Poll();
  CHECK((s.source) == (std::string("budget")));
  CHECK_EQ(s.limit_bytes, int64_t{8} << 30);
  CHECK_NEAR(static_cast<double>(s.used_bytes), static_cast<double>(ProcessRssBytes()), 4 << 20);
  m.SetBudget(1024);  // below the RSS: no headroom at all
  CHECK_EQ(m.Poll().available_bytes, 0);
  m.SetBudget(0);
  CHECK_EQ(m.Poll().available_bytes, -1);
}

TEST(cgroup_v2_and_v1_from_a_fake_tree) {
  std::string root = TempTree();
  MkdirP(root + "/proc/self");
  MkdirP(root + "/sys/fs/cgroup/app/worker");
  Write(root + "/proc/self/cgroup", "0::/app/worker\n");
  // The leaf has no limit; its parent does.
  Write(root + "/sys/fs/cgroup/app/worker/memory.max", "max\n");
  Write(root + "/sys/fs/cgroup/app/memory.max", "1048576000\n");
  Write(root + "/sys/fs/cgroup/app/memory.current", "48576000\n");
  auto r = MakeCgroupV2Probe(root)->Read();
  CHECK(r.has_value());
  if (r) {
    CHECK_EQ(r->limit_bytes, 1048576000);
    CHECK_EQ(r->available_bytes, 1000000000);
    CHECK((r->source) == (std::string("cgroup2")));
  }
  CHECK(!MakeCgroupV1Probe(root)->Read().has_value());  // no memory controller line

  Write(root + "/proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n");
  MkdirP(root + "/sys/fs/cgroup/memory/docker/abc");
  Write(root + "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");  // unlimited
  Write(root + "/sys/fs/cgroup/memory/docker/memory.limit_in_bytes", "2000\n");
  Write(root + "/sys/fs/cgroup/memory/docker/memory.usage_in_bytes", "500\n");
  r = MakeCgroupV1Probe(root)->Read();
  CHECK(r.has_value());
  if (r) {
    CHECK_EQ(r->available_bytes, 1500);
    CHECK((r->source) == (std::string("cgroup1")));
  }

  Write(root + "/proc/meminfo", "MemTotal:       16000 kB\nMemFree:    100 kB\nMemAvailable:    4000 kB\n");
  r = MakeMemInfoProbe(root)->Read();
  CHECK(r.has_value());
  if (r) {
    CHECK_EQ(r->available_bytes, 4000 * 1024);
    CHECK_EQ(r->limit_bytes, 16000 * 1024);
  }
  std::string cmd = "rm -rf '" + root + "'";
  CHECK_EQ(std::system(cmd.c_str()), 0);
}

TEST(real_system_probes_do_not_fail) {
  // Whatever this machine has, /proc/meminfo exists on Linux.
  CHECK(MakeMemInfoProbe()->Read().has_value());
  MakeCgroupV2Probe()->Read();
  MakeCgroupV1Probe()->Read();
}

TEST(background_thread_polls_wakes_on_signal_and_stops_promptly) {
  MemoryMonitorOptions o;
  o.poll_interval = std::chrono::milliseconds(10000);  // only the first poll and signals
  o.system_probes = false;
  auto* probe = new FakeProbe(100);
  std::atomic<int> seen_level{0};
  {
    MemoryMonitor m(o);
    m.AddProbe(std::unique_ptr<MemoryProbe>(probe));
    m.SetListener([&](const MemoryState& s) { seen_level = static_cast<int>(s.pressure_level); });
    auto t0 = std::chrono::steady_clock::now();
    m.SignalPressure(PressureLevel::kCritical);
    while (seen_level.load() != 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK_EQ(seen_level.load(), 3);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    t0 = std::chrono::steady_clock::now();
    const int64_t polls = m.polls();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_EQ(m.polls(), polls);  // no busy loop between polls
    (void)t0;
  }
  // (destruction did not wait for the 10 s interval, or this test would time out slowly)
}

TEST(destruction_is_prompt) {
  MemoryMonitorOptions o;
  o.poll_interval = std::chrono::milliseconds(60000);
  o.system_probes = false;
  auto t0 = std::chrono::steady_clock::now();
  {
    MemoryMonitor m(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
}

TEST(short_interval_keeps_polling) {
  MemoryMonitorOptions o;
  o.poll_interval = std::chrono::milliseconds(5);
  o.system_probes = false;
  MemoryMonitor m(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(m.polls() >= 3);
}

TEST_MAIN()
