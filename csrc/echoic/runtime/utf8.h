// UTF-8 validation: the one rule for text that crosses the API (index labels and
// namespaces are stored as given and must decode in every binding).
#ifndef ECHOIC_RUNTIME_UTF8_H_
#define ECHOIC_RUNTIME_UTF8_H_

#include <cstddef>
#include <string>

namespace echoic {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF). On false, *bad_offset (if given) is the first bad byte.
bool IsValidUtf8(const std::string& s, size_t* bad_offset = nullptr);

}  // namespace echoic

#endif  // ECHOIC_RUNTIME_UTF8_H_
