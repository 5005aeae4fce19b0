#include "echoic/ort/session.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#include "echoic/ort/environment.h"
#include "echoic/ort/library.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/system_info.h"

namespace echoic::ort {

namespace {

c::ONNXTensorElementDataType ToOrt(ElementType t) {
  switch (t) {
    case ElementType::kFloat32:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case ElementType::kFloat16:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case ElementType::kInt64:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case ElementType::kInt32:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case ElementType::kInt8:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case ElementType::kUint8:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case ElementType::kBool:
      return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
  }
  return c::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

bool FromOrt(c::ONNXTensorElementDataType t, ElementType* out) {
  switch (t) {
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      *out = ElementType::kFloat32;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      *out = ElementType::kFloat16;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      *out = ElementType::kInt64;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      *out = ElementType::kInt32;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      *out = ElementType::kInt8;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      *out = ElementType::kUint8;
      return true;
    case c::ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      *out = ElementType::kBool;
      return true;
    default:
      return false;
  }
}

c::GraphOptimizationLevel ToOrt(GraphOptimization g) {
  switch (g) {
    case GraphOptimization::kDisabled:
      return c::ORT_DISABLE_ALL;
    case GraphOptimization::kBasic:
      return c::ORT_ENABLE_BASIC;
    case GraphOptimization::kExtended:
      return c::ORT_ENABLE_EXTENDED;
    case GraphOptimization::kAll:
      return c::ORT_ENABLE_ALL;
  }
  return c::ORT_ENABLE_ALL;
}

// Element type and shape of a tensor type/shape info.
void ReadTypeAndShape(const c::OrtTensorTypeAndShapeInfo* info, const std::string& ctx, const std::string& tensor,
                      c::ONNXTensorElementDataType* type, std::vector<int64_t>* shape) {
  const c::OrtApi& api = Api();
  Check(api.GetTensorElementType(info, type), ctx, "element type of '" + tensor + "'");
  size_t rank = 0;
  Check(api.GetDimensionsCount(info, &rank), ctx, "rank of '" + tensor + "'");
  shape->assign(rank, 0);
  if (rank) Check(api.GetDimensions(info, shape->data(), rank), ctx, "shape of '" + tensor + "'");
}

// Library version "1.<minor>[.patch]" -> minor (-1 if it does not parse). ORT 1.N offers API N.
int OrtMinorVersion() {
  const std::string& v = Library::Get().version();
  if (v.rfind("1.", 0) != 0) return -1;
  char* end = nullptr;
  long minor = std::strtol(v.c_str() + 2, &end, 10);
  return end == v.c_str() + 2 ? -1 : static_cast<int>(minor);
}

// Registers, once per process, a CPU arena with the environment that grows by exactly what is
// asked (kSameAsRequested) rather than in powers of two. Sessions opt in with the session config
// "session.use_env_allocators". False (and the per-session arena is kept) when the library is
// older than 1.11 or registration fails.
bool SharedCpuArena() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    if (OrtMinorVersion() < 11) return;
    const c::OrtApi& api = Api();
    c::OrtEnv* env = Environment::Get();
    c::OrtMemoryInfo* mi = nullptr;
    if (c::OrtStatus* st = api.CreateCpuMemoryInfo(c::OrtArenaAllocator, c::OrtMemTypeDefault, &mi)) {
      api.ReleaseStatus(st);
      return;
    }
    OrtPtr<c::OrtMemoryInfo> info(mi);
    const char* keys[] = {"arena_extend_strategy", "max_dead_bytes_per_chunk"};
    const size_t values[] = {1, 1 << 20};  // kSameAsRequested; split free chunks more than 1 MiB too big
    c::OrtArenaCfg* cfg = nullptr;
    if (c::OrtStatus* st = api.CreateArenaCfgV2(keys, values, 2, &cfg)) {
      api.ReleaseStatus(st);
      return;
    }
    c::OrtStatus* st = api.CreateAndRegisterAllocator(env, info.get(), cfg);
    api.ReleaseArenaCfg(cfg);
    if (st) {
      api.ReleaseStatus(st);
      return;
    }
    ok = true;
  });
  return ok;
}

