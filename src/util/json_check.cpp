#include "util/json_check.h"

#include <simdjson.h>

namespace forgehand {

namespace {
// Parsers keep their buffers for reuse; only ordinary payloads use the per-thread one, so one
// 25 MB delivery does not pin 25 MB in every HTTP thread.
constexpr std::size_t kReusedParserLimit = 1 << 20;
}  // namespace

bool is_valid_json(std::string_view text) {
  if (text.size() <= kReusedParserLimit) {
    thread_local simdjson::dom::parser parser;
    return parser.parse(text.data(), text.size(), true).error() == simdjson::SUCCESS;
  }
  simdjson::dom::parser parser;
  return parser.parse(text.data(), text.size(), true).error() == simdjson::SUCCESS;
}

}  // namespace forgehand
