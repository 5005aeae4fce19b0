#include "echoic/whisper/tokenizer.h"

#include <fstream>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::whisper {

namespace {

// GPT-2's byte-to-unicode map: printable Latin-1 bytes stand for themselves, the
// other 68 bytes (controls, space, 0x7f-0xa0, 0xad) get code points 256, 257, ...
struct ByteMap {
  int32_t to_cp[256];
  int32_t to_byte[512];
  ByteMap() {
    for (int32_t& b : to_byte) b = -1;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_cp[b] = printable ? b : next++;
      to_byte[to_cp[b]] = b;
    }
  }
};
const ByteMap& ByteTable() {
  static const ByteMap map;
  return map;
}

void AppendUtf8(int32_t cp, std::string* s) {
  if (cp < 0x80) {
    s->push_back(static_cast<char>(cp));
  } else {  // < 0x800 is all the byte map needs
    s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one UTF-8 character at s[i]; returns its length (1 for invalid bytes, cp = -1).
size_t NextChar(const std::string& s, size_t i, int32_t* cp) {
  const unsigned char c = s[i];
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return *cp = -1, 1;
  int32_t v = len == 1 ? c : c & (0x3F >> (len - 1));
  for (size_t k = 1; k < len; ++k) {
    const unsigned char d = s[i + k];
    if ((d >> 6) != 2) return *cp = -1, 1;
    v = (v << 6) | (d & 0x3F);
  }
  return *cp = v, len;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  ECHOIC_CHECK(in.good(), ErrorCode::kIo, "cannot open '", path, "'");
  // Real vocabularies and merge lists are a few MB; a crafted file must not be read whole.
  constexpr std::streamoff kMaxBytes = 64 << 20;
  const std::streamoff size = in.tellg();
  ECHOIC_CHECK(size >= 0 && size <= kMaxBytes, ErrorCode::kCorruptData, "'", path, "' is ", size,
               " bytes; a tokenizer file is at most ", kMaxBytes);
  in.seekg(0);
  std::stringstream ss;
  ss << in.rdbuf();
  ECHOIC_CHECK(!in.bad(), ErrorCode::kIo, "cannot read '", path, "'");
  std::vector<std::string> lines;
  std::string text = ss.str(), line;
  std::istringstream split(text);
  while (std::getline(split, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // raw CR is never a token char
    lines.push_back(line);
  }
  return lines;
}

// Character classes of the GPT-2 pattern. Exact for ASCII; beyond it, common
// whitespace, punctuation, combining marks and numerals are listed and every
// other code point (and any invalid byte) counts as a letter.
enum Class { kLetter, kNumber, kSpace, kOther };
Class Classify(int32_t cp) {
  if (cp < 0) return kLetter;
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return kLetter;
    if (cp >= '0' && cp <= '9') return kNumber;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return kSpace;
    return kOther;
  }
  if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
      cp == 0x202F || cp == 0x205F || cp == 0x3000)
    return kSpace;
  if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE) || (cp >= 0xFF10 && cp <= 0xFF19))
    return kNumber;
  if ((cp >= 0xA1 && cp <= 0xBF && cp != 0xAA && cp != 0xB5 && cp != 0xBA) || cp == 0xD7 || cp == 0xF7 ||
      (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x205E) || (cp >= 0x3001 && cp <= 0x3003) ||
      (cp >= 0x3008 && cp <= 0x3011) || (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20))
    return kOther;
  return kLetter;
}

// Splits text like GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::string> PreTokenize(const std::string& text) {
  std::vector<size_t> pos;  // character starts, plus the end
  std::vector<Class> cls;
  for (size_t i = 0; i < text.size();) {
    int32_t cp;
    size_t len = NextChar(text, i, &cp);
    pos.push_back(i);
    cls.push_back(Classify(cp));
    i += len;
  }
  pos.push_back(text.size());
  const size_t n = cls.size();
  std::vector<std::string> words;
  for (size_t c = 0; c < n;) {
    size_t e = c;
    if (text[pos[c]] == '\'' && c + 1 < n) {
      const std::string rest = text.substr(pos[c + 1], 2);
      const char a = rest[0];
      if (a == 's' || a == 't' || a == 'm' || a == 'd')
        e = c + 2;
      else if (rest == "re" || rest == "ve" || rest == "ll")
        e = c + 3;
    }
    if (e == c) {
      const size_t body = (text[pos[c]] == ' ' && c + 1 < n) ? c + 1 : c;
      const Class k = cls[body];
      if (k != kSpace) {
        e = body;
        while (e < n && cls[e] == k) ++e;
      } else {  // whitespace run; leave its last char to prefix a following word
        while (e < n && cls[e] == kSpace) ++e;
        if (e < n && e - c >= 2) --e;
      }
    }
    words.push_back(text.substr(pos[c], pos[e] - pos[c]));
    c = e;
  }
  return words;
}

uint64_t PairKey(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

}  // namespace

