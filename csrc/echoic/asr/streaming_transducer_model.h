// A streaming transducer (encoder + stateless prediction network + joiner)
// behind sherpa-onnx's "lstm" transducer contract, so one export runs in both
// echoic and sherpa-onnx's OnlineRecognizer.from_transducer. The LSTM contract
// is the simplest sherpa encoder that carries real state across chunks (h and
// c per layer) and batches streams (states are [layers, N, dim]).
//
//   encoder.onnx: x [N, T, feat], h [L, N, d_model], c [L, N, rnn_hidden]
//                 -> encoder_out [N, T', joiner_dim], next_h, next_c
//   decoder.onnx: y [N, context_size] int64 -> decoder_out [N, joiner_dim]
//   joiner.onnx:  encoder_out [N, joiner_dim], decoder_out [N, joiner_dim] -> logit [N, vocab]
//
// The decoder and joiner are what decoding/'s transducer search runs: the model
// implements decoding::TransducerNetworks for it.
#ifndef ECHOIC_ASR_STREAMING_TRANSDUCER_MODEL_H_
#define ECHOIC_ASR_STREAMING_TRANSDUCER_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echoic/asr/acoustic_model.h"
#include "echoic/decoding/transducer_networks.h"
#include "echoic/ort/session.h"

namespace echoic::asr {

struct StreamingTransducerModelInfo : AcousticModelInfo {
  std::string model_type;  // encoder metadata model_type ("lstm")
  int32_t num_encoder_layers = 0;
  int32_t d_model = 0;           // size of h
  int32_t rnn_hidden_size = 0;   // size of c
  int32_t decode_chunk_len = 0;  // feature frames per chunk shift
  int32_t T = 0;                 // feature frames per chunk (with look-ahead)
  int32_t context_size = 0;      // tokens the prediction network sees
  int32_t joiner_dim = 0;
};

struct TransducerEncoderState : ModelState {
  std::vector<float> h;  // [layers, d_model]
  std::vector<float> c;  // [layers, rnn_hidden_size]
  size_t Bytes() const override { return (h.size() + c.size()) * sizeof(float); }
};

class StreamingTransducerModel final : public AcousticModel, public decoding::TransducerNetworks {
 public:
  // Validates the three sessions against the contract; kModel names the file
  // and the metadata key or tensor at fault.
  StreamingTransducerModel(std::shared_ptr<ort::Session> encoder, std::shared_ptr<ort::Session> decoder,
                           std::shared_ptr<ort::Session> joiner);
  // `dir` holds encoder.onnx, decoder.onnx and joiner.onnx (kIo naming a missing one).
  static std::shared_ptr<StreamingTransducerModel> Load(const std::string& dir, const ort::SessionOptions& options);
  // True when `dir` is a folder holding encoder.onnx (i.e. looks like a transducer).
  static bool LooksLikeTransducerDir(const std::string& dir);

  const StreamingTransducerModelInfo& info() const override { return info_; }

  std::unique_ptr<ModelState> NewState() const override;
  // out[b]: T' x joiner_dim encoder frames.
  void Run(const std::vector<const float*>& features, const std::vector<ModelState*>& states,
           std::vector<std::vector<float>>* out) const override;

  // decoding::TransducerNetworks: sizes from info(); the decoder and joiner sessions.
  decoding::TransducerNetworkDims dims() const override;
  // contexts: num_contexts x context_size token ids (-1 = none). Returns num_contexts x joiner_dim.
  std::vector<float> RunDecoder(const int64_t* contexts, int32_t num_contexts) const override;
  // encoder_out, decoder_out: rows x joiner_dim each. Returns rows x vocab_size logits.
  std::vector<float> RunJoiner(const float* encoder_out, const float* decoder_out, int32_t rows) const override;

 private:
  std::shared_ptr<ort::Session> encoder_, decoder_, joiner_;
  StreamingTransducerModelInfo info_;
  std::vector<std::string> enc_in_, enc_out_, dec_in_, dec_out_, join_in_, join_out_;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_STREAMING_TRANSDUCER_MODEL_H_
