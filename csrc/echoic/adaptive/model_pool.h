// Ordered model tiers (biggest first) for memory-pressure fallback. Tiers load
// lazily; each load's resident cost is measured (process RSS delta) and each
// unload reports how much memory actually came back.
#ifndef ECHOIC_ADAPTIVE_MODEL_POOL_H_
#define ECHOIC_ADAPTIVE_MODEL_POOL_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echoic/asr/recognizer.h"
#include "echoic/asr/recognizer_config.h"

namespace echoic::asr {

struct ModelTier {
  std::string name;    // "" = the model's folder name
  std::string model;   // .onnx file, or a model folder (CTC or transducer)
  std::string tokens;  // "" = tokens.txt beside the model
};

struct TierStats {
  bool loaded = false;
  int64_t loads = 0;
  int64_t unloads = 0;
  int64_t failed_loads = 0;      // any error
  int64_t failed_loads_oom = 0;  // of which for lack of memory
  int64_t resident_bytes = -1;   // RSS delta of the last successful load
  double load_seconds = 0.0;     // of the last successful load
  int64_t released_bytes = -1;   // RSS drop at the last unload (allocators may keep pages)
  // The recognizer's own MemoryReport estimate for one stream (load + first run + stream),
  // refreshed at unload once the first run is known: what moving back up needs.
  int64_t estimated_bytes = -1;
  std::string last_error;
};

// RSS cost of one tier with the ORT CPU arena on and off: after loading, and
// after decoding one chunk (the arena grows on the first run).
struct TierProfile {
  int64_t load_bytes_arena = -1, run_bytes_arena = -1;
  int64_t load_bytes_no_arena = -1, run_bytes_no_arena = -1;
};

class ModelPool {
 public:
  // Makes a recognizer for a config; tests inject failures through it.
  using Loader = std::function<std::shared_ptr<Recognizer>(const RecognizerConfig&)>;

  // `base` supplies everything but model/tokens. Throws kInvalidArgument for no
  // tiers or an empty model path; files are not touched until a tier loads.
  ModelPool(std::vector<ModelTier> tiers, const RecognizerConfig& base, Loader loader = {});

  size_t size() const { return tiers_.size(); }
  const ModelTier& tier(size_t i) const;
  const std::string& name(size_t i) const { return tier(i).name; }

  // The tier's recognizer, loading it first if needed. Failures throw; memory
  // failures (ORT out of memory, std::bad_alloc, no thread) as kOutOfMemory.
  std::shared_ptr<Recognizer> Get(size_t i);
  std::shared_ptr<Recognizer> IfLoaded(size_t i) const;
  bool IsLoaded(size_t i) const { return IfLoaded(i) != nullptr; }
  // True when nothing but the pool holds the tier's recognizer.
  bool Unused(size_t i) const;
  // Drops the pool's reference (streams still on it keep it alive), trims the
  // heap and records how much RSS came back. Returns that drop in bytes.
  int64_t Unload(size_t i);
  TierStats stats(size_t i) const;
  // Loads the tier twice (arena on, then off) in isolation and measures it.
  // The tier must not be loaded; it is unloaded again afterwards.
  TierProfile Profile(size_t i);

 private:
  RecognizerConfig ConfigFor(size_t i) const;

  std::vector<ModelTier> tiers_;
  RecognizerConfig base_;
  Loader loader_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Recognizer>> loaded_;
  std::vector<TierStats> stats_;
};

// Returns freed heap pages to the OS where the C library can (glibc malloc_trim).
void TrimHeap();

}  // namespace echoic::asr

#endif  // ECHOIC_ADAPTIVE_MODEL_POOL_H_
