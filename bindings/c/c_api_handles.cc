// The live-handle registry and the quarantine of freed handles (see c_api_util.h).
#include <array>
#include <cstdint>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "c_api_util.h"

namespace echoic::c_api {
namespace {

// Sharded so that threads working on different streams rarely share a lock.
constexpr size_t kShards = 64;  // the hash below takes the top 6 bits
// Freed handles whose storage is held back (the structs are small: ~100 KiB in all).
constexpr size_t kQuarantine = 1024;

struct alignas(64) Shard {
  std::mutex mu;
  std::unordered_map<const void*, HandleType> live;
};

struct Held {
  void* storage = nullptr;
  HandleType type = HandleType::kSession;
};

struct QuarantineRing {
  std::mutex mu;
  std::array<Held, kQuarantine> slots;
  size_t next = 0;
};

// Never destroyed: a host may free handles from its own static destructors.
Shard& ShardOf(const void* p) {
  static Shard* shards = new Shard[kShards];
  // Fibonacci hashing: mixes the high bits in too (per-thread malloc arenas give
  // handles made on different threads the same low bits).
  auto a = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
  return shards[(a * 0x9E3779B97F4A7C15ull) >> 58];
}

QuarantineRing& Ring() {
  static QuarantineRing* ring = new QuarantineRing;
  return *ring;
}

// Why p is not a live handle of `want` ("is ..."), for error messages (slow path only).
std::string Describe(const void* p, HandleType want) {
  std::ostringstream m;
  {
    Shard& s = ShardOf(p);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.live.find(p);
    if (it != s.live.end()) {
      m << "is an " << HandleTypeName(it->second) << " handle, not an " << HandleTypeName(want);
      return m.str();
    }
  }
  {
    QuarantineRing& q = Ring();
    std::lock_guard<std::mutex> lock(q.mu);
    for (const Held& h : q.slots) {
      if (h.storage == p) {
        m << "is an " << HandleTypeName(h.type) << " handle that was already freed";
        if (h.type != want) m << " (and not an " << HandleTypeName(want) << ")";
        return m.str();
      }
    }
  }
  m << "is not a live " << HandleTypeName(want) << " handle (freed earlier, or not made by echoic)";
  return m.str();
}

}  // namespace

const char* HandleTypeName(HandleType type) {
  switch (type) {
    case HandleType::kSession:
      return "echoic_session";
    case HandleType::kFbank:
      return "echoic_fbank";
    case HandleType::kResampler:
      return "echoic_resampler";
    case HandleType::kRecognizer:
      return "echoic_recognizer";
    case HandleType::kStream:
      return "echoic_stream";
    case HandleType::kResult:
      return "echoic_result";
    case HandleType::kIndex:
      return "echoic_index";
    case HandleType::kAdaptive:
      return "echoic_adaptive";
    case HandleType::kAdaptiveStream:
      return "echoic_adaptive_stream";
    case HandleType::kSpeakerModel:
      return "echoic_speaker_model";
    case HandleType::kKws:
      return "echoic_kws";
    case HandleType::kLookup:
      return "echoic_lookup";
  }
  return "echoic handle";
}

void RegisterHandle(const void* p, HandleType type) {
  Shard& s = ShardOf(p);
  std::lock_guard<std::mutex> lock(s.mu);
  s.live[p] = type;
}

bool IsLiveHandle(const void* p, HandleType type) {
  Shard& s = ShardOf(p);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.live.find(p);
  return it != s.live.end() && it->second == type;
}

void FailHandle(const void* p, HandleType type, const std::string& arg) {
  Fail(ErrorCode::kInvalidArgument, "argument '", arg, "' (", p, ") ", Describe(p, type));
}

echoic_status UnregisterHandle(const void* p, HandleType type, const char* fn) {
  {
    Shard& s = ShardOf(p);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.live.find(p);
    if (it != s.live.end() && it->second == type) {
      s.live.erase(it);
      return ECHOIC_OK;
    }
  }
  try {
    std::ostringstream m;
    m << fn << ": " << p << " " << Describe(p, type) << "; nothing was freed";
    SetLastError(m.str());
  } catch (...) {  // out of memory while describing: the status still says it
  }
  return ECHOIC_ERR_INVALID_ARGUMENT;
}

void Quarantine(void* storage, HandleType type) {
  void* oldest = nullptr;
  {
    QuarantineRing& q = Ring();
    std::lock_guard<std::mutex> lock(q.mu);
    Held& slot = q.slots[q.next];
    oldest = slot.storage;
    slot = Held{storage, type};
    q.next = (q.next + 1) % kQuarantine;
  }
  ::operator delete(oldest);  // nullptr is fine
}

}  // namespace echoic::c_api
