// Per-stream transducer search: greedy (argmax, max one symbol per frame, as
// sherpa-onnx) or modified beam search (max one symbol per frame per
// hypothesis, hypotheses with equal token sequences merged by log-add), with
// optional ContextGraph hotword biasing.
//
// The search never runs a network itself: for each frame it asks for one
// joiner row per hypothesis (DecoderOut(i) + the frame's encoder output),
// consumes the logits in Step(), and lists the token contexts whose prediction
// network output it needs next (PendingContexts / SetDecoderOuts). That lets
// the recognizer batch decoder and joiner runs over all streams, and lets tests
// drive it with synthetic networks.
#ifndef ECHOIC_DECODING_TRANSDUCER_DECODER_H_
#define ECHOIC_DECODING_TRANSDUCER_DECODER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/hypothesis.h"
#include "echoic/decoding/transducer_networks.h"

namespace echoic::decoding {

struct TransducerSearchConfig {
  int32_t vocab_size = 0;
  int32_t blank_id = 0;
  int32_t context_size = 2;
  int32_t decoder_dim = 0;  // floats per prediction network output
  int32_t beam = 1;         // 1 and no hotwords: greedy on the raw logits
  // kInvalidArgument naming the field.
  void Validate() const;
};

class TransducerDecoder {
 public:
  TransducerDecoder(const TransducerSearchConfig& config, std::shared_ptr<const ContextGraph> context = nullptr);

  // Contexts (context_size ids each, appended to *contexts) of hypotheses that
  // still need a prediction network output; returns how many.
  int32_t PendingContexts(std::vector<int64_t>* contexts) const;
  // n rows of decoder_dim floats, in PendingContexts order.
  void SetDecoderOuts(const float* rows, int32_t n);

  // Joiner rows the next frame needs (one per hypothesis) and their decoder outputs.
  int32_t NumRows() const { return static_cast<int32_t>(hyps_.size()); }
  const float* DecoderOut(int32_t row) const;
  // Consumes one frame: NumRows() x vocab_size joiner logits. kState if
  // decoder outputs are still pending.
  void Step(const float* logits, int32_t rows, int32_t vocab_size);

  // Best hypothesis by log P + context score (finalize: an unfinished hotword's
  // boost is taken back). Frames count since Reset(); confidences are the
  // posterior of each token at the frame that emitted it.
  Hypothesis Best(bool finalize = false) const;
  // Every hypothesis in the beam, best first (as Best ranks them).
  std::vector<Hypothesis> NBest(bool finalize = false, size_t max_count = SIZE_MAX) const;
  int64_t num_frames() const { return num_frames_; }
  int64_t trailing_blank_frames() const;  // frames since the best hypothesis' last token
  bool decoded_something() const;
  // Starts a new segment: frames count from 0 again; the last context_size
  // tokens of the best hypothesis stay as the prediction network's context.
  void Reset();

  const TransducerSearchConfig& config() const { return config_; }

 private:
  struct Hyp {
    std::vector<int64_t> ys;  // context_size leading context ids, then emitted tokens
    std::vector<int32_t> frames;
    std::vector<float> confidences;
    double log_prob = 0.0;
    double ctx = 0.0;
    int32_t ctx_state = 0;
    std::vector<float> decoder_out;  // empty until the prediction network ran on ys' tail
    double Score() const { return log_prob + ctx; }
  };
  void StepGreedy(const float* logits);
  void StepBeam(const float* logits);
  const Hyp& BestHyp(bool finalize) const;
  double RankScore(const Hyp& h, bool finalize) const;
  Hypothesis ToHypothesis(const Hyp& h, bool finalize) const;
  void Init(std::vector<int64_t> context);

  TransducerSearchConfig config_;
  std::shared_ptr<const ContextGraph> context_;
  bool greedy_ = false;
  std::vector<Hyp> hyps_;
  int64_t num_frames_ = 0;
  std::vector<float> scratch_;
};

// Decodes num_frames encoder frames (encoder_out[i]: num_frames x joiner_dim)
// for every decoder, with one batched joiner run per frame and one batched
// prediction network run per frame that needs it. Every decoder's config must
// match the networks' dims (kInvalidArgument).
void DecodeTransducerChunk(const TransducerNetworks& networks, const std::vector<TransducerDecoder*>& decoders,
                           const std::vector<const float*>& encoder_out, int32_t num_frames);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_TRANSDUCER_DECODER_H_
