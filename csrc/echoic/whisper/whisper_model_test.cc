// WhisperModel::ReadInfo on contract-only sessions (no ONNX Runtime): the metadata checks of
// issue 21 (hostile model files).
#include "echoic/whisper/whisper_model.h"

#include <map>
#include <string>

#include "echoic/runtime/error.h"
#include "testing/check.h"

using echoic::ErrorCode;
using echoic::ort::ElementType;
using echoic::ort::Session;
using echoic::whisper::WhisperModel;

namespace {

// whisper-tiny.en's contract, with `changes` applied to the decoder's metadata.
echoic::whisper::WhisperModelInfo Read(const std::map<std::string, std::string>& changes) {
  std::map<std::string, std::string> md{
      {"model_type", "whisper"}, {"contract_version", "3"},   {"n_mels", "80"},       {"n_audio_ctx", "1500"},
      {"n_text_ctx", "448"},     {"n_text_state", "384"},     {"n_text_layer", "4"},  {"n_text_head", "6"},
      {"n_vocab", "51864"},      {"is_multilingual", "0"},    {"sot", "50257"},       {"eot", "50256"},
      {"sot_prev", "50360"},     {"no_timestamps", "50362"},  {"no_speech", "50361"}, {"timestamp_begin", "50363"},
      {"sot_sequence", "50257"}, {"alignment_heads", "1,2,3"}};
  for (const auto& kv : changes) md[kv.first] = kv.second;
  auto enc = Session::ContractOnly("encoder.onnx", {{"mel", ElementType::kFloat32, {-1, 80, 3000}}},
                                   {{"cross_k", ElementType::kFloat32, {4, -1, 6, 64, 1500}}}, {});
  auto dec = Session::ContractOnly("decoder.onnx",
                                   {{"self_k_in", ElementType::kFloat32, {4, -1, -1, 384}},
                                    {"cross_k", ElementType::kFloat32, {4, -1, 6, 64, -1}},
                                    {"cross_v", ElementType::kFloat32, {4, -1, 6, -1, 64}}},
                                   {{"logits", ElementType::kFloat32, {-1, 51864}}}, md);
  return WhisperModel::ReadInfo(*enc, *dec, "whisper-tiny.en");
}

}  // namespace

TEST(TinyEnContractReads) {
  auto i = Read({});
  CHECK_EQ(i.n_mels, 80);
  CHECK_EQ(i.n_vocab, 51864);
  CHECK_EQ(i.n_alignment_heads, 3);
}

// A value beyond int32 used to be truncated (2^32 + 80 read as 80) and pass the range checks.
TEST(MetadataBeyondInt32IsAModelError) {
  CHECK_THROWS_CODE(Read({{"n_mels", "4294967376"}}), ErrorCode::kModel);
  CHECK_THROWS_CODE(Read({{"sot", "4294967296"}}), ErrorCode::kModel);
  CHECK_THROWS_CODE(Read({{"suppress_tokens", "1,4294967296"}}), ErrorCode::kModel);
}

// sot_sequence ids reach the decoder as token ids; they were not checked against the vocabulary.
TEST(SotSequenceOutsideTheVocabularyIsAModelError) {
  CHECK_EQ(Read({{"sot_sequence", "50257,50362"}}).sot_sequence.size(), 2u);
  CHECK_THROWS_CODE(Read({{"sot_sequence", "50257,99999"}}), ErrorCode::kModel);
  CHECK_THROWS_CODE(Read({{"sot_sequence", "-1,50257"}}), ErrorCode::kModel);
}

TEST(ContractOnlySessionCannotRun) {
  auto s = Session::ContractOnly("x.onnx", {}, {}, {});
  CHECK_THROWS_CODE(s->Run({}, {}, {}), ErrorCode::kState);
}

TEST_MAIN()
