// The recognizer's view of a per-stream CTC decoder: greedy or prefix beam
// search behind one interface, so the stream need not know which it has.
#ifndef ECHOIC_ASR_SEGMENT_DECODER_H_
#define ECHOIC_ASR_SEGMENT_DECODER_H_

#include <memory>
#include <vector>

#include "echoic/asr/recognizer_config.h"
#include "echoic/asr/result.h"
#include "echoic/asr/symbol_table.h"

namespace echoic::asr {

class SegmentDecoder {
 public:
  virtual ~SegmentDecoder() = default;
  virtual void Accept(const float* log_probs, int32_t num_frames, int32_t vocab_size) = 0;
  // finalize: take back the boost of an unfinished hotword (for final results).
  virtual Hypothesis Best(bool finalize) const = 0;
  virtual int64_t TrailingBlankFrames() const = 0;
  virtual bool DecodedSomething() const = 0;
  virtual void Reset() = 0;
};

std::unique_ptr<SegmentDecoder> MakeGreedyDecoder(int32_t vocab_size, int32_t blank_id);
// Hotwords are encoded with the symbol table; an unencodable phrase is a kInvalidArgument naming it.
std::unique_ptr<SegmentDecoder> MakeBeamDecoder(const SymbolTable& symbols, int32_t blank_id, int32_t beam,
                                                const std::vector<Hotword>& hotwords, float default_score);

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_SEGMENT_DECODER_H_
