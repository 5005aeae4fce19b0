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
  // Streams per encoder run. 1: a single-stream run reads the stream's caches in place and swaps
  // the new ones in (no copies, no staging), while a batch needs its caches gathered and scattered
  // (two copies of each state) and ORT's working set grows with it: 100 streams of echoic-small-en
  // hold 786 KB of state each and cost ~0.8 MB each at 1, 0.95-1.1 MB at 4, 1.15-1.2 MB at 8. CPU time
  // per audio second at 1 is within 5 % of 8 (4 is ~8 % faster than 1): benchmarks/memory/RESULTS.md.
  int32_t max_batch = 1;

  // Throws kInvalidArgument naming the field.
  void Validate() const;
};

}  // namespace echoic::asr

#endif  // ECHOIC_ASR_RECOGNIZER_CONFIG_H_
