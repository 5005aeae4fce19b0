#include "echoic/runtime/memory_monitor.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic {

const char* PressureLevelName(PressureLevel level) {
  switch (level) {
    case PressureLevel::kNone:
      return "none";
    case PressureLevel::kModerate:
      return "moderate";
    case PressureLevel::kLow:
      return "low";
    case PressureLevel::kCritical:
      return "critical";
  }
  return "?";
}

PressureLevel PressureLevelFromName(const std::string& name) {
  for (PressureLevel l :
       {PressureLevel::kNone, PressureLevel::kModerate, PressureLevel::kLow, PressureLevel::kCritical})
    if (name == PressureLevelName(l)) return l;
  Fail(ErrorCode::kInvalidArgument, "memory pressure level must be none, moderate, low or critical, got '", name, "'");
}

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// A cgroup byte count; nullopt for "max", garbage, or "no limit" sentinels.
std::optional<int64_t> ReadBytes(const std::string& path) {
  std::string text;
  if (!ReadFile(path, &text)) return std::nullopt;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty() || text == "max") return std::nullopt;
  try {
    size_t used = 0;
    long double v = std::stold(text, &used);
    if (used != text.size() || v < 0) return std::nullopt;
    // cgroup v1 reports "unlimited" as a page-rounded LONG_MAX.
    if (v >= static_cast<long double>(int64_t{1} << 62)) return std::nullopt;
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The process's cgroup path for a v1 controller ("memory") or v2 (controller "").
std::optional<std::string> CgroupPath(const std::string& root, const std::string& controller) {
  std::ifstream f(root + "/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controller.empty()) {
      if (line.compare(0, a, "0") == 0 && ctrls.empty()) return path;
    } else {
      std::stringstream ss(ctrls);
      std::string c;
      while (std::getline(ss, c, ','))
        if (c == controller) return path;
    }
  }
  return std::nullopt;
}

class CgroupProbe : public MemoryProbe {
 public:
  CgroupProbe(std::string root, bool v2) : root_(std::move(root)), v2_(v2) {}
  std::optional<MemoryReading> Read() override {
    auto rel = CgroupPath(root_, v2_ ? "" : "memory");
    if (!rel) return std::nullopt;
    const std::string mount = root_ + (v2_ ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory");
    const char* limit_file = v2_ ? "/memory.max" : "/memory.limit_in_bytes";
    const char* usage_file = v2_ ? "/memory.current" : "/memory.usage_in_bytes";
    // Walk from the process's group up to the mount: the first limit found binds.
    // (In a container the group path may not exist under the mount; the walk
    // then ends at the mount itself, which is the container's own group.)
    std::string path = *rel;
    while (true) {
      std::string dir = mount + (path == "/" ? "" : path);
      if (auto limit = ReadBytes(dir + limit_file)) {
        auto used = ReadBytes(dir + usage_file);
        MemoryReading r;
        r.limit_bytes = *limit;
        r.used_bytes = used.value_or(-1);
        r.available_bytes = used ? std::max<int64_t>(0, *limit - *used) : -1;
        r.source = v2_ ? "cgroup2" : "cgroup1";
        return r.available_bytes >= 0 ? std::optional<MemoryReading>(r) : std::nullopt;
      }
      if (path.empty() || path == "/") break;
      size_t slash = path.find_last_of('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
    return std::nullopt;
  }

 private:
  std::string root_;
  bool v2_;
};

class MemInfoProbe : public MemoryProbe {
 public:
  explicit MemInfoProbe(std::string root) : root_(std::move(root)) {}
  std::optional<MemoryReading> Read() override {
    std::ifstream f(root_ + "/proc/meminfo");
    std::string key;
    int64_t value = 0, total = -1, avail = -1;
    std::string unit;
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream ls(line);
      if (!(ls >> key >> value)) continue;
      if (key == "MemTotal:") total = value * 1024;
      if (key == "MemAvailable:") avail = value * 1024;
    }
    if (avail < 0) return std::nullopt;
    MemoryReading r;
    r.limit_bytes = total;
    r.available_bytes = avail;
    r.used_bytes = total >= 0 ? total - avail : -1;
    r.source = "meminfo";
    return r;
  }

 private:
  std::string root_;
};

class BudgetProbe : public MemoryProbe {
 public:
  explicit BudgetProbe(int64_t budget) : budget_(budget) {}
  std::optional<MemoryReading> Read() override {
    int64_t rss = ProcessRssBytes();
    if (rss < 0) return std::nullopt;
    MemoryReading r;
    r.limit_bytes = budget_;
    r.used_bytes = rss;
    r.available_bytes = std::max<int64_t>(0, budget_ - rss);
    r.source = "budget";
    return r;
  }

 private:
  int64_t budget_;
};

}  // namespace

int64_t ProcessRssBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return -1;
  long page = sysconf(_SC_PAGESIZE);
  return resident * (page > 0 ? page : 4096);
}

