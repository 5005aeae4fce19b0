// Whisper tokenizer files: the input is vocabulary.txt, then (after a line "#merges") merges.txt;
// without that line the tokenizer is decode-only. Both are written to files and read by
// Tokenizer::FromFiles, as WhisperModel::Load does; a tokenizer that loads encodes and decodes.
#include <cstdio>

#include "echoic/whisper/tokenizer.h"
#include "fuzz_common.h"

using namespace echoic;

namespace {
void Write(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!text.empty()) std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string marker = "\n#merges\n";
  const size_t cut = input.find(marker);
  const std::string vocab_path = fuzz::ScratchDir() + "/vocabulary.txt";
  const std::string merges_path = fuzz::ScratchDir() + "/merges.txt";
  Write(vocab_path, input.substr(0, cut == std::string::npos ? input.size() : cut + 1));
  if (cut != std::string::npos) Write(merges_path, input.substr(cut + marker.size()));
  fuzz::ExpectTypedErrors([&] {
    whisper::Tokenizer t = whisper::Tokenizer::FromFiles(vocab_path, cut == std::string::npos ? "" : merges_path);
    std::vector<int32_t> all;
    for (int32_t i = 0; i < t.size() && i < 4096; ++i) {
      all.push_back(i);
      (void)t.IsSpecial(i);
      (void)t.StartsWord(i);
    }
    (void)t.Decode(all);
    (void)t.Find("<|endoftext|>");
    if (t.has_merges())
      for (const char* text :
           {" Hello world, it's 12:30.", "  naïve café   ", "\xff\xfe bad bytes", "aaaaaaaaaaaaaaaa"})
        (void)t.Decode(t.Encode(text));
  });
  std::remove(merges_path.c_str());
  return 0;
}
