// Configuration of a streaming recognizer. Defaults suit the bundled models.
#ifndef ECHOIC_ASR_RECOGNIZER_CONFIG_H_
#define ECHOIC_ASR_RECOGNIZER_CONFIG_H_

#include <string>
#include <vector>

#include "echoic/asr/endpoint.h"
#include "echoic/ort/session.h"

namespace echoic::asr {

struct RecognizerConfig {
  std::string
      model;  // CTC: encoder .onnx or a folder with model.onnx; transducer: folder with encoder/decoder/joiner.onnx
  std::string tokens;  // tokens.txt; "" = tokens.txt beside the model (in the folder)
  ort::SessionOptions session;
  // "greedy", "beam" (CTC prefix / transducer modified beam search) or "auto":
  // beam when a word LM is found (see lm), else greedy. config() reports the choice.
  std::string decoding_method = "auto";
  int32_t beam_size = 0;       // 0 = 16 with a word LM, else 4
  float hotword_score = 1.5f;  // default boost per hotword token (beam search only)
  // Final results carry up to this many distinct texts (Result::alternatives) when > 1.
  // Needs beam search ("auto" picks it; "greedy" is an error); beam_size is raised to
  // at least nbest. 1..16.
  int32_t nbest = 1;
  // Word LM for CTC beam search (ARPA, orders 1-3; see word_lm.h): "auto" =
  // lm.arpa beside the model when there is one, "" = none, else its path.
  // Greedy decoding and transducer models do not use it.
  std::string lm = "auto";
  float lm_scale = 0.8f;  // tuned on held-out synthetic voices (recipes/asr/README.md)
  float word_bonus = 3.0f;
  bool enable_endpoint = true;
  EndpointConfig endpoint;
  // Endpointing silence from a voice activity detector instead of the decoder's
  // trailing blanks: "" (off), "energy" (no model needed), "silero" (vad_model),
  // or "external": decisions the host reports per stream (the Python layer's
  // webrtcvad gate uses this).
  std::string vad;
  std::string vad_model;
  // Streams per encoder run; 0 (default) = chosen by the model at load, config() reports it:
  // 1 when a stream's encoder state is kAutoBatchStateBytes or more, else 8. At 1 a run reads the
  // stream's caches in place and swaps the new ones in (no copies, no staging); a batch gathers and
  // scatters its caches (two more copies of each state) and ORT's working set grows with it. With
  // echoic-small-en (967 KB of state) 100 streams cost 1.0 MB each at 1, 1.2 MB at 4 and 1.5 MB at 8,
  // for the same CPU time at 8 and 6 % less at 4; with echoic-tiny-en (217 KB) batches of 8 take 18 %
  // less CPU than runs of one, for ~0.1 MB more per stream (benchmarks/memory/RESULTS.md).
  int32_t max_batch = 0;
  static constexpr int64_t kAutoBatchStateBytes = 512 * 1024;

  // Throws kInvalidArgument naming the field.
  void Validate() const;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_RECOGNIZER_CONFIG_H_
