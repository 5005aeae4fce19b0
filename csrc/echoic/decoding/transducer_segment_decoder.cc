// SegmentDecoder over a TransducerDecoder: the search needs the prediction
// network and joiner, so it keeps the networks and runs them itself (or,
// through AcceptChunks, batched with the other streams' decoders).
#include <algorithm>
#include <map>

#include "echoic/decoding/segment_decoder.h"
#include "echoic/decoding/transducer_decoder.h"
#include "echoic/decoding/transducer_networks.h"
#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

class TransducerSegmentDecoder final : public SegmentDecoder {
 public:
  TransducerSegmentDecoder(std::shared_ptr<const TransducerNetworks> networks, const TransducerSearchConfig& cfg,
                           std::shared_ptr<const ContextGraph> graph)
      : networks_(std::move(networks)), joiner_dim_(networks_->dims().joiner_dim), d_(cfg, std::move(graph)) {}
  void Accept(const float* enc, int32_t n, int32_t dim) override {
    ECHOIC_CHECK(dim == joiner_dim_, ErrorCode::kInvalidArgument, "transducer decoder: frames of ", dim,
                 " floats, the joiner takes ", joiner_dim_);
    DecodeTransducerChunk(*networks_, {&d_}, {enc}, n);
  }
  Hypothesis Best(bool finalize) const override { return d_.Best(finalize); }
  std::vector<Hypothesis> NBest(bool finalize, int32_t n) const override {
    return d_.NBest(finalize, static_cast<size_t>(std::max(n, 0)));
  }
  int64_t TrailingBlankFrames() const override { return d_.trailing_blank_frames(); }
  bool DecodedSomething() const override { return d_.decoded_something(); }
  void Reset() override { d_.Reset(); }

  const TransducerNetworks* networks() const { return networks_.get(); }
  int32_t joiner_dim() const { return joiner_dim_; }
  TransducerDecoder* search() { return &d_; }

 private:
  std::shared_ptr<const TransducerNetworks> networks_;
  int32_t joiner_dim_;
  TransducerDecoder d_;
};

}  // namespace

std::unique_ptr<SegmentDecoder> MakeTransducerDecoder(std::shared_ptr<const TransducerNetworks> networks,
                                                      const SymbolTable& symbols, int32_t beam,
                                                      const std::vector<Hotword>& hotwords, float default_score) {
  ECHOIC_CHECK(networks != nullptr, ErrorCode::kInvalidArgument, "transducer decoder: model is null");
  const TransducerNetworkDims dims = networks->dims();
  TransducerSearchConfig cfg;
  cfg.vocab_size = dims.vocab_size;
  cfg.blank_id = dims.blank_id;
  cfg.context_size = dims.context_size;
  cfg.decoder_dim = dims.joiner_dim;
  cfg.beam = beam;
  return std::make_unique<TransducerSegmentDecoder>(std::move(networks), cfg,
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
  // Transducer decoders are grouped by networks and chunk length; one batched search per group.
  std::map<std::pair<const TransducerNetworks*, size_t>, std::vector<size_t>> groups;
  for (size_t k = 0; k < parts.size(); ++k) {
    auto [d, i] = parts[k];
    auto* t = dynamic_cast<TransducerSegmentDecoder*>(d);
    if (t && dim == t->joiner_dim()) {
      groups[{t->networks(), chunks[i].size()}].push_back(k);
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
