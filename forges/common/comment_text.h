#pragma once
// Every comment, merge request description and pull request body goes through here on its way to
// a forge: secrets are redacted, and a body over the forge's limit is cut with a visible note
// rather than rejected by the forge.

#include <cstddef>
#include <string>
#include <string_view>

namespace forgehand::forges {

// Returns `text`, redacted, when it fits in `limit` bytes; otherwise its start, cut on a UTF-8
// character boundary, and a note saying how much was left out, all within `limit`.
std::string outgoing_comment(std::string_view text, std::size_t limit);

}  // namespace forgehand::forges
