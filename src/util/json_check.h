#pragma once
// Fast, complete JSON validation for the webhook ack path (simdjson: well-formedness and UTF-8),
// where nlohmann::json::accept cost a third of all CPU at load. Thread-safe.

#include <string_view>

namespace forgehand {

bool is_valid_json(std::string_view text);

}  // namespace forgehand
