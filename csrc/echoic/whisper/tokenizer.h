// Whisper's byte-level BPE tokenizer (GPT-2 scheme) from a model folder's
// vocabulary.txt (line i = token i, in GPT-2's byte-to-unicode form; specials such as
// "<|endoftext|>" and timestamps "<|0.00|>" are lines too) and merges.txt ("a b" per
// line, in rank order).
#ifndef ECHOIC_WHISPER_TOKENIZER_H_
#define ECHOIC_WHISPER_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace echoic::whisper {

class Tokenizer {
 public:
  // kIo if a file is missing, kCorruptData (naming file and line) if malformed.
  // merges_path may be "" (decode-only tokenizer; Encode then throws kState).
  static Tokenizer FromFiles(const std::string& vocabulary_path, const std::string& merges_path);

  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  const std::string& Bytes(int32_t id) const;  // raw bytes of the token; kInvalidArgument on a bad id
  bool IsSpecial(int32_t id) const;            // "<|...|>" tokens
  bool StartsWord(int32_t id) const;           // bytes begin with a space
  // Concatenated bytes, specials skipped. A token may end mid-UTF-8 character; the
  // bytes are kept as they are (callers group tokens into words).
  std::string Decode(const std::vector<int32_t>& ids) const;
  // GPT-2 pre-tokenization, then BPE by merge rank. "<|...|>" in the text is plain
  // text, not a special token (add specials by id). kState without merges.
  std::vector<int32_t> Encode(const std::string& text) const;
  int32_t Find(const std::string& token_string) const;  // id of e.g. "<|endoftext|>", -1 if absent
  bool has_merges() const { return !merges_.empty(); }

 private:
  void EncodeWord(const std::string& word, std::vector<int32_t>* out) const;

  std::vector<std::string> bytes_;                    // id -> raw bytes
  std::vector<uint8_t> special_;                      // id -> is "<|...|>"
  std::unordered_map<std::string, int32_t> by_form_;  // vocabulary line -> id
  int32_t byte_id_[256] = {};                         // single byte -> id
  struct Merge {
    int32_t rank, id;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> merge
};

}  // namespace echoic::whisper

#endif  // ECHOIC_WHISPER_TOKENIZER_H_
