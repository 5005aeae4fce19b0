// An ONNX Runtime inference session over echoic Tensors. Loading validates the
// file and reads the model's inputs, outputs and custom metadata once; Run checks
// every input against the model before calling ORT, so shape errors name the
// model and tensor instead of surfacing as ORT internals.
#ifndef ECHOIC_ORT_SESSION_H_
#define ECHOIC_ORT_SESSION_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "echoic/ort/ort_api.h"
#include "echoic/ort/status.h"
#include "echoic/ort/tensor.h"

namespace echoic::ort {

enum class GraphOptimization { kDisabled, kBasic, kExtended, kAll };
// "disabled" | "basic" | "extended" | "all"; kInvalidArgument otherwise.
GraphOptimization GraphOptimizationFromName(const std::string& name);

// The largest intra/inter-op thread count a session accepts: max(64, 4 x hardware
// threads). Larger counts are kInvalidArgument (every binding's num_threads).
int MaxSessionThreads();

struct SessionOptions {
  int intra_op_threads = 1;
  int inter_op_threads = 1;
  GraphOptimization graph_optimization = GraphOptimization::kAll;
  bool cpu_mem_arena = true;  // sherpa-onnx users ask for this off: RAM ~ 2x model file with it on
  // ORT's memory pattern: each run takes one block sized by the plan of a previous run with the
  // same input shapes. Off, tensors are allocated one by one (and freed as soon as they die).
  bool mem_pattern = true;
  // With cpu_mem_arena: take CPU memory from one process-wide arena that grows by what is asked
  // (kSameAsRequested) and is shared by every session that sets this, instead of a per-session
  // arena that grows in powers of two and keeps each session's own peak. Needs ONNX Runtime
  // >= 1.11; an older library keeps the per-session arena.
  bool shared_arena = false;
  // ORT copies weights into kernel-specific layouts at load (MatMul, MatMulNBits, Conv). Off, the
  // copies are not made (less resident memory) but packing happens on every run: worth it only
  // where the rows per run are many (Whisper's encoder), not for one-token decoder steps.
  // Needs ONNX Runtime >= 1.11 (ignored before).
  bool prepacking = true;
  std::string ort_library;  // explicit libonnxruntime path ("" = Library's resolution order)
};

// Caller-owned memory for RunInto without an echoic Tensor: streaming models keep per-stream
// state in their own buffers and batch staging that outlives one run, so no tensor is allocated
// (and zero-filled) per run. `data` must hold shape's element count of `type`.
struct TensorView {
  ElementType type = ElementType::kFloat32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // inputs are only read; outputs are written through it
  size_t nbytes() const;
};

struct TensorInfo {
  std::string name;
  ElementType type;
  std::vector<int64_t> shape;  // -1 = dynamic dim
};

// Calibration tap: while an observer is set, every run of every session first hands it the
// session's name (its file path) and the inputs it is about to run, so a tool can replay exactly
// what the engine feeds a model (echoic compress fits its data-aware steps on them). The views
// are valid only during the call. One observer per process; an exception thrown by it is caught
// and ends observation (the run goes on). Not for production paths: set, transcribe, clear.
using InputObserver = std::function<void(const std::string& session, const std::vector<std::string>& names,
                                         const std::vector<TensorView>& inputs)>;
void SetInputObserver(InputObserver observer);  // empty: off

class Session {
 public:
  static std::shared_ptr<Session> FromFile(const std::string& path, const SessionOptions& opts = {});
  static std::shared_ptr<Session> FromBuffer(const void* data, size_t size, const SessionOptions& opts = {},
                                             const std::string& name = "<memory>");

  // A session with a signature and metadata but no ONNX Runtime behind it, so model contracts
  // (the metadata and tensor checks of each model's constructor) can be exercised without ORT
  // (fuzz/). Run and RunInto on it are kState.
  static std::shared_ptr<Session> ContractOnly(const std::string& name, std::vector<TensorInfo> inputs,
                                               std::vector<TensorInfo> outputs,
                                               std::map<std::string, std::string> metadata);

  const std::string& name() const { return name_; }
  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::string GetMetadata(const std::string& key, const std::string& fallback) const;
  std::string RequireMetadata(const std::string& key) const;  // kModel if absent
  int64_t RequireMetadataInt(const std::string& key) const;   // kModel if absent or not an integer

  // Thread-safe. Empty `output_names` = every output, in model order.
  std::vector<Tensor> Run(const std::vector<std::string>& input_names, const std::vector<const Tensor*>& inputs,
                          const std::vector<std::string>& output_names) const;
  // Like Run, but ORT writes output i straight into *outputs[i] (no copy); each must already
  // have the output's element type and exact shape, else ORT's error names the mismatch.
  void RunInto(const std::vector<std::string>& input_names, const std::vector<const Tensor*>& inputs,
               const std::vector<std::string>& output_names, const std::vector<Tensor*>& outputs) const;
  // The same over caller-owned buffers (TensorView); outputs are written through their `data`.
  void RunInto(const std::vector<std::string>& input_names, const std::vector<TensorView>& inputs,
               const std::vector<std::string>& output_names, const std::vector<TensorView>& outputs) const;

 private:
  Session() = default;
  static std::shared_ptr<Session> Create(const std::string& name, const SessionOptions& opts, const std::string* path,
                                         const void* data, size_t size);
  void ReadSignature();
  void ReadMetadata();
  const TensorInfo& Validate(const std::string& input_name, const TensorView& tensor) const;
  // Validates and wraps the inputs / names the outputs ("" list = all); used by Run and RunInto.
  void Prepare(const std::vector<std::string>& input_names, const std::vector<TensorView>& inputs,
               std::vector<OrtPtr<c::OrtValue>>* in_values, std::vector<const char*>* in_names,
               const std::vector<std::string>& output_names, std::vector<std::string>* all_outputs,
               const std::vector<std::string>** outs, std::vector<const char*>* out_names) const;
  c::OrtValue* Wrap(const std::string& what, const TensorView& t) const;

  std::string name_;
  OrtPtr<c::OrtSession> session_;
  OrtPtr<c::OrtMemoryInfo> memory_info_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace echoic::ort

#endif  // ECHOIC_ORT_SESSION_H_
