// Whisper model loading, decoding guards and streaming mechanics on the real
// tiny.en import (ECHOIC_WHISPER_TEST_DIR, set by tests/run.sh); speech accuracy
// is tested from Python on ../shared clips.
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "echoic/asr/recognizer.h"
#include "echoic/runtime/error.h"
#include "echoic/whisper/decoding.h"
#include "echoic/whisper/whisper_model.h"
#include "testing/check.h"

using namespace echoic;

namespace {

std::string ModelDir() {
  const char* d = std::getenv("ECHOIC_WHISPER_TEST_DIR");
  return d ? d : "";
}

asr::RecognizerConfig Config(const std::string& dir) {
  asr::RecognizerConfig c;
  c.model = dir;
  return c;
}

std::vector<asr::Result> RunAll(const asr::Recognizer& rec, const std::vector<float>& audio, size_t chunk) {
  auto s = rec.CreateStream();
  std::vector<asr::Result> out;
  for (size_t i = 0; i < audio.size(); i += chunk) {
    s->AcceptWaveform(16000, audio.data() + i, std::min(chunk, audio.size() - i));
    rec.DecodeAvailable(s.get());
  }
  s->InputFinished();
  rec.DecodeAvailable(s.get());
  CHECK(rec.IsDone(*s));
  for (auto& r : s->PopFinalResults()) out.push_back(r);
  return out;
}

void CopyFile(const std::string& from, const std::string& to, size_t max_bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(to, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(std::min(max_bytes, data.size())));
}

}  // namespace

TEST(compression_ratio_flags_repetition_loops) {
  const float plain = whisper::CompressionRatio(
      " And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.");
  std::string loop;
  for (int i = 0; i < 20; ++i) loop += " I'm going to go to the store.";
  CHECK(plain > 0.8f && plain < 2.0f);
  CHECK(whisper::CompressionRatio(loop) > 2.4f);
  CHECK_EQ(whisper::CompressionRatio(""), 0.f);
}

TEST(model_metadata_is_read_from_the_import) {
  if (ModelDir().empty()) return (void)std::printf("skipped: ECHOIC_WHISPER_TEST_DIR unset\n");
  ort::SessionOptions so;
  auto m = whisper::WhisperModel::Load(ModelDir(), so);
  const auto& i = m->info();
  CHECK(i.family == "whisper");
  CHECK_EQ(i.n_mels, 80);
  CHECK_EQ(i.n_text_layer, 4);
  CHECK_EQ(i.n_vocab, m->tokenizer().size());
  CHECK(i.eot < i.sot && i.n_alignment_heads > 0);
}

TEST(silence_and_noise_end_with_one_empty_final) {
  if (ModelDir().empty()) return (void)std::printf("skipped: ECHOIC_WHISPER_TEST_DIR unset\n");
  asr::Recognizer rec(Config(ModelDir()));
  std::vector<float> audio(16000 * 4, 0.f);
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.f, 0.02f);
  for (size_t i = 16000 * 2; i < audio.size(); ++i) audio[i] = n(rng);
  for (size_t chunk : {size_t{160}, size_t{16000 * 4}}) {
    auto finals = RunAll(rec, audio, chunk);
    CHECK_EQ(finals.size(), size_t{1});
    CHECK(finals.empty() || finals[0].text.empty());
  }
}

TEST(bad_input_and_misuse_are_typed_errors) {
  if (ModelDir().empty()) return (void)std::printf("skipped: ECHOIC_WHISPER_TEST_DIR unset\n");
  asr::Recognizer rec(Config(ModelDir()));
  auto s = rec.CreateStream();
  std::vector<float> bad(1600, 0.f);
  bad[3] = NAN;
  CHECK_THROWS_CODE(s->AcceptWaveform(16000, bad.data(), bad.size()), ErrorCode::kInvalidArgument);
  s->InputFinished();
  CHECK_THROWS_CODE(s->AcceptWaveform(16000, bad.data(), 10), ErrorCode::kState);
  CHECK_THROWS_CODE(rec.symbols(), ErrorCode::kUnsupported);
  asr::RecognizerConfig external = Config(ModelDir());
  external.vad = "external";
  CHECK_THROWS_CODE(asr::Recognizer{external}, ErrorCode::kUnsupported);
}

bool Exists(const std::string& path) { return std::ifstream(path, std::ios::binary).good(); }

// A damaged decoder graph, then a damaged decoder weight file (the import keeps weights in
// "<graph>.data"): each a typed error that names the decoder.
TEST(a_damaged_decoder_is_a_typed_error) {
  if (ModelDir().empty()) return (void)std::printf("skipped: ECHOIC_WHISPER_TEST_DIR unset\n");
  char tmpl[] = "/tmp/echoic-whisper-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const bool external = Exists(ModelDir() + "/decoder.onnx.data");
  std::vector<std::string> files = {"encoder.onnx", "vocabulary.txt", "merges.txt", "decoder.onnx"};
  if (Exists(ModelDir() + "/encoder.onnx.data")) files.push_back("encoder.onnx.data");
  if (external) files.push_back("decoder.onnx.data");
  for (const std::string& f : files) CopyFile(ModelDir() + "/" + f, dir + "/" + f, size_t(-1));
  auto expect_typed_error = [&](const char* what) {
    bool typed = false;
    try {
      asr::Recognizer rec(Config(dir));
    } catch (const Error& e) {
      typed = e.code() == ErrorCode::kOrt || e.code() == ErrorCode::kCorruptData || e.code() == ErrorCode::kModel;
      CHECK(std::string(e.what()).find("decoder.onnx") != std::string::npos);
      if (std::string(e.what()).find("decoder.onnx") == std::string::npos) std::printf("%s: %s\n", what, e.what());
    }
    CHECK(typed);
  };
  CopyFile(ModelDir() + "/decoder.onnx", dir + "/decoder.onnx", 100000);  // truncated graph
  expect_typed_error("truncated decoder.onnx");
  if (external) {
    CopyFile(ModelDir() + "/decoder.onnx", dir + "/decoder.onnx", size_t(-1));
    CopyFile(ModelDir() + "/decoder.onnx.data", dir + "/decoder.onnx.data", 4096);  // truncated weights
    expect_typed_error("truncated decoder.onnx.data");
  }
  std::remove((dir + "/vocabulary.txt").c_str());
  CHECK_THROWS_CODE(whisper::WhisperModel::Load(dir, ort::SessionOptions{}), ErrorCode::kIo);
  for (const std::string& f : files) std::remove((dir + "/" + f).c_str());
  ::rmdir(dir.c_str());
}

TEST_MAIN()
