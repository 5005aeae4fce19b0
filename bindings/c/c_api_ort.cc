// C API over echoic::ort: library loading and float32 sessions.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "c_api_util.h"
#include "echoic/ort/library.h"
#include "echoic/ort/session.h"

struct echoic_session {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kSession;
  std::shared_ptr<echoic::ort::Session> session;
  std::vector<echoic::ort::Tensor> outputs;  // buffers handed out by the last run
};

namespace {

using echoic::ErrorCode;
using echoic::ort::ElementType;
using echoic::ort::Tensor;

echoic::ort::GraphOptimization ToGraphOptimization(int64_t v) {
  switch (v) {
    case ECHOIC_GRAPH_OPT_DISABLED:
      return echoic::ort::GraphOptimization::kDisabled;
    case ECHOIC_GRAPH_OPT_BASIC:
      return echoic::ort::GraphOptimization::kBasic;
    case ECHOIC_GRAPH_OPT_EXTENDED:
      return echoic::ort::GraphOptimization::kExtended;
    case ECHOIC_GRAPH_OPT_ALL:
      return echoic::ort::GraphOptimization::kAll;
    default:
      echoic::Fail(ErrorCode::kInvalidArgument, "echoic_session_create: graph_optimization ", v,
                   " is not an echoic_graph_optimization (0..3)");
  }
}

const echoic::ort::TensorInfo& InfoAt(const std::vector<echoic::ort::TensorInfo>& infos, size_t index, const char* fn,
                                      const std::string& model) {
  ECHOIC_CHECK(index < infos.size(), ErrorCode::kInvalidArgument, fn, ": index ", index, " out of range (", model,
               " has ", infos.size(), ")");
  return infos[index];
}

}  // namespace

extern "C" {

echoic_status echoic_ort_load(const char* path_or_null) {
  return echoic::c_api::Guard([&] { echoic::ort::Library::Get(path_or_null ? path_or_null : ""); });
}

echoic_status echoic_ort_version(const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = echoic::ort::Library::Get().version().c_str();  // the Library lives until exit
  });
}

echoic_status echoic_ort_library_path(const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = echoic::ort::Library::Get().path().c_str();
  });
}

void echoic_session_config_default(echoic_session_config* config) {
  if (!config) return;
  config->num_threads = 1;
  config->inter_op_threads = 1;
  config->graph_optimization = ECHOIC_GRAPH_OPT_ALL;
  config->cpu_mem_arena = 1;
  config->ort_library = nullptr;
}

echoic_status echoic_session_create(const char* model_path, const echoic_session_config* config_or_null,
                                    echoic_session** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(model_path);
    ECHOIC_C_REQUIRE(out);
    echoic::ort::SessionOptions o;
    if (config_or_null) {
      o.intra_op_threads = config_or_null->num_threads;
      o.inter_op_threads = config_or_null->inter_op_threads;
      o.graph_optimization = ToGraphOptimization(echoic::c_api::EnumValue(config_or_null->graph_optimization));
      o.cpu_mem_arena = config_or_null->cpu_mem_arena != 0;
      o.ort_library = config_or_null->ort_library ? config_or_null->ort_library : "";
    }
    auto handle = std::make_unique<echoic_session>();
    handle->session = echoic::ort::Session::FromFile(model_path, o);
    *out = echoic::c_api::Adopt(std::move(handle));
  });
}

echoic_status echoic_session_free(echoic_session* session) {
  return echoic::c_api::DestroyHandle(session, "echoic_session_free");
}

echoic_status echoic_session_num_inputs(const echoic_session* session, size_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(session);
    ECHOIC_C_REQUIRE(out);
    *out = session->session->inputs().size();
  });
}

echoic_status echoic_session_num_outputs(const echoic_session* session, size_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(session);
    ECHOIC_C_REQUIRE(out);
    *out = session->session->outputs().size();
  });
}

