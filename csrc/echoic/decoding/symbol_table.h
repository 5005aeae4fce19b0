// The token vocabulary of a CTC model (tokens.txt, "symbol id" per line, as
// sherpa-onnx and WeNet write it), with SentencePiece-style detokenisation.
#ifndef ECHOIC_DECODING_SYMBOL_TABLE_H_
#define ECHOIC_DECODING_SYMBOL_TABLE_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace echoic::decoding {

class SymbolTable {
 public:
  // Errors: kIo (cannot read), kCorruptData (bad line, duplicate id or symbol,
  // ids not 0..N-1, no blank); messages name the source and the line.
  static SymbolTable FromFile(const std::string& path);
  static SymbolTable FromString(const std::string& text, const std::string& source_name = "<string>");

  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // Id of "<blk>" or "<blank>" (required).
  int32_t blank_id() const { return blank_id_; }
  const std::string& source() const { return source_; }

  bool Contains(int32_t id) const { return id >= 0 && id < size(); }
  bool Contains(const std::string& symbol) const { return ids_.count(symbol) != 0; }
  // kNotFound when absent.
  const std::string& Token(int32_t id) const;
  int32_t Id(const std::string& symbol) const;

  // True for tokens that begin a word (leading U+2581 "▁").
  bool IsWordStart(int32_t id) const;
  // Control tokens (<blk>, <unk>, <s>, </s>, <sos/eos>, ...) produce no text.
  bool IsSpecial(int32_t id) const;
  // "<0xHH>" byte-fallback token -> its byte value, else -1.
  int ByteValue(int32_t id) const;

  // Token ids -> text: "▁" becomes a space between words, byte-fallback tokens
  // are joined into UTF-8 (invalid sequences become U+FFFD), specials dropped.
  std::string Detokenize(const std::vector<int32_t>& ids) const;
  // Groups positions in `ids` into words (a word starts at a "▁" token; a CJK
  // character token is a word of its own); tokens that carry no text
  // (specials, a bare "▁") are left out; empty words dropped.
  std::vector<std::vector<int32_t>> GroupWords(const std::vector<int32_t>& ids) const;

 private:
  std::string source_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<int16_t> byte_value_;  // -1 or 0..255 per id
  std::vector<uint8_t> special_;
  int32_t blank_id_ = -1;
};

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string SanitizeUtf8(const std::string& bytes);

}  // namespace echoic::decoding

#endif  // ECHOIC_DECODING_SYMBOL_TABLE_H_
