#pragma once
// Strict UTF-8 decoding, one sequence at a time: overlong forms, surrogates and code points past
// U+10FFFF are invalid, so a hidden character cannot slip past a filter under another spelling.
// Pure functions.

#include <cstddef>
#include <string_view>

namespace forgehand::utf8 {

struct Decoded {
  char32_t cp = 0;
  std::size_t length = 1;  // bytes used; 1 for an invalid sequence, so callers move past it
  bool valid = false;
};

Decoded decode(std::string_view text, std::size_t pos);

}  // namespace forgehand::utf8