TensorView ViewOf(const Tensor& t) { return TensorView{t.type(), t.shape(), t.raw()}; }

}  // namespace

size_t TensorView::nbytes() const {
  size_t n = ElementSize(type);
  for (int64_t d : shape) n *= static_cast<size_t>(d < 0 ? 0 : d);
  return n;
}

GraphOptimization GraphOptimizationFromName(const std::string& name) {
  if (name == "disabled" || name == "none") return GraphOptimization::kDisabled;
  if (name == "basic") return GraphOptimization::kBasic;
  if (name == "extended") return GraphOptimization::kExtended;
  if (name == "all") return GraphOptimization::kAll;
  Fail(ErrorCode::kInvalidArgument, "unknown graph optimization level '", name,
       "' (expected disabled, basic, extended or all)");
}

std::shared_ptr<Session> Session::FromFile(const std::string& path, const SessionOptions& opts) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) Fail(ErrorCode::kIo, "cannot open model '", path, "': ", std::strerror(errno));
  ECHOIC_CHECK(S_ISREG(st.st_mode), ErrorCode::kIo, "cannot open model '", path, "': not a regular file");
  return Create(path, opts, &path, nullptr, 0);
}

std::shared_ptr<Session> Session::FromBuffer(const void* data, size_t size, const SessionOptions& opts,
                                             const std::string& name) {
  ECHOIC_CHECK(data != nullptr && size > 0, ErrorCode::kInvalidArgument, name, ": model buffer is empty");
  return Create(name, opts, nullptr, data, size);
}

int MaxSessionThreads() { return std::max(64, 4 * HardwareThreads()); }

std::shared_ptr<Session> Session::Create(const std::string& name, const SessionOptions& opts, const std::string* path,
                                         const void* data, size_t size) {
  // Every binding's num_threads lands here. ORT starts one OS thread per count at
  // session creation, so an absurd count hangs the host app: bound it.
  const int max_threads = MaxSessionThreads();
  ECHOIC_CHECK(opts.intra_op_threads >= 0 && opts.inter_op_threads >= 0 && opts.intra_op_threads <= max_threads &&
                   opts.inter_op_threads <= max_threads,
               ErrorCode::kInvalidArgument, name, ": thread counts must be 0..", max_threads,
               " (0 = ORT default; at most 4 x the ", HardwareThreads(),
               " hardware threads, and never below 64), got intra=", opts.intra_op_threads,
               " inter=", opts.inter_op_threads);
  Library::Get(opts.ort_library);
  const c::OrtApi& api = Api();
  c::OrtEnv* env = Environment::Get();

  c::OrtSessionOptions* raw_opts = nullptr;
  Check(api.CreateSessionOptions(&raw_opts), name, "creating session options");
  OrtPtr<c::OrtSessionOptions> so(raw_opts);
  Check(api.SetIntraOpNumThreads(so.get(), opts.intra_op_threads), name, "setting intra-op threads");
  Check(api.SetInterOpNumThreads(so.get(), opts.inter_op_threads), name, "setting inter-op threads");
  Check(api.SetSessionGraphOptimizationLevel(so.get(), ToOrt(opts.graph_optimization)), name,
        "setting the graph optimization level");
  Check(opts.cpu_mem_arena ? api.EnableCpuMemArena(so.get()) : api.DisableCpuMemArena(so.get()), name,
        "configuring the CPU memory arena");
  if (!opts.mem_pattern) Check(api.DisableMemPattern(so.get()), name, "disabling the memory pattern");
  if (opts.cpu_mem_arena && opts.shared_arena && SharedCpuArena())
    Check(api.AddSessionConfigEntry(so.get(), "session.use_env_allocators", "1"), name,
          "selecting the shared CPU arena");
  if (!opts.prepacking && OrtMinorVersion() >= 11)
    Check(api.AddSessionConfigEntry(so.get(), "session.disable_prepacking", "1"), name, "disabling pre-packing");

  std::shared_ptr<Session> s(new Session());
  s->name_ = name;
  c::OrtSession* raw = nullptr;
  try {
    if (path)
      Check(api.CreateSession(env, path->c_str(), so.get(), &raw), name, "loading the model");
    else
      Check(api.CreateSessionFromArray(env, data, size, so.get(), &raw), name, "loading the model");
  } catch (const std::bad_alloc&) {
    Fail(ErrorCode::kOutOfMemory, name, ": loading the model: out of memory");
  }
  s->session_.reset(raw);

  // Input tensors wrap caller memory; the allocator type only labels it for ORT.
  c::OrtMemoryInfo* mi = nullptr;
  Check(api.CreateCpuMemoryInfo(opts.cpu_mem_arena ? c::OrtArenaAllocator : c::OrtDeviceAllocator, c::OrtMemTypeDefault,
                                &mi),
        name, "creating CPU memory info");
  s->memory_info_.reset(mi);

  s->ReadSignature();
  s->ReadMetadata();
  return s;
}