echoic_status echoic_session_input_name(const echoic_session* session, size_t index, const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(session);
    ECHOIC_C_REQUIRE(out);
    *out = InfoAt(session->session->inputs(), index, __func__, session->session->name()).name.c_str();
  });
}

echoic_status echoic_session_output_name(const echoic_session* session, size_t index, const char** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(session);
    ECHOIC_C_REQUIRE(out);
    *out = InfoAt(session->session->outputs(), index, __func__, session->session->name()).name.c_str();
  });
}

echoic_status echoic_session_run_f32(echoic_session* session, const char* const* input_names,
                                     const float* const* input_data, const int64_t* const* input_shapes,
                                     const size_t* input_ranks, size_t num_inputs, const char* const* output_names,
                                     size_t num_outputs, const float** out_data, const int64_t** out_shapes,
                                     size_t* out_ranks) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_HANDLE(session);
    ECHOIC_C_REQUIRE(output_names);
    ECHOIC_C_REQUIRE(out_data);
    ECHOIC_C_REQUIRE(out_shapes);
    ECHOIC_C_REQUIRE(out_ranks);
    if (num_inputs > 0) {
      ECHOIC_C_REQUIRE(input_names);
      ECHOIC_C_REQUIRE(input_data);
      ECHOIC_C_REQUIRE(input_shapes);
      ECHOIC_C_REQUIRE(input_ranks);
    }
    const std::string& model = session->session->name();
    ECHOIC_CHECK(num_outputs > 0, ErrorCode::kInvalidArgument, __func__, ": ", model, ": num_outputs is 0");
    std::vector<std::string> in_names, out_names;
    std::vector<Tensor> tensors;
    tensors.reserve(num_inputs);
    for (size_t i = 0; i < num_inputs; ++i) {
      ECHOIC_CHECK(input_names[i] != nullptr, ErrorCode::kInvalidArgument, __func__, ": ", model, ": input_names[", i,
                   "] is NULL");
      in_names.emplace_back(input_names[i]);
      ECHOIC_CHECK(input_ranks[i] == 0 || input_shapes[i] != nullptr, ErrorCode::kInvalidArgument, __func__, ": ",
                   model, ": input_shapes[", i, "] is NULL");
      std::vector<int64_t> shape(input_shapes[i], input_shapes[i] + input_ranks[i]);
      Tensor t(ElementType::kFloat32, shape);
      ECHOIC_CHECK(t.numel() == 0 || input_data[i] != nullptr, ErrorCode::kInvalidArgument, __func__, ": ", model,
                   ": input_data[", i, "] ('", in_names.back(), "') is NULL");
      if (t.nbytes()) std::memcpy(t.raw(), input_data[i], t.nbytes());
      tensors.push_back(std::move(t));
    }
    for (size_t i = 0; i < num_outputs; ++i) {
      ECHOIC_CHECK(output_names[i] != nullptr, ErrorCode::kInvalidArgument, __func__, ": ", model, ": output_names[", i,
                   "] is NULL");
      out_names.emplace_back(output_names[i]);
    }
    std::vector<const Tensor*> ptrs;
    for (const auto& t : tensors) ptrs.push_back(&t);
    std::vector<Tensor> results = session->session->Run(in_names, ptrs, out_names);
    for (size_t i = 0; i < results.size(); ++i)
      ECHOIC_CHECK(results[i].type() == ElementType::kFloat32, ErrorCode::kUnsupported, __func__, ": ", model,
                   ": output '", out_names[i], "' is ", echoic::ort::ElementTypeName(results[i].type()),
                   "; this function returns float32 outputs only");
    // Only now replace the previous run's buffers: on failure the old ones stay valid.
    session->outputs = std::move(results);
    for (size_t i = 0; i < num_outputs; ++i) {
      out_data[i] = session->outputs[i].data<float>();
      out_shapes[i] = session->outputs[i].shape().data();
      out_ranks[i] = session->outputs[i].shape().size();
    }
  });
}

}  // extern "C"
