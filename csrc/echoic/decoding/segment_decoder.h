// The recognizer's view of a per-stream decoder: CTC greedy or prefix beam
// search, or transducer greedy / modified beam search, behind one interface,
// so the stream need not know which it has.
#ifndef ECHOIC_DECODING_SEGMENT_DECODER_H_
#define ECHOIC_DECODING_SEGMENT_DECODER_H_

#include <memory>
#include <string>
#include <vector>

#include "echoic/decoding/context_graph.h"
#include "echoic/decoding/hotwords.h"
#include "echoic/decoding/hypothesis.h"
#include "echoic/decoding/symbol_table.h"
#include "echoic/decoding/transducer_networks.h"
#include "echoic/decoding/word_lm.h"

namespace echoic::decoding {

class SegmentDecoder {
 public:
  virtual ~SegmentDecoder() = default;
  // CTC: num_frames x vocab log-probs; transducer: num_frames x joiner_dim encoder output.
  virtual void Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size) = 0;
  // finalize: take back the boost of an unfinished hotword (for final results).
  virtual Hypothesis Best(bool finalize) const = 0;
  // Up to n hypotheses, best first; a decoder that keeps one path gives Best() alone.
  virtual std::vector<Hypothesis> NBest(bool finalize, int32_t n) const { return {Best(finalize)}; }
  virtual int64_t TrailingBlankFrames() const = 0;
  virtual bool DecodedSomething() const = 0;
  virtual void Reset() = 0;
  // The decoders that take chunks (AcceptChunks feeds each); a composite lists its members.
  virtual std::vector<SegmentDecoder*> Parts() { return {this}; }
};

std::unique_ptr<SegmentDecoder> MakeGreedyDecoder(int32_t vocab_size, int32_t blank_id);

// Hotword biasing that leaves text without hotwords alone: `plain` decodes as if
// there were no hotwords, `biased` with them; both see every frame. A result is
// `biased`'s best only when that hypothesis completes a hotword, else `plain`'s,
// so a hotword that is not spoken never changes the other words (partial-match
// boosts can otherwise reshape the beam). Endpointing follows `plain`.
std::unique_ptr<SegmentDecoder> MakeHotwordGatedDecoder(std::unique_ptr<SegmentDecoder> plain,
                                                        std::unique_ptr<SegmentDecoder> biased);
// Hotwords are encoded with the symbol table; an unencodable phrase is a kInvalidArgument naming it.
// `lm` (may be null): the word LM shared by all streams.
std::unique_ptr<SegmentDecoder> MakeBeamDecoder(const SymbolTable& symbols, int32_t blank_id, int32_t beam,
                                                const std::vector<Hotword>& hotwords, float default_score,
                                                std::shared_ptr<const WordLm> lm = nullptr);

// The hotword automaton for `hotwords` (null when empty); kInvalidArgument names an unspellable phrase.
std::shared_ptr<const ContextGraph> MakeHotwordGraph(const SymbolTable& symbols, const std::vector<Hotword>& hotwords,
                                                     float default_score);

// The per-stream CTC decoder the recognizer uses, and the one ctc_decode()/CtcDecoder
// in Python use: `method` "greedy" or "beam" (kInvalidArgument otherwise). With
// hotwords it is MakeHotwordGatedDecoder(that search, a hotword-biased beam search
// of width `beam`): hotwords work with greedy decoding too.
std::unique_ptr<SegmentDecoder> MakeCtcDecoder(const SymbolTable& symbols, int32_t blank_id, const std::string& method,
                                               int32_t beam, const std::vector<Hotword>& hotwords, float default_score,
                                               std::shared_ptr<const WordLm> lm = nullptr);

// beam 1 without hotwords: greedy search; else modified beam search. The decoder
// keeps `networks` (e.g. an asr::StreamingTransducerModel) and runs them.
std::unique_ptr<SegmentDecoder> MakeTransducerDecoder(std::shared_ptr<const TransducerNetworks> networks,
                                                      const SymbolTable& symbols, int32_t beam,
                                                      const std::vector<Hotword>& hotwords, float default_score);
// Gives decoders[i] its chunk (frames x dim floats). Transducer decoders over the
// same TransducerNetworks share batched prediction network and joiner runs; others
// go one by one.
void AcceptChunks(const std::vector<SegmentDecoder*>& decoders, const std::vector<std::vector<float>>& chunks,
                  int32_t dim);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_SEGMENT_DECODER_H_