std::shared_ptr<Session> Session::ContractOnly(const std::string& name, std::vector<TensorInfo> inputs,
                                               std::vector<TensorInfo> outputs,
                                               std::map<std::string, std::string> metadata) {
  std::shared_ptr<Session> s(new Session());
  s->name_ = name;
  s->inputs_ = std::move(inputs);
  s->outputs_ = std::move(outputs);
  s->metadata_ = std::move(metadata);
  return s;
}

void Session::ReadSignature() {
  const c::OrtApi& api = Api();
  c::OrtAllocator* alloc = nullptr;
  Check(api.GetAllocatorWithDefaultOptions(&alloc), name_, "getting the default allocator");

  auto read = [&](bool is_input, std::vector<TensorInfo>* out) {
    const char* kind = is_input ? "input" : "output";
    size_t count = 0;
    Check(
        is_input ? api.SessionGetInputCount(session_.get(), &count) : api.SessionGetOutputCount(session_.get(), &count),
        name_, std::string("counting ") + kind + "s");
    for (size_t i = 0; i < count; ++i) {
      char* raw_name = nullptr;
      Check(is_input ? api.SessionGetInputName(session_.get(), i, alloc, &raw_name)
                     : api.SessionGetOutputName(session_.get(), i, alloc, &raw_name),
            name_, std::string(kind) + " name #" + std::to_string(i));
      TensorInfo info;
      info.name = TakeOrtString(raw_name);
      c::OrtTypeInfo* raw_ti = nullptr;
      Check(is_input ? api.SessionGetInputTypeInfo(session_.get(), i, &raw_ti)
                     : api.SessionGetOutputTypeInfo(session_.get(), i, &raw_ti),
            name_, std::string(kind) + " type of '" + info.name + "'");
      OrtPtr<c::OrtTypeInfo> ti(raw_ti);
      c::ONNXType onnx_type = c::ONNX_TYPE_UNKNOWN;
      Check(api.GetOnnxTypeFromTypeInfo(ti.get(), &onnx_type), name_, "type of '" + info.name + "'");
      ECHOIC_CHECK(onnx_type == c::ONNX_TYPE_TENSOR, ErrorCode::kUnsupported, name_, ": ", kind, " '", info.name,
                   "' is not a tensor (sequences and maps are not supported)");
      const c::OrtTensorTypeAndShapeInfo* tsi = nullptr;  // owned by ti
      Check(api.CastTypeInfoToTensorInfo(ti.get(), &tsi), name_, "tensor info of '" + info.name + "'");
      c::ONNXTensorElementDataType et;
      ReadTypeAndShape(tsi, name_, info.name, &et, &info.shape);
      ECHOIC_CHECK(FromOrt(et, &info.type), ErrorCode::kUnsupported, name_, ": ", kind, " '", info.name,
                   "' has ONNX element type ", static_cast<int>(et),
                   ", which echoic does not support (float32, float16, int64, int32, int8, uint8, bool)");
      for (auto& d : info.shape)
        if (d < 0) d = -1;
      out->push_back(std::move(info));
    }
  };
  read(true, &inputs_);
  read(false, &outputs_);
}