Tokenizer Tokenizer::FromFiles(const std::string& vocabulary_path, const std::string& merges_path) {
  const ByteMap& map = ByteTable();
  Tokenizer t;
  std::vector<std::string> lines = ReadLines(vocabulary_path);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  ECHOIC_CHECK(!lines.empty(), ErrorCode::kCorruptData, "'", vocabulary_path, "' has no tokens");
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& form = lines[i];
    ECHOIC_CHECK(!form.empty(), ErrorCode::kCorruptData, "'", vocabulary_path, "' line ", i + 1, ": empty token");
    const bool special =
        form.size() >= 4 && form.compare(0, 2, "<|") == 0 && form.compare(form.size() - 2, 2, "|>") == 0;
    std::string raw;
    if (special) {
      raw = form;
    } else {
      for (size_t p = 0; p < form.size();) {
        int32_t cp;
        p += NextChar(form, p, &cp);
        ECHOIC_CHECK(cp >= 0 && cp < 512 && map.to_byte[cp] >= 0, ErrorCode::kCorruptData, "'", vocabulary_path,
                     "' line ", i + 1, ": '", form, "' is not in GPT-2 byte-level form");
        raw.push_back(static_cast<char>(map.to_byte[cp]));
      }
    }
    t.by_form_.emplace(form, static_cast<int32_t>(i));
    t.bytes_.push_back(std::move(raw));
    t.special_.push_back(special);
  }
  for (int b = 0; b < 256; ++b) {
    std::string form;
    AppendUtf8(map.to_cp[b], &form);
    auto it = t.by_form_.find(form);
    t.byte_id_[b] = it == t.by_form_.end() ? -1 : it->second;
  }
  if (merges_path.empty()) return t;

  for (int b = 0; b < 256; ++b)
    ECHOIC_CHECK(t.byte_id_[b] >= 0, ErrorCode::kCorruptData, "'", vocabulary_path, "' lacks the token for byte ", b);
  lines = ReadLines(merges_path);
  int32_t rank = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() || (i == 0 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    ECHOIC_CHECK(
        sp != std::string::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == std::string::npos,
        ErrorCode::kCorruptData, "'", merges_path, "' line ", i + 1, ": expected \"left right\", got '", line, "'");
    const std::string left = line.substr(0, sp), right = line.substr(sp + 1);
    auto a = t.by_form_.find(left), b = t.by_form_.find(right), ab = t.by_form_.find(left + right);
    ECHOIC_CHECK(a != t.by_form_.end() && b != t.by_form_.end() && ab != t.by_form_.end(), ErrorCode::kCorruptData, "'",
                 merges_path, "' line ", i + 1, ": merge '", line, "' uses or makes a token missing from '",
                 vocabulary_path, "'");
    t.merges_.emplace(PairKey(a->second, b->second), Merge{rank++, ab->second});  // first rank wins
  }
  ECHOIC_CHECK(!t.merges_.empty(), ErrorCode::kCorruptData, "'", merges_path, "' has no merges");
  return t;
}

const std::string& Tokenizer::Bytes(int32_t id) const {
  ECHOIC_CHECK(id >= 0 && id < size(), ErrorCode::kInvalidArgument, "token id ", id, " is out of range [0, ", size(),
               ")");
  return bytes_[id];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  Bytes(id);
  return special_[id] != 0;
}

bool Tokenizer::StartsWord(int32_t id) const {
  const std::string& b = Bytes(id);
  return !b.empty() && b[0] == ' ';
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids)
    if (!IsSpecial(id)) out += bytes_[id];
  return out;
}

int32_t Tokenizer::Find(const std::string& token_string) const {
  auto it = by_form_.find(token_string);
  return it == by_form_.end() ? -1 : it->second;
}

void Tokenizer::EncodeWord(const std::string& word, std::vector<int32_t>* out) const {
  std::vector<int32_t> sym;
  for (unsigned char c : word) sym.push_back(byte_id_[c]);
  while (sym.size() > 1) {
    // Lowest-rank adjacent pair, then merge all of its occurrences left to right.
    int32_t best = -1, best_id = -1, left = -1, right = -1;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = merges_.find(PairKey(sym[i], sym[i + 1]));
      if (it != merges_.end() && (best < 0 || it->second.rank < best)) {
        best = it->second.rank;
        best_id = it->second.id;
        left = sym[i];
        right = sym[i + 1];
      }
    }
    if (best < 0) break;
    size_t w = 0;
    for (size_t i = 0; i < sym.size(); ++i) {
      if (i + 1 < sym.size() && sym[i] == left && sym[i + 1] == right) {
        sym[w++] = best_id;
        ++i;
      } else {
        sym[w++] = sym[i];
      }
    }
    sym.resize(w);
  }
  out->insert(out->end(), sym.begin(), sym.end());
}

std::vector<int32_t> Tokenizer::Encode(const std::string& text) const {
  ECHOIC_CHECK(!merges_.empty(), ErrorCode::kState, "tokenizer: Encode needs merges.txt (loaded decode-only)");
  std::vector<int32_t> ids;
  for (const std::string& word : PreTokenize(text)) EncodeWord(word, &ids);
  return ids;
}

}  // namespace echoic::whisper
