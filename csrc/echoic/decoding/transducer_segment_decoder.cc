// SegmentDecoder over a TransducerDecoder: the decoder needs the model's
// prediction network and joiner, so it keeps the model and runs them itself
// (or, through AcceptChunks, batched with the other streams' decoders).
#include <algorithm>
#include <map>

#include "echoic/asr/streaming_transducer_model.h"
#include "echoic/decoding/segment_decoder.h"
#include "echoic/decoding/transducer_decoder.h"
#include "echoic/runtime/error.h"

namespace echoic::decoding {

using asr::StreamingTransducerModel;

namespace {

class TransducerSegmentDecoder final : public SegmentDecoder {
 public:
  TransducerSegmentDecoder(std::shared_ptr<const StreamingTransducerModel> model, const TransducerSearchConfig& cfg,
                           std::shared_ptr<const ContextGraph> graph)
      : model_(std::move(model)), d_(cfg, std::move(graph)) {}
  void Accept(const float* enc, int32_t n, int32_t dim) override {
    ECHOIC_CHECK(dim == model_->info().joiner_dim, ErrorCode::kInvalidArgument, "transducer decoder: frames of ", dim,
                 " floats, the joiner takes ", model_->info().joiner_dim);
    DecodeTransducerChunk(*model_, {&d_}, {enc}, n);
  }
  Hypothesis Best(bool finalize) const override { return d_.Best(finalize); }
  std::vector<Hypothesis> NBest(bool finalize, int32_t n) const override {
    return d_.NBest(finalize, static_cast<size_t>(std::max(n, 0)));
  }
  int64_t TrailingBlankFrames() const override { return d_.trailing_blank_frames(); }
  bool DecodedSomething() const override { return d_.decoded_something(); }
  void Reset() override { d_.Reset(); }

  const StreamingTransducerModel* model() const { return model_.get(); }
  TransducerDecoder* search() { return &d_; }

 private:
  std::shared_ptr<const StreamingTransducerModel> model_;
  TransducerDecoder d_;
};

}  // namespace

std::unique_ptr<SegmentDecoder> MakeTransducerDecoder(std::shared_ptr<const StreamingTransducerModel> model,
                                                      const SymbolTable& symbols, int32_t beam,
                                                      const std::vector<Hotword>& hotwords, float default_score) {
  ECHOIC_CHECK(model != nullptr, ErrorCode::kInvalidArgument, "transducer decoder: model is null");
  const auto& info = model->info();
  TransducerSearchConfig cfg;
  cfg.vocab_size = info.vocab_size;
  cfg.blank_id = info.blank_id;
  cfg.context_size = info.context_size;
  cfg.decoder_dim = info.joiner_dim;
  cfg.beam = beam;
  return std::make_unique<TransducerSegmentDecoder>(std::move(model), cfg,
                                                    MakeHotwordGraph(symbols, hotwords, default_score));
}

void AcceptChunks(const std::vector<SegmentDecoder*>& decoders, const std::vector<std::vector<float>>& chunks,
                  int32_t dim) {
  ECHOIC_CHECK(decoders.size() == chunks.size() && dim > 0, ErrorCode::kInvalidArgument, "decode: ", decoders.size(),
               " decoders for ", chunks.size(), " chunks");
  // Composite decoders (hotword gating) are fed through their members.
  std::vector<std::pair<SegmentDecoder*, size_t>> parts;  // (decoder, chunk index)
  for (size_t i = 0; i < decoders.size(); ++i)
    for (SegmentDecoder* d : decoders[i]->Parts()) parts.emplace_back(d, i);
  // Transducer decoders are grouped by model and chunk length; one batched search per group.
  std::map<std::pair<const StreamingTransducerModel*, size_t>, std::vector<size_t>> groups;
  for (size_t k = 0; k < parts.size(); ++k) {
    auto [d, i] = parts[k];
    auto* t = dynamic_cast<TransducerSegmentDecoder*>(d);
    if (t && dim == t->model()->info().joiner_dim) {
      groups[{t->model(), chunks[i].size()}].push_back(k);
    } else {
      d->Accept(chunks[i].data(), static_cast<int32_t>(chunks[i].size() / dim), dim);
    }
  }
  for (const auto& [key, members] : groups) {
    std::vector<TransducerDecoder*> searches;
    std::vector<const float*> enc;
    for (size_t k : members) {
      searches.push_back(static_cast<TransducerSegmentDecoder*>(parts[k].first)->search());
      enc.push_back(chunks[parts[k].second].data());
    }
    DecodeTransducerChunk(*key.first, searches, enc, static_cast<int32_t>(key.second / dim));
  }
}

}  // namespace echoic::decoding