void Session::ReadMetadata() {
  const c::OrtApi& api = Api();
  c::OrtAllocator* alloc = nullptr;
  Check(api.GetAllocatorWithDefaultOptions(&alloc), name_, "getting the default allocator");
  c::OrtModelMetadata* raw_md = nullptr;
  Check(api.SessionGetModelMetadata(session_.get(), &raw_md), name_, "reading model metadata");
  OrtPtr<c::OrtModelMetadata> md(raw_md);
  char** keys = nullptr;
  int64_t num_keys = 0;
  Check(api.ModelMetadataGetCustomMetadataMapKeys(md.get(), alloc, &keys, &num_keys), name_, "listing metadata keys");
  // Take ownership of every key first so an error below frees them all.
  std::vector<std::string> names;
  for (int64_t i = 0; i < num_keys; ++i) names.push_back(TakeOrtString(keys[i]));
  if (keys) {
    c::OrtStatus* st = api.AllocatorFree(alloc, keys);
    if (st) api.ReleaseStatus(st);
  }
  for (const auto& key : names) {
    char* value = nullptr;
    Check(api.ModelMetadataLookupCustomMetadataMap(md.get(), alloc, key.c_str(), &value), name_,
          "reading metadata '" + key + "'");
    metadata_[key] = TakeOrtString(value);
  }
}

std::string Session::GetMetadata(const std::string& key, const std::string& fallback) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? fallback : it->second;
}

std::string Session::RequireMetadata(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) {
    std::string have;
    for (const auto& kv : metadata_) have += (have.empty() ? "" : ", ") + kv.first;
    Fail(ErrorCode::kModel, name_, ": required metadata key '", key,
         "' is missing (model has: ", have.empty() ? "no metadata" : have, ")");
  }
  return it->second;
}

