#include "echoic/decoding/symbol_table.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

const char kWordMark[] = "\xE2\x96\x81";  // U+2581 "▁"
constexpr size_t kWordMarkLen = 3;

bool StartsWithMark(const std::string& s) { return s.compare(0, kWordMarkLen, kWordMark) == 0; }

bool ParseId(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  if (s.size() > 9) return false;  // far beyond any vocabulary
  *out = std::strtoll(s.c_str(), nullptr, 10);
  return true;
}

int ParseByteToken(const std::string& s) {
  // Exactly "<0xHH>".
  if (s.size() != 6 || s.compare(0, 3, "<0x") != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    char c = s[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// First code point of a UTF-8 string (0 if empty or malformed).
uint32_t FirstCodePoint(const std::string& s) {
  if (s.empty()) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  if (p[0] < 0x80) return p[0];
  if ((p[0] >> 5) == 0x6 && s.size() >= 2) return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  if ((p[0] >> 4) == 0xE && s.size() >= 3) return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  if ((p[0] >> 3) == 0x1E && s.size() >= 4)
    return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
  return 0;
}

// Scripts written without spaces: each character counts as a word.
bool IsCjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x3040 && cp <= 0x30FF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

bool IsSpecialSymbol(const std::string& s) {
  if (s == "<blk>" || s == "<blank>" || s == "<unk>" || s == "<s>" || s == "</s>" || s == "<sos/eos>" || s == "<eps>" ||
      s == "<pad>" || s == "<sos>" || s == "<eos>")
    return true;
  return false;
}

}  // namespace

std::string SanitizeUtf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2) ok = c >= 0xC2;  // overlong
    if (ok && len == 3) ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);
    if (ok && len == 4) ok = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90) && c <= 0xF4;
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

SymbolTable SymbolTable::FromFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) Fail(ErrorCode::kIo, "cannot open tokens file '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) Fail(ErrorCode::kIo, "cannot read tokens file '", path, "'");
  return FromString(ss.str(), path);
}

SymbolTable SymbolTable::FromString(const std::string& text, const std::string& source_name) {
  SymbolTable t;
  t.source_ = source_name;
  std::vector<std::pair<int64_t, std::string>> entries;
  std::vector<int> line_of;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are tolerated
    // The id is the last field; the symbol is the first. A line holding only an
    // id means the symbol is a space (sherpa-onnx convention).
    std::istringstream ls(line);
    std::vector<std::string> fields;
    for (std::string f; ls >> f;) fields.push_back(f);
    std::string symbol;
    int64_t id = -1;
    if (fields.size() == 2 && ParseId(fields[1], &id)) {
      symbol = fields[0];
    } else if (fields.size() == 1 && ParseId(fields[0], &id)) {
      symbol = " ";
    } else {
      Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' line ", line_no, ": expected 'symbol id', got '",
           line.substr(0, 80), "'");
    }
    entries.emplace_back(id, symbol);
    line_of.push_back(line_no);
  }
  if (entries.empty()) Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' holds no tokens");
  const int64_t n = static_cast<int64_t>(entries.size());
  t.tokens_.assign(n, std::string());
  std::vector<int> seen_line(n, 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [id, sym] = entries[i];
    if (id >= n)
      Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' line ", line_of[i], ": id ", id,
           " is out of range (", n, " tokens; ids must be 0..", n - 1, ")");
    if (seen_line[id])
      Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' line ", line_of[i], ": duplicate id ", id,
           " (first on line ", seen_line[id], ")");
    auto [it, fresh] = t.ids_.emplace(sym, static_cast<int32_t>(id));
    if (!fresh)
      Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' line ", line_of[i], ": duplicate symbol '", sym,
           "'");
    seen_line[id] = line_of[i];
    t.tokens_[id] = sym;
  }
  t.byte_value_.resize(n);
  t.special_.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    t.byte_value_[i] = static_cast<int16_t>(ParseByteToken(t.tokens_[i]));
    t.special_[i] = IsSpecialSymbol(t.tokens_[i]);
  }
  for (const char* name : {"<blk>", "<blank>"}) {
    auto it = t.ids_.find(name);
    if (it != t.ids_.end()) {
      t.blank_id_ = it->second;
      break;
    }
  }
  if (t.blank_id_ < 0)
    Fail(ErrorCode::kCorruptData, "tokens file '", source_name, "' has no blank token ('<blk>' or '<blank>')");
  return t;
}

const std::string& SymbolTable::Token(int32_t id) const {
  if (!Contains(id)) Fail(ErrorCode::kNotFound, "token id ", id, " is not in '", source_, "' (", size(), " tokens)");
  return tokens_[id];
}

int32_t SymbolTable::Id(const std::string& symbol) const {
  auto it = ids_.find(symbol);
  if (it == ids_.end()) Fail(ErrorCode::kNotFound, "symbol '", symbol, "' is not in '", source_, "'");
  return it->second;
}

bool SymbolTable::IsWordStart(int32_t id) const { return Contains(id) && StartsWithMark(tokens_[id]); }
bool SymbolTable::IsSpecial(int32_t id) const { return Contains(id) && special_[id]; }
int SymbolTable::ByteValue(int32_t id) const { return Contains(id) ? byte_value_[id] : -1; }

std::string SymbolTable::Detokenize(const std::vector<int32_t>& ids) const {
  std::string raw;
  for (int32_t id : ids) {
    if (!Contains(id))
      Fail(ErrorCode::kInvalidArgument, "Detokenize: token id ", id, " is not in '", source_, "' (", size(),
           " tokens)");
    if (special_[id]) continue;
    if (byte_value_[id] >= 0) {
      raw.push_back(static_cast<char>(byte_value_[id]));
      continue;
    }
    const std::string& tok = tokens_[id];
    if (StartsWithMark(tok)) {
      raw += ' ';
      raw.append(tok, kWordMarkLen, std::string::npos);
    } else {
      raw += tok;
    }
  }
  // Collapse the word separators: no leading/trailing/double spaces.
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return SanitizeUtf8(out);
}

std::vector<std::vector<int32_t>> SymbolTable::GroupWords(const std::vector<int32_t>& ids) const {
  std::vector<std::vector<int32_t>> words;
  std::vector<int32_t> cur;
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t id = ids[i];
    if (!Contains(id)) Fail(ErrorCode::kInvalidArgument, "GroupWords: token id ", id, " is not in '", source_, "'");
    if (special_[id]) continue;
    const std::string& tok = tokens_[id];
    bool starts = StartsWithMark(tok) || tok == " ";
    if (starts && !cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
    bool carries_text = byte_value_[id] >= 0 || (StartsWithMark(tok) ? tok.size() > kWordMarkLen : tok != " ");
    if (!carries_text) continue;
    const std::string text = StartsWithMark(tok) ? tok.substr(kWordMarkLen) : tok;
    if (IsCjk(FirstCodePoint(text))) {  // a word of its own
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
      words.push_back({static_cast<int32_t>(i)});
      continue;
    }
    cur.push_back(static_cast<int32_t>(i));
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

}  // namespace echoic::decoding
