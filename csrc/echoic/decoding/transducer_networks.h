// What a transducer search needs of the model: its prediction network
// ("decoder") and joiner, each run on a batch of rows, and the few sizes it
// reads. asr::StreamingTransducerModel implements it over its ONNX sessions;
// tests implement it with synthetic networks. The interface lives here, with
// its one user, so that decoding/ depends on nothing in asr/ (the model
// depends on this view of it, not the other way round).
#ifndef ECHOIC_DECODING_TRANSDUCER_NETWORKS_H_
#define ECHOIC_DECODING_TRANSDUCER_NETWORKS_H_

#include <cstdint>
#include <vector>

namespace echoic::decoding {

struct TransducerNetworkDims {
  int32_t vocab_size = 0;    // joiner logits per row
  int32_t blank_id = 0;      // the blank token's id
  int32_t context_size = 0;  // token ids per prediction network row
  int32_t joiner_dim = 0;    // floats per encoder frame and per prediction network output
};

class TransducerNetworks {
 public:
  virtual ~TransducerNetworks() = default;

  virtual TransducerNetworkDims dims() const = 0;
  // The prediction network on num_contexts >= 1 rows of context_size token ids
  // (-1 = none). Returns num_contexts x joiner_dim floats.
  virtual std::vector<float> RunDecoder(const int64_t* contexts, int32_t num_contexts) const = 0;
  // The joiner on rows >= 1 pairs: encoder_out, decoder_out are rows x joiner_dim
  // floats each. Returns rows x vocab_size logits.
  virtual std::vector<float> RunJoiner(const float* encoder_out, const float* decoder_out, int32_t rows) const = 0;
};

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_TRANSDUCER_NETWORKS_H_