int64_t Session::RequireMetadataInt(const std::string& key) const {
  std::string value = RequireMetadata(key);
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(value, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  // Allow surrounding whitespace only.
  while (used < value.size() && (value[used] == ' ' || value[used] == '\t' || value[used] == '\n')) ++used;
  ECHOIC_CHECK(!value.empty() && used == value.size(), ErrorCode::kModel, name_, ": metadata '", key, "' = '", value,
               "' is not an integer");
  return static_cast<int64_t>(v);
}

const TensorInfo& Session::Validate(const std::string& input_name, const TensorView& tensor) const {
  const TensorInfo* info = nullptr;
  for (const auto& in : inputs_)
    if (in.name == input_name) info = &in;
  if (!info) {
    std::string names;
    for (const auto& in : inputs_) names += (names.empty() ? "'" : ", '") + in.name + "'";
    Fail(ErrorCode::kInvalidArgument, name_, ": unknown input '", input_name, "' (model inputs: ", names, ")");
  }
  ECHOIC_CHECK(tensor.type == info->type, ErrorCode::kInvalidArgument, name_, ": input '", input_name, "' expects ",
               ElementTypeName(info->type), ", got ", ElementTypeName(tensor.type));
  bool ok = tensor.shape.size() == info->shape.size();
  for (size_t i = 0; ok && i < info->shape.size(); ++i)
    if (info->shape[i] >= 0 && info->shape[i] != tensor.shape[i]) ok = false;
  ECHOIC_CHECK(ok, ErrorCode::kInvalidArgument, name_, ": input '", input_name, "' expects shape ",
               ShapeString(info->shape), " (-1 = any), got ", ShapeString(tensor.shape));
  return *info;
}

c::OrtValue* Session::Wrap(const std::string& what, const TensorView& t) const {
  c::OrtValue* v = nullptr;
  const size_t bytes = t.nbytes();
  ECHOIC_CHECK(t.data != nullptr || bytes == 0, ErrorCode::kInvalidArgument, name_, ": ", what, " has no data");
  // ORT only reads inputs; the const_cast is needed by the C signature. Outputs given to
  // RunInto are written in place.
  Check(Api().CreateTensorWithDataAsOrtValue(memory_info_.get(), const_cast<void*>(t.data), bytes, t.shape.data(),
                                             t.shape.size(), ToOrt(t.type), &v),
        name_, "wrapping " + what);
  return v;
}

namespace {
std::mutex observer_mu;
std::shared_ptr<const InputObserver> observer;  // guarded by observer_mu
std::atomic<bool> observing{false};             // checked on every run without the lock
}  // namespace

void SetInputObserver(InputObserver fn) {
  std::lock_guard<std::mutex> lock(observer_mu);
  observer = fn ? std::make_shared<const InputObserver>(std::move(fn)) : nullptr;
  observing.store(observer != nullptr);
}

void Session::Prepare(const std::vector<std::string>& input_names, const std::vector<TensorView>& inputs,
                      std::vector<OrtPtr<c::OrtValue>>* in_values, std::vector<const char*>* in_names,
                      const std::vector<std::string>& output_names, std::vector<std::string>* all_outputs,
                      const std::vector<std::string>** outs, std::vector<const char*>* out_names) const {
  ECHOIC_CHECK(session_ != nullptr, ErrorCode::kState, name_, ": a contract-only session cannot run");
  ECHOIC_CHECK(input_names.size() == inputs.size(), ErrorCode::kInvalidArgument, name_, ": ", input_names.size(),
               " input names but ", inputs.size(), " input tensors");
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      ECHOIC_CHECK(input_names[j] != input_names[i], ErrorCode::kInvalidArgument, name_, ": input '", input_names[i],
                   "' given twice");
    const TensorView& t = inputs[i];
    Validate(input_names[i], t);
    in_values->emplace_back(Wrap("input '" + input_names[i] + "'", t));
    in_names->push_back(input_names[i].c_str());
  }
  if (observing.load()) {
    std::shared_ptr<const InputObserver> fn;
    {
      std::lock_guard<std::mutex> lock(observer_mu);
      fn = observer;
    }
    // Called outside the lock: a Python observer takes the GIL, which another running thread may hold.
    if (fn) {
      try {
        (*fn)(name_, input_names, inputs);
      } catch (...) {
        std::lock_guard<std::mutex> lock(observer_mu);
        if (observer == fn) observer = nullptr, observing.store(false);
      }
    }
  }
  for (const auto& in : inputs_) {
    bool given = false;
    for (const auto& n : input_names) given = given || n == in.name;
    ECHOIC_CHECK(given, ErrorCode::kInvalidArgument, name_, ": input '", in.name, "' (", ElementTypeName(in.type), " ",
                 ShapeString(in.shape), ") is missing");
  }
  *outs = &output_names;
  if (output_names.empty()) {
    for (const auto& o : outputs_) all_outputs->push_back(o.name);
    *outs = all_outputs;
  }
  for (const auto& n : **outs) {
    bool known = false;
    for (const auto& o : outputs_) known = known || o.name == n;
    ECHOIC_CHECK(known, ErrorCode::kInvalidArgument, name_, ": unknown output '", n, "'");
    out_names->push_back(n.c_str());
  }
}

namespace {
std::vector<TensorView> ViewsOf(const std::string& session, const char* kind, const std::vector<std::string>& names,
                                const std::vector<const Tensor*>& tensors) {
  std::vector<TensorView> views;
  views.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    ECHOIC_CHECK(tensors[i] != nullptr, ErrorCode::kInvalidArgument, session, ": ", kind, " '",
                 i < names.size() ? names[i] : std::to_string(i), "' is null");
    views.push_back(ViewOf(*tensors[i]));
  }
  return views;
}
}  // namespace

void Session::RunInto(const std::vector<std::string>& input_names, const std::vector<const Tensor*>& inputs,
                      const std::vector<std::string>& output_names, const std::vector<Tensor*>& outputs) const {
  ECHOIC_CHECK(session_ != nullptr, ErrorCode::kState, name_, ": a contract-only session cannot run");
  std::vector<const Tensor*> outs(outputs.begin(), outputs.end());
  RunInto(input_names, ViewsOf(name_, "input", input_names, inputs), output_names,
          ViewsOf(name_, "output", output_names, outs));
}

