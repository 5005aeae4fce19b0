// Shared checks on a chunk of CTC log-probabilities handed to a decoder.
#ifndef ECHOIC_DECODING_LOG_PROB_INPUT_H_
#define ECHOIC_DECODING_LOG_PROB_INPUT_H_

#include <cstdint>

namespace echoic::decoding {

// Throws kInvalidArgument for a null pointer, negative frame count, a NaN /
// +inf value (-inf is a legal log-prob) or a frame that is -inf throughout,
// and kModel when vocab_size differs
// from the vocabulary the decoder was built for. `who` and `first_frame`
// (absolute index of the chunk's first frame) go into the message.
void CheckLogProbs(const char* who, const float* log_probs, int32_t num_frames, int32_t vocab_size,
                   int32_t expected_vocab_size, int64_t first_frame);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_LOG_PROB_INPUT_H_
