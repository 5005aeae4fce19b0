#include "echoic/adaptive/model_pool.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <new>
#include <system_error>

#include "echoic/ort/environment.h"
#include "echoic/ort/library.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/memory_monitor.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace echoic::asr {

void TrimHeap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

namespace {

bool IsDir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string BaseName(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

ModelPool::ModelPool(std::vector<ModelTier> tiers, const RecognizerConfig& base, Loader loader)
    : tiers_(std::move(tiers)), base_(base), loader_(std::move(loader)) {
  ECHOIC_CHECK(!tiers_.empty(), ErrorCode::kInvalidArgument, "model pool: no tiers given");
  for (size_t i = 0; i < tiers_.size(); ++i) {
    ModelTier& t = tiers_[i];
    ECHOIC_CHECK(!t.model.empty(), ErrorCode::kInvalidArgument, "model pool: tier ", i, " has no model path");
    // A folder (CTC model.onnx or transducer encoder/decoder/joiner) is named
    // after itself; the Recognizer resolves what is inside.
    if (IsDir(t.model) && t.name.empty()) t.name = BaseName(t.model);
    if (t.name.empty()) {
      std::string parent =
          t.model.substr(0, t.model.find_last_of('/') == std::string::npos ? 0 : t.model.find_last_of('/'));
      t.name = parent.empty() ? BaseName(t.model) : BaseName(parent);
    }
    for (size_t j = 0; j < i; ++j)
      ECHOIC_CHECK(tiers_[j].name != t.name, ErrorCode::kInvalidArgument, "model pool: two tiers are named '", t.name,
                   "'; give them distinct names");
  }
  if (!loader_) loader_ = [](const RecognizerConfig& c) { return std::make_shared<Recognizer>(c); };
  loaded_.resize(tiers_.size());
  stats_.resize(tiers_.size());
}

const ModelTier& ModelPool::tier(size_t i) const {
  ECHOIC_CHECK(i < tiers_.size(), ErrorCode::kInvalidArgument, "model pool: tier ", i, " out of range (", tiers_.size(),
               " tiers)");
  return tiers_[i];
}

RecognizerConfig ModelPool::ConfigFor(size_t i) const {
  RecognizerConfig c = base_;
  c.model = tiers_[i].model;
  c.tokens = tiers_[i].tokens;
  return c;
}

std::shared_ptr<Recognizer> ModelPool::Get(size_t i) {
  tier(i);
  std::lock_guard<std::mutex> lock(mu_);
  if (loaded_[i]) return loaded_[i];
  TierStats& st = stats_[i];
  const std::string who = "model tier '" + tiers_[i].name + "' (" + tiers_[i].model + ")";
  // The ORT library and environment come once per process: keep them out of
  // the tier's measured size.
  try {
    ort::Library::Get(base_.session.ort_library);
    ort::Environment::Get();
  } catch (const Error&) {
    // The load below reports it with the tier's name.
  }
  TrimHeap();
  const int64_t before = ProcessRssBytes();
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<Recognizer> rec;
  try {
    rec = loader_(ConfigFor(i));
  } catch (const Error& e) {
    st.failed_loads += 1;
    if (e.code() == ErrorCode::kOutOfMemory) st.failed_loads_oom += 1;
    st.last_error = e.what();
    throw;
  } catch (const std::bad_alloc&) {
    st.failed_loads += 1;
    st.failed_loads_oom += 1;
    st.last_error = who + ": out of memory while loading";
    Fail(ErrorCode::kOutOfMemory, st.last_error);
  } catch (const std::system_error& e) {
    // Thread creation under an address-space limit fails with EAGAIN/ENOMEM.
    st.failed_loads += 1;
    const bool oom = e.code().value() == ENOMEM || e.code().value() == EAGAIN;
    if (oom) st.failed_loads_oom += 1;
    st.last_error = who + ": " + e.what();
    Fail(oom ? ErrorCode::kOutOfMemory : ErrorCode::kInternal, st.last_error);
  }
  ECHOIC_CHECK(rec != nullptr, ErrorCode::kInternal, who, ": loader returned null");
  const int64_t after = ProcessRssBytes();
  st.loaded = true;
  st.loads += 1;
  st.resident_bytes = before >= 0 && after >= 0 ? after - before : -1;
  st.estimated_bytes = rec->memory_report().EstimatedBytes(1);
  st.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  loaded_[i] = rec;
  return rec;
}

std::shared_ptr<Recognizer> ModelPool::IfLoaded(size_t i) const {
  tier(i);
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_[i];
}

bool ModelPool::Unused(size_t i) const {
  tier(i);
  std::lock_guard<std::mutex> lock(mu_);
  return !loaded_[i] || loaded_[i].use_count() == 1;
}

int64_t ModelPool::Unload(size_t i) {
  tier(i);
  std::shared_ptr<Recognizer> victim;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!loaded_[i]) return 0;
    victim.swap(loaded_[i]);
    stats_[i].estimated_bytes = victim->memory_report().EstimatedBytes(1);
    stats_[i].loaded = false;
    stats_[i].unloads += 1;
  }
  const int64_t before = ProcessRssBytes();
  victim.reset();  // frees the session unless a stream still holds it
  TrimHeap();
  const int64_t after = ProcessRssBytes();
  const int64_t released = before >= 0 && after >= 0 ? before - after : -1;
  std::lock_guard<std::mutex> lock(mu_);
  stats_[i].released_bytes = released;
  return released;
}

TierStats ModelPool::stats(size_t i) const {
  tier(i);
  std::lock_guard<std::mutex> lock(mu_);
  return stats_[i];
}

TierProfile ModelPool::Profile(size_t i) {
  tier(i);
  ECHOIC_CHECK(!IsLoaded(i), ErrorCode::kState, "model pool: profile tier '", tiers_[i].name,
               "' while it is loaded (unload it first)");
  TierProfile p;
  for (bool arena : {true, false}) {
    RecognizerConfig c = ConfigFor(i);
    c.session.cpu_mem_arena = arena;
    TrimHeap();
    const int64_t before = ProcessRssBytes();
    int64_t loaded = -1, ran = -1;
    {
      auto rec = loader_(c);
      loaded = ProcessRssBytes();
      auto s = rec->CreateStream();
      std::vector<float> silence(static_cast<size_t>(rec->model_info().sample_rate), 0.f);  // 1 s
      s->AcceptWaveform(rec->model_info().sample_rate, silence.data(), silence.size());
      rec->DecodeAvailable(s.get());
      ran = ProcessRssBytes();
    }
    TrimHeap();
    (arena ? p.load_bytes_arena : p.load_bytes_no_arena) = loaded - before;
    (arena ? p.run_bytes_arena : p.run_bytes_no_arena) = ran - before;
  }
  return p;
}

}  // namespace echoic::asr
