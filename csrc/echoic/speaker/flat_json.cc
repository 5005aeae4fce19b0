#include "echoic/speaker/flat_json.h"

#include <cctype>

#include "echoic/runtime/error.h"

namespace echoic::speaker {

namespace {

class Parser {
 public:
  Parser(const std::string& s, const std::string& ctx) : s_(s), ctx_(ctx) {}

  void Run(std::map<std::string, std::string>* out) {
    Skip();
    Expect('{');
    Object("", out, 1);
    Skip();
    if (i_ != s_.size()) Error("trailing characters");
  }

 private:
  [[noreturn]] void Error(const char* what) {
    Fail(ErrorCode::kModel, ctx_, ": malformed JSON (", what, " at offset ", i_, ")");
  }
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void Expect(char c) {
    Skip();
    if (i_ >= s_.size() || s_[i_] != c) Error("unexpected character");
    ++i_;
  }
  std::string String() {
    Expect('"');
    std::string v;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) break;
        const char e = s_[i_];
        v += e == 'n' ? '\n' : e == 't' ? '\t' : e;  // \uXXXX is not needed for config keys
      } else {
        v += s_[i_];
      }
      ++i_;
    }
    if (i_ >= s_.size()) Error("unterminated string");
    ++i_;
    return v;
  }
  // Raw text of a scalar or array value.
  std::string Raw() {
    const size_t start = i_;
    int depth = 0;
    bool in_str = false;
    for (; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (in_str) {
        if (c == '\\')
          ++i_;
        else if (c == '"')
          in_str = false;
        continue;
      }
      if (c == '"')
        in_str = true;
      else if (c == '[')
        ++depth;
      else if (c == ']') {
        if (--depth < 0) Error("unbalanced ]");
        if (depth == 0) {
          ++i_;
          break;
        }
      } else if (depth == 0 && (c == ',' || c == '}' || std::isspace(static_cast<unsigned char>(c))))
        break;
    }
    if (depth != 0 || i_ == start) Error("bad value");
    return s_.substr(start, i_ - start);
  }
  void Object(const std::string& prefix, std::map<std::string, std::string>* out, int depth) {
    // Recursion per level, and every key carries its whole path: bound both.
    if (depth > kMaxDepth)
      Fail(ErrorCode::kModel, ctx_, ": JSON objects nested deeper than ", kMaxDepth, " levels (at offset ", i_, ")");
    Skip();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return;
    }
    for (;;) {
      Skip();
      const std::string key = prefix + String();
      Expect(':');
      Skip();
      if (i_ >= s_.size()) Error("missing value");
      if (s_[i_] == '{') {
        ++i_;
        Object(key + ".", out, depth + 1);
      } else if (s_[i_] == '"') {
        (*out)[key] = String();
      } else {
        (*out)[key] = Raw();
      }
      Skip();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      Expect('}');
      return;
    }
  }

  static constexpr int kMaxDepth = 64;
  const std::string& s_;
  const std::string& ctx_;
  size_t i_ = 0;
};

}  // namespace

std::map<std::string, std::string> ParseFlatJson(const std::string& text, const std::string& context) {
  std::map<std::string, std::string> out;
  Parser(text, context).Run(&out);
  return out;
}

}  // namespace echoic::speaker
