// Token timings from cross-attention, the way openai-whisper's timing.find_alignment
// does it: standardize each head over tokens, median-filter along time, average the
// heads, then DTW on the negated matrix and read token boundaries off the path.
#ifndef ECHOIC_WHISPER_ALIGNMENT_H_
#define ECHOIC_WHISPER_ALIGNMENT_H_

#include <cstdint>
#include <vector>

namespace echoic::whisper {

struct TokenSpan {
  float start;  // seconds from the window start
  float end;
};

// attention: heads x tokens x frames, row-major, softmax weights over the frames that
// hold audio (20 ms each). Row k should be the decoder position that *predicts* token
// k (as openai does: the no_timestamps row predicts the first text token). Returns one
// span per token: start = first path frame of the token, end = start of the next token;
// the last token ends after the last frame. Spans are monotonic; tokens squeezed into
// one frame get zero length. median_width: odd >= 1 (openai: 7).
// kInvalidArgument on empty/inconsistent sizes, even width or non-finite values.
std::vector<TokenSpan> AlignTokens(const float* attention, int32_t heads, int32_t tokens, int32_t frames,
                                   float frame_seconds = 0.02f, int32_t median_width = 7);

// The DTW step alone (openai's dtw_cpu + backtrace, ties broken the same way) on a
// tokens x frames cost matrix: for each token, the first frame of the path in it.
std::vector<int32_t> DtwTokenStarts(const float* cost, int32_t tokens, int32_t frames);

}  // namespace echoic::whisper

#endif  // ECHOIC_WHISPER_ALIGNMENT_H_
