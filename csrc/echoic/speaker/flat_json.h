// A tiny JSON reader for model metadata: flattens objects into "a.b" -> value
// text (strings unquoted, numbers/bools/null as written; arrays kept as their raw
// text). Enough for config blobs such as `voicefilter_lite_config`; not a
// general JSON library.
#ifndef ECHOIC_SPEAKER_FLAT_JSON_H_
#define ECHOIC_SPEAKER_FLAT_JSON_H_

#include <map>
#include <string>

namespace echoic::speaker {

// Throws kModel naming `context` on malformed text, and on objects nested deeper
// than 64 levels (metadata comes from model files, which may be hostile).
std::map<std::string, std::string> ParseFlatJson(const std::string& text, const std::string& context);

}  // namespace echoic::speaker

#endif  // ECHOIC_SPEAKER_FLAT_JSON_H_