void Session::RunInto(const std::vector<std::string>& input_names, const std::vector<TensorView>& inputs,
                      const std::vector<std::string>& output_names, const std::vector<TensorView>& outputs) const {
  std::vector<OrtPtr<c::OrtValue>> in_values;
  std::vector<const char*> in_names, out_names;
  std::vector<std::string> all_outputs;
  const std::vector<std::string>* outs = nullptr;
  Prepare(input_names, inputs, &in_values, &in_names, output_names, &all_outputs, &outs, &out_names);
  ECHOIC_CHECK(outputs.size() == outs->size(), ErrorCode::kInvalidArgument, name_, ": ", outs->size(),
               " output names but ", outputs.size(), " output tensors");
  std::vector<OrtPtr<c::OrtValue>> out_values;
  std::vector<c::OrtValue*> out_raw;
  for (size_t i = 0; i < outputs.size(); ++i) {
    out_values.emplace_back(Wrap("output '" + (*outs)[i] + "'", outputs[i]));
    out_raw.push_back(out_values.back().get());
  }
  std::vector<const c::OrtValue*> in_raw;
  for (const auto& v : in_values) in_raw.push_back(v.get());
  Check(Api().Run(session_.get(), nullptr, in_names.data(), in_raw.data(), in_raw.size(), out_names.data(),
                  out_names.size(), out_raw.data()),
        name_, "run");
}

std::vector<Tensor> Session::Run(const std::vector<std::string>& input_names, const std::vector<const Tensor*>& inputs,
                                 const std::vector<std::string>& output_names) const {
  std::vector<OrtPtr<c::OrtValue>> in_values;
  std::vector<const char*> in_names, out_names;
  std::vector<std::string> all_outputs;
  const std::vector<std::string>* outs = nullptr;
  ECHOIC_CHECK(session_ != nullptr, ErrorCode::kState, name_, ": a contract-only session cannot run");
  Prepare(input_names, ViewsOf(name_, "input", input_names, inputs), &in_values, &in_names, output_names, &all_outputs,
          &outs, &out_names);
  const c::OrtApi& api = Api();
  std::vector<const c::OrtValue*> in_raw;
  for (const auto& v : in_values) in_raw.push_back(v.get());

  std::vector<c::OrtValue*> out_raw(out_names.size(), nullptr);
  c::OrtStatus* st = api.Run(session_.get(), nullptr, in_names.data(), in_raw.data(), in_raw.size(), out_names.data(),
                             out_names.size(), out_raw.data());
  std::vector<OrtPtr<c::OrtValue>> out_values;
  for (auto* v : out_raw) out_values.emplace_back(v);  // owns them even if Run failed halfway
  Check(st, name_, "run");

  std::vector<Tensor> results;
  results.reserve(out_values.size());
  for (size_t i = 0; i < out_values.size(); ++i) {
    const std::string& oname = (*outs)[i];
    c::OrtValue* v = out_values[i].get();
    ECHOIC_CHECK(v != nullptr, ErrorCode::kOrt, name_, ": run returned no value for output '", oname, "'");
    int is_tensor = 0;
    Check(api.IsTensor(v, &is_tensor), name_, "output '" + oname + "'");
    ECHOIC_CHECK(is_tensor, ErrorCode::kUnsupported, name_, ": output '", oname, "' is not a tensor");
    c::OrtTensorTypeAndShapeInfo* raw_info = nullptr;
    Check(api.GetTensorTypeAndShape(v, &raw_info), name_, "shape of output '" + oname + "'");
    OrtPtr<c::OrtTensorTypeAndShapeInfo> info(raw_info);
    c::ONNXTensorElementDataType et;
    std::vector<int64_t> shape;
    ReadTypeAndShape(info.get(), name_, oname, &et, &shape);
    ElementType type;
    ECHOIC_CHECK(FromOrt(et, &type), ErrorCode::kUnsupported, name_, ": output '", oname,
                 "' has unsupported ONNX element type ", static_cast<int>(et));
    Tensor out(type, shape);
    if (out.nbytes() > 0) {
      void* src = nullptr;
      Check(api.GetTensorMutableData(v, &src), name_, "data of output '" + oname + "'");
      std::memcpy(out.raw(), src, out.nbytes());
    }
    results.push_back(std::move(out));
  }
  return results;
}

}  // namespace echoic::ort
