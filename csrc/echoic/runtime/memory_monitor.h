// How much memory the process may still use, from whichever source is the
// tightest: the cgroup (v2 or v1) it runs in, the machine (/proc/meminfo), an
// explicit budget set by the application (compared with the process RSS), and
// pressure signals from the host app (Android onTrimMemory-style levels).
// Probes are pluggable so tests can inject readings deterministically.
#ifndef ECHOIC_RUNTIME_MEMORY_MONITOR_H_
#define ECHOIC_RUNTIME_MEMORY_MONITOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace echoic {

// Ordered: a higher level is more pressure (cf. Android TRIM_MEMORY_RUNNING_*).
enum class PressureLevel : int { kNone = 0, kModerate = 1, kLow = 2, kCritical = 3 };
const char* PressureLevelName(PressureLevel level);
// "none" | "moderate" | "low" | "critical"; kInvalidArgument otherwise.
PressureLevel PressureLevelFromName(const std::string& name);

// One source's view. Unknown fields are -1.
struct MemoryReading {
  int64_t limit_bytes = -1;
  int64_t used_bytes = -1;
  int64_t available_bytes = -1;  // limit - used when not given directly
  std::string source;
};

struct MemoryState {
  int64_t available_bytes = -1;  // the tightest source's headroom; -1 = no source knows
  int64_t used_bytes = -1;
  int64_t limit_bytes = -1;
  PressureLevel pressure_level = PressureLevel::kNone;  // signalled by the host app
  std::string source;                                   // which source set available_bytes ("" when none did)
};

class MemoryProbe {
 public:
  virtual ~MemoryProbe() = default;
  // nullopt when the source does not apply here (no cgroup limit, not Linux, ...).
  virtual std::optional<MemoryReading> Read() = 0;
};

// Resident set size of this process in bytes (/proc/self/statm); -1 if unknown.
int64_t ProcessRssBytes();
// Parses "1234", "300MB", "1.5G", "512k" (binary multiples: k=1024); kInvalidArgument otherwise.
int64_t ParseByteSize(const std::string& text);

// Built-in probes. `root` overrides the filesystem root (tests point it at a fake tree).
std::unique_ptr<MemoryProbe> MakeCgroupV2Probe(const std::string& root = "");
std::unique_ptr<MemoryProbe> MakeCgroupV1Probe(const std::string& root = "");
std::unique_ptr<MemoryProbe> MakeMemInfoProbe(const std::string& root = "");
// Headroom = budget - process RSS.
std::unique_ptr<MemoryProbe> MakeBudgetProbe(int64_t budget_bytes);

struct MemoryMonitorOptions {
  std::chrono::milliseconds poll_interval{500};  // <= 0: no background thread (call Poll() yourself)
  bool system_probes = true;                     // cgroup v2/v1 + /proc/meminfo
  int64_t budget_bytes = 0;                      // > 0 adds a budget probe
};

// Thread-safe. The background thread sleeps on a condition variable between
// polls, wakes at once on a pressure signal, and stops promptly on destruction.
class MemoryMonitor {
 public:
  using Listener = std::function<void(const MemoryState&)>;

  explicit MemoryMonitor(const MemoryMonitorOptions& options = {});
  ~MemoryMonitor();
  MemoryMonitor(const MemoryMonitor&) = delete;
  MemoryMonitor& operator=(const MemoryMonitor&) = delete;

  void AddProbe(std::unique_ptr<MemoryProbe> probe);
  void SetBudget(int64_t budget_bytes);  // <= 0 removes the budget
  int64_t budget() const;
  // From the host app; stays until the next call (kNone clears it).
  void SignalPressure(PressureLevel level);
  // Called after every poll, on the polling thread (or the caller of Poll()).
  void SetListener(Listener listener);

  // Reads every probe now, stores and returns the combined state.
  MemoryState Poll();
  MemoryState Last() const;
  int64_t polls() const { return polls_.load(); }

 private:
  void Run();

  MemoryMonitorOptions options_;
  mutable std::mutex mu_;  // probes, budget, last state, listener
  std::vector<std::unique_ptr<MemoryProbe>> probes_;
  std::unique_ptr<MemoryProbe> budget_probe_;
  int64_t budget_ = 0;
  MemoryState last_;
  Listener listener_;
  std::mutex poll_mu_;  // one poll at a time
  std::atomic<int> pressure_{0};
  std::atomic<int64_t> polls_{0};

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool wake_requested_ = false;
  std::thread thread_;
};

}  // namespace echoic

#endif  // ECHOIC_RUNTIME_MEMORY_MONITOR_H_
