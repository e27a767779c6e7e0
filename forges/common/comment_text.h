#pragma once
// Comment bodies over a forge's limit are cut with a visible note rather than rejected by the
// forge. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>

namespace forgehand::forges {

// Returns `body` when it fits in `limit` bytes; otherwise its start, cut on a UTF-8 character
// boundary, and a note saying how much was left out, all within `limit`.
std::string fit_comment(std::string_view body, std::size_t limit);

}  // namespace forgehand::forges
