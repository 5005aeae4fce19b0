#include "echoic/ort/session.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "echoic/ort/library.h"
#include "testing/check.h"

using echoic::ErrorCode;
using namespace echoic::ort;

namespace {
std::string DataPath(const std::string& name) {
  const char* src = std::getenv("ECHOIC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/data/" + name;
}
bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(tensor_owns_zeroed_aligned_memory_and_checks_type) {
  Tensor t(ElementType::kFloat32, {2, 3});
  CHECK_EQ(t.numel(), 6);
  CHECK_EQ(t.nbytes(), 24u);
  CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
  for (int i = 0; i < 6; ++i) CHECK(t.data<float>()[i] == 0.0f);
  CHECK(t.ShapeString() == "[2, 3]");
  CHECK_THROWS_CODE(t.data<int64_t>(), ErrorCode::kInvalidArgument);
  t.data<float>()[5] = 7.0f;
  Tensor copy = t;
  copy.data<float>()[5] = 1.0f;
  CHECK(t.data<float>()[5] == 7.0f);  // deep copy
  CHECK_THROWS_CODE(Tensor(ElementType::kInt8, {2, -1}), ErrorCode::kInvalidArgument);
  CHECK(std::string(ElementTypeName(ElementType::kBool)) == "bool");
  CHECK(ElementTypeFromName("float16") == ElementType::kFloat16);
}

TEST(linear_model_computes_xw_plus_b) {
  auto s = Session::FromFile(DataPath("linear.onnx"));
  CHECK_EQ(s->inputs().size(), 1u);
  CHECK(s->inputs()[0].name == "X");
  CHECK(s->inputs()[0].shape == (std::vector<int64_t>{-1, 3}));
  CHECK(s->outputs()[0].name == "Y");
  Tensor x(ElementType::kFloat32, {2, 3});
  float xv[6] = {1, 0, 0, 1, 2, 3};
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = xv[i];
  auto out = s->Run({"X"}, {&x}, {"Y"});
  CHECK_EQ(out.size(), 1u);
  CHECK(out[0].shape() == (std::vector<int64_t>{2, 2}));
  const float* y = out[0].data<float>();
  // W = [[1,2],[3,4],[5,6]], b = [0.5,-1]
  CHECK_NEAR(y[0], 1.5, 1e-6);
  CHECK_NEAR(y[1], 1.0, 1e-6);
  CHECK_NEAR(y[2], 1 + 6 + 15 + 0.5, 1e-5);
  CHECK_NEAR(y[3], 2 + 8 + 18 - 1.0, 1e-5);
}

TEST(add_model_reads_metadata_and_runs_with_arena_off) {
  SessionOptions opts;
  opts.cpu_mem_arena = false;
  opts.graph_optimization = GraphOptimization::kDisabled;
  auto s = Session::FromFile(DataPath("add_meta.onnx"), opts);
  CHECK(s->metadata().size() == 3u);
  CHECK(s->RequireMetadata("model_type") == "test-add");
  CHECK_EQ(s->RequireMetadataInt("sample_rate"), 16000);
  CHECK(s->GetMetadata("absent", "dflt") == "dflt");
  CHECK_THROWS_CODE(s->RequireMetadata("absent"), ErrorCode::kModel);
  CHECK_THROWS_CODE(s->RequireMetadataInt("bad_int"), ErrorCode::kModel);
  try {
    s->RequireMetadata("vocab_size");
  } catch (const echoic::Error& e) {
    CHECK(Contains(e.what(), "add_meta.onnx"));
    CHECK(Contains(e.what(), "vocab_size"));
  }
  Tensor a(ElementType::kFloat32, {2}), b(ElementType::kFloat32, {2});
  a.data<float>()[0] = 1.5f;
  a.data<float>()[1] = -2.0f;
  b.data<float>()[0] = 0.25f;
  b.data<float>()[1] = 10.0f;
  auto out = s->Run({"B", "A"}, {&b, &a}, {});  // any input order; empty = all outputs
  CHECK_NEAR(out[0].data<float>()[0], 1.75, 1e-6);
  CHECK_NEAR(out[0].data<float>()[1], 8.0, 1e-6);
}

TEST(run_rejects_bad_inputs_with_context) {
  auto s = Session::FromFile(DataPath("linear.onnx"));
  Tensor wrong_dim(ElementType::kFloat32, {2, 4});
  try {
    s->Run({"X"}, {&wrong_dim}, {"Y"});
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(Contains(e.what(), "linear.onnx"));
    CHECK(Contains(e.what(), "'X'"));
    CHECK(Contains(e.what(), "[-1, 3]"));
    CHECK(Contains(e.what(), "[2, 4]"));
  }
  Tensor wrong_rank(ElementType::kFloat32, {3});
  CHECK_THROWS_CODE(s->Run({"X"}, {&wrong_rank}, {"Y"}), ErrorCode::kInvalidArgument);
  Tensor wrong_type(ElementType::kInt64, {1, 3});
  CHECK_THROWS_CODE(s->Run({"X"}, {&wrong_type}, {"Y"}), ErrorCode::kInvalidArgument);
  Tensor ok(ElementType::kFloat32, {1, 3});
  CHECK_THROWS_CODE(s->Run({"Z"}, {&ok}, {"Y"}), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(s->Run({"X"}, {&ok}, {"nope"}), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(s->Run({}, {}, {"Y"}), ErrorCode::kInvalidArgument);  // missing input
}

TEST(missing_and_corrupt_files_have_typed_errors) {
  CHECK_THROWS_CODE(Session::FromFile("/nonexistent/dir/model.onnx"), ErrorCode::kIo);
  std::string tmp = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/echoic_corrupt_" +
                    std::to_string(std::rand()) + ".onnx";
  {
    std::ofstream f(tmp, std::ios::binary);
    for (int i = 0; i < 300; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  try {
    Session::FromFile(tmp);
    CHECK(false);
  } catch (const echoic::Error& e) {
    CHECK(e.code() == ErrorCode::kCorruptData);
    CHECK(Contains(e.what(), tmp));
  }
  std::remove(tmp.c_str());
  const char garbage[] = "definitely not an onnx model";
  CHECK_THROWS_CODE(Session::FromBuffer(garbage, sizeof(garbage)), ErrorCode::kCorruptData);
  CHECK_THROWS_CODE(Session::FromBuffer(nullptr, 0), ErrorCode::kInvalidArgument);
}

TEST(from_buffer_and_concurrent_runs) {
  std::ifstream f(DataPath("linear.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto s = Session::FromBuffer(bytes.data(), bytes.size(), {}, "linear-from-memory");
  CHECK(s->name() == "linear-from-memory");
  int bad = 0;
  std::vector<std::thread> threads;
  std::mutex m;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int it = 0; it < 50; ++it) {
        Tensor x(ElementType::kFloat32, {1, 3});
        x.data<float>()[0] = static_cast<float>(t);
        auto y = s->Run({"X"}, {&x}, {"Y"});
        if (std::abs(y[0].data<float>()[0] - (t * 1.0f + 0.5f)) > 1e-6f) {
          std::lock_guard<std::mutex> lock(m);
          ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK_EQ(bad, 0);
}

TEST(library_reports_what_was_loaded) {
  const Library* lib = Library::Loaded();
  CHECK(lib != nullptr);
  if (!lib) return;
  CHECK(Contains(lib->path(), "libonnxruntime"));
  CHECK(!lib->version().empty() && lib->version() != "unknown");
  CHECK_EQ(lib->api_version(), 3);
  CHECK(lib->resolved_by() == "env");  // ctest sets ECHOIC_ORT_LIBRARY
  CHECK_THROWS_CODE(Library::Get("/some/other/libonnxruntime.so"), ErrorCode::kState);
}

// num_threads from any binding ends here: 100,000 threads used to hang session creation.
TEST(absurd_thread_counts_are_invalid_arguments) {
  const int max = echoic::ort::MaxSessionThreads();
  CHECK(max >= 64);
  for (int bad : {max + 1, 4097, 100000, -1}) {
    SessionOptions opts;
    opts.intra_op_threads = bad;
    CHECK_THROWS_CODE(Session::FromFile(DataPath("linear.onnx"), opts), ErrorCode::kInvalidArgument);
    opts.intra_op_threads = 1;
    opts.inter_op_threads = bad;
    CHECK_THROWS_CODE(Session::FromFile(DataPath("linear.onnx"), opts), ErrorCode::kInvalidArgument);
  }
  SessionOptions ok;
  ok.intra_op_threads = 2;
  CHECK(Session::FromFile(DataPath("linear.onnx"), ok) != nullptr);
}

TEST_MAIN()

TEST(input_observer_sees_each_run_and_a_throwing_one_is_dropped) {
  auto s = Session::FromFile(DataPath("linear.onnx"));
  Tensor x(ElementType::kFloat32, {2, 3});
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i);
  std::vector<std::string> sessions;
  std::vector<float> seen;
  SetInputObserver(
      [&](const std::string& session, const std::vector<std::string>& names, const std::vector<TensorView>& inputs) {
        sessions.push_back(session);
        CHECK(names.size() == 1 && names[0] == "X" && inputs.size() == 1);
        CHECK(inputs[0].shape == (std::vector<int64_t>{2, 3}));
        const float* p = static_cast<const float*>(inputs[0].data);
        seen.assign(p, p + 6);
      });
  s->Run({"X"}, {&x}, {"Y"});
  Tensor y(ElementType::kFloat32, {2, 2});
  s->RunInto({"X"}, {&x}, {"Y"}, {&y});
  SetInputObserver(nullptr);
  s->Run({"X"}, {&x}, {"Y"});  // off: not seen
  CHECK_EQ(sessions.size(), 2u);
  CHECK(Contains(sessions[0], "linear.onnx"));
  CHECK(seen[5] == 5.0f);

  int calls = 0;
  SetInputObserver([&](const std::string&, const std::vector<std::string>&, const std::vector<TensorView>&) {
    ++calls;
    throw std::runtime_error("observer bug");
  });
  auto out = s->Run({"X"}, {&x}, {"Y"});  // the run goes on
  s->Run({"X"}, {&x}, {"Y"});             // and the observer is gone
  SetInputObserver(nullptr);
  CHECK_EQ(calls, 1);
  CHECK_NEAR(out[0].data<float>()[0], 0 * 1 + 1 * 3 + 2 * 5 + 0.5, 1e-5);
}