int64_t ParseByteSize(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  std::string num = t.substr(0, i), unit = t.substr(i);
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();  // "mb" -> "m", "mib" -> "mi"
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
  if (unit == "b") unit.clear();
  double mult = 1;
  if (unit == "k")
    mult = 1024.0;
  else if (unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    num.clear();
  double v = -1;
  try {
    size_t used = 0;
    if (!num.empty()) v = std::stod(num, &used);
    if (used != num.size()) v = -1;
  } catch (const std::exception&) {
    v = -1;
  }
  ECHOIC_CHECK(v >= 0 && std::isfinite(v * mult) && v * mult < 9.2e18, ErrorCode::kInvalidArgument, "memory size '",
               text, "' is not a byte count like 300MB, 1.5G or 65536");
  return static_cast<int64_t>(v * mult);
}

std::unique_ptr<MemoryProbe> MakeCgroupV2Probe(const std::string& root) {
  return std::make_unique<CgroupProbe>(root, true);
}
std::unique_ptr<MemoryProbe> MakeCgroupV1Probe(const std::string& root) {
  return std::make_unique<CgroupProbe>(root, false);
}
std::unique_ptr<MemoryProbe> MakeMemInfoProbe(const std::string& root) { return std::make_unique<MemInfoProbe>(root); }
std::unique_ptr<MemoryProbe> MakeBudgetProbe(int64_t budget_bytes) {
  ECHOIC_CHECK(budget_bytes > 0, ErrorCode::kInvalidArgument, "memory budget must be > 0 bytes, got ", budget_bytes);
  return std::make_unique<BudgetProbe>(budget_bytes);
}

MemoryMonitor::MemoryMonitor(const MemoryMonitorOptions& options) : options_(options) {
  if (options_.system_probes) {
    probes_.push_back(MakeCgroupV2Probe());
    probes_.push_back(MakeCgroupV1Probe());
    probes_.push_back(MakeMemInfoProbe());
  }
  if (options_.budget_bytes > 0) SetBudget(options_.budget_bytes);
  if (options_.poll_interval.count() > 0) thread_ = std::thread([this] { Run(); });
}

MemoryMonitor::~MemoryMonitor() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryMonitor::AddProbe(std::unique_ptr<MemoryProbe> probe) {
  ECHOIC_CHECK(probe != nullptr, ErrorCode::kInvalidArgument, "memory monitor: probe is null");
  std::lock_guard<std::mutex> lock(mu_);
  probes_.push_back(std::move(probe));
}

void MemoryMonitor::SetBudget(int64_t budget_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  budget_ = budget_bytes > 0 ? budget_bytes : 0;
  budget_probe_ = budget_ > 0 ? MakeBudgetProbe(budget_) : nullptr;
}

int64_t MemoryMonitor::budget() const {
  std::lock_guard<std::mutex> lock(mu_);
  return budget_;
}

void MemoryMonitor::SignalPressure(PressureLevel level) {
  pressure_.store(static_cast<int>(level));
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

void MemoryMonitor::SetListener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

MemoryState MemoryMonitor::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  MemoryState state;
  Listener listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto consider = [&](MemoryProbe* p) {
      std::optional<MemoryReading> r;
      try {
        r = p->Read();
      } catch (const std::exception&) {
        r.reset();  // a broken source must not stop the others
      }
      if (!r || r->available_bytes < 0) return;
      if (state.available_bytes < 0 || r->available_bytes < state.available_bytes) {
        state.available_bytes = r->available_bytes;
        state.used_bytes = r->used_bytes;
        state.limit_bytes = r->limit_bytes;
        state.source = r->source;
      }
    };
    for (auto& p : probes_) consider(p.get());
    if (budget_probe_) consider(budget_probe_.get());
    state.pressure_level = static_cast<PressureLevel>(pressure_.load());
    last_ = state;
    listener = listener_;
  }
  polls_.fetch_add(1);
  if (listener) listener(state);
  return state;
}

MemoryState MemoryMonitor::Last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void MemoryMonitor::Run() {
  std::unique_lock<std::mutex> lock(wake_mu_);
  while (!stop_) {
    lock.unlock();
    try {
      Poll();
    } catch (...) {
      // A listener that throws must not kill the thread (nor the process).
    }
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stop_ || wake_requested_; });
    wake_requested_ = false;
  }
}

}  // namespace echoic
