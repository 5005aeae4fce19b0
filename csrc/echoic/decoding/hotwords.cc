#include "echoic/decoding/hotwords.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "echoic/runtime/error.h"

namespace echoic::decoding {

namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

}  // namespace

std::string NormalizeHotwordPhrase(const std::string& phrase) {
  std::string out;
  bool space = false;
  for (unsigned char c : phrase) {
    const bool ascii = c < 0x80;
    const bool keep = !ascii || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'';
    if (!keep) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
  }
  return out;
}

std::vector<Hotword> ParseHotwords(const std::string& text) {
  std::vector<Hotword> out;
  size_t pos = 0;
  for (int line_no = 1; pos <= text.size(); ++line_no) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string phrase = line, boost;
    size_t sep = raw.rfind('\t');
    size_t sep_len = 1;
    if (sep == std::string::npos || Trim(raw.substr(0, sep)).empty()) {
      sep = line.rfind(" :");
      sep_len = 2;
      if (sep != std::string::npos) {
        phrase = line.substr(0, sep);
        boost = Trim(line.substr(sep + sep_len));
      }
    } else {
      phrase = raw.substr(0, sep);
      boost = Trim(raw.substr(sep + sep_len));
    }
    Hotword h;
    h.phrase = NormalizeHotwordPhrase(phrase);
    ECHOIC_CHECK(!h.phrase.empty(), ErrorCode::kInvalidArgument, "hotwords line ", line_no, ": '", line,
                 "' has no words");
    if (!boost.empty()) {  // an empty boost after the separator: the default
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(boost.c_str(), &end);
      ECHOIC_CHECK(end && *end == '\0' && errno == 0 && std::isfinite(v) && v >= 0.0, ErrorCode::kInvalidArgument,
                   "hotwords line ", line_no, ": boost '", boost,
                   "' is not a number >= 0 (write 'phrase<TAB>2.0' or 'phrase :2.0')");
      h.score = static_cast<float>(v);
    }
    out.push_back(std::move(h));
  }
  return out;
}

Hotword MakeHotword(const std::string& phrase, float boost, const std::string& what) {
  Hotword h;
  h.phrase = NormalizeHotwordPhrase(phrase);
  ECHOIC_CHECK(!h.phrase.empty(), ErrorCode::kInvalidArgument, what, ": hotword '", phrase, "' has no words");
  ECHOIC_CHECK(std::isfinite(boost) && boost >= 0.f, ErrorCode::kInvalidArgument, what, ": hotword '", phrase,
               "' has boost ", boost, "; a boost is a number >= 0 (0: the default)");
  h.score = boost;
  return h;
}

void CheckHotwordLimits(const std::vector<Hotword>& hotwords) {
  ECHOIC_CHECK(hotwords.size() <= kMaxHotwords, ErrorCode::kInvalidArgument, "hotwords: at most ", kMaxHotwords,
               " per stream, got ", hotwords.size());
  for (const Hotword& h : hotwords)
    ECHOIC_CHECK(h.phrase.size() <= kMaxHotwordBytes, ErrorCode::kInvalidArgument, "hotwords: a phrase is at most ",
                 kMaxHotwordBytes, " bytes, got ", h.phrase.size(), " ('", h.phrase.substr(0, 32), "...')");
}

}  // namespace echoic::decoding
